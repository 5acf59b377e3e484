"""Interval arithmetic on kernel timelines (NumPy, no per-event Python)."""

from __future__ import annotations

from typing import cast

import numpy as np
import numpy.typing as npt

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]


def ints(values: I64) -> list[int]:
    """Python ints of an integer array (``tolist`` is typed too loosely for mypy)."""
    return cast(list[int], values.tolist())


def floats(values: F64) -> list[float]:
    return cast(list[float], values.tolist())


def merge_intervals(ts: I64, end: I64) -> tuple[I64, I64]:
    """Union of ``[ts, end)`` intervals as sorted disjoint intervals.

    As HTA's ``merge_kernel_intervals``: an interval starting exactly where the running
    union ends joins it.
    """
    if len(ts) == 0:
        return ts.copy(), end.copy()
    order = np.argsort(ts, kind="stable")
    s, e = ts[order], end[order]
    reach = np.maximum.accumulate(e)
    new_group = np.empty(len(s), dtype=bool)
    new_group[0] = True
    new_group[1:] = s[1:] > reach[:-1]
    starts = np.flatnonzero(new_group)
    group_end = np.maximum.reduceat(e, starts)
    return s[starts], group_end


def union_length(ts: I64, end: I64) -> int:
    s, e = merge_intervals(ts, end)
    return int((e - s).sum())


def overlap_sweep(layers: dict[int, tuple[I64, I64]]) -> dict[int, int]:
    """Time spent in each combination of layers, as HTA's kernel-type sweep.

    ``layers`` maps a bit flag to the intervals of that layer; each layer is merged first,
    then a sweep adds the flag at each start and removes it at each end. The result maps
    each non-empty combination (sum of flags) to its total time; zero-time combinations
    are left out.
    """
    times: list[I64] = []
    deltas: list[I64] = []
    for flag, (ts, end) in layers.items():
        s, e = merge_intervals(ts, end)
        times += [s, e]
        deltas += [np.full(len(s), flag, dtype=np.int64), np.full(len(e), -flag, dtype=np.int64)]
    if not times:
        return {}
    t = np.concatenate(times)
    d = np.concatenate(deltas)
    order = np.argsort(t, kind="stable")
    t, d = t[order], d[order]
    running = np.cumsum(d)
    seg = np.diff(t)
    state = running[:-1]
    out: dict[int, int] = {}
    for combo in np.unique(state[state > 0]):
        total = int(seg[state == combo].sum())
        if total:
            out[int(combo)] = total
    return out


def describe(values: F64) -> dict[str, float | None]:
    """pandas ``describe()`` of a series: count, mean, std (n-1), min, quartiles, max."""
    v = values[~np.isnan(values)]
    n = len(v)
    if n == 0:
        return {k: (0.0 if k == "count" else None) for k in _DESCRIBE_KEYS}
    ordered = np.sort(v)
    return {
        "count": float(n),
        "mean": float(v.mean()),
        "std": float(v.std(ddof=1)) if n > 1 else None,
        "min": float(ordered[0]),
        "25%": quantile_of_sorted(ordered, 0.25),
        "50%": quantile_of_sorted(ordered, 0.5),
        "75%": quantile_of_sorted(ordered, 0.75),
        "max": float(ordered[-1]),
    }


def quantile_of_sorted(ordered: F64, q: float) -> float:
    """``np.quantile(values, q)`` (the default, linear method) of ``ordered`` = the sorted
    values, bit for bit: the same index, weight and interpolation (NumPy's ``_lerp``), here
    on Python floats; ``np.quantile`` costs about 0.1 ms a call in argument handling, and a
    small rank's analyses call it hundreds of times."""
    position = (len(ordered) - 1) * q
    below = int(position)
    weight = position - below
    a = float(ordered[below])
    b = float(ordered[min(below + 1, len(ordered) - 1)])
    step = b - a
    return b - step * (1 - weight) if weight >= 0.5 else a + step * weight


_DESCRIBE_KEYS = ("count", "mean", "std", "min", "25%", "50%", "75%", "max")
