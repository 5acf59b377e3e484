"""What changed between two trace sets: kernels and CPU operators added, removed, slower.

Both sides are normalised to time per rank per profiler step (per rank when a side has no
``ProfilerStep`` annotations), so a baseline of 4 steps on 2 ranks compares with a candidate
of 2 steps on 8 ranks. Kernels count over the analysis window (HTA's, which drops the last
step); CPU operators over the whole file, divided by the steps it names. A name is *slower*
(or *faster*) when its time per step changed by
more than ``min_change_pct`` and by more than ``min_change_us`` (tiny kernels jitter).
As HTA's ``trace_diff``, names are compared exactly.

CUDA (and HIP) runtime and driver calls (``cudaLaunchKernel``, ``cudaStreamSynchronize``,
``cudaMemcpyAsync``...) are compared the same way, per rank per step over the analysis
window, in their own list (``TraceDiff.runtime``): the time the host spends in the runtime
(a synchronisation that got longer, launches that multiplied) is where many regressions
show before the kernels do.
"""

from __future__ import annotations

import msgspec
import numpy as np

from fleetwise.analyze.records import Record
from fleetwise.analyze.traces_intervals import ints
from fleetwise.analyze.traces_prepare import RankEvents

#: Trace categories of runtime/driver API calls (HIP calls are ``cuda_runtime`` too).
RUNTIME_CATEGORIES = frozenset({"cuda_runtime", "cuda_driver"})
MIN_CHANGE_PCT = 10.0
MIN_CHANGE_US = 10.0


class DiffEntry(Record, frozen=True):
    kind: str  # "kernel", "cpu_op" or "runtime"
    name: str
    #: ``added``, ``removed``, ``slower`` or ``faster``.
    change: str
    a_us_per_step: float
    b_us_per_step: float
    a_count_per_step: float
    b_count_per_step: float

    @property
    def delta_us(self) -> float:
        return self.b_us_per_step - self.a_us_per_step


class TraceDiff(Record, frozen=True):
    a_steps: int
    b_steps: int
    a_ranks: int
    b_ranks: int
    #: Total GPU kernel time per rank per step on each side.
    a_kernel_us_per_step: float
    b_kernel_us_per_step: float
    entries: list[DiffEntry]
    #: Runtime/driver calls added, removed, slower or faster (kind ``runtime``).
    runtime: list[DiffEntry] = msgspec.field(default_factory=list)


def _per_step_totals(ranks: list[RankEvents]) -> tuple[dict[tuple[str, str], list[float]], int]:
    """(kind, name) -> [count, us] per rank per step.

    GPU kernels are those of the analysis window (its steps); CPU operators are kept only as
    whole-file totals by the importer, so they are divided by every step the file names.
    """
    totals: dict[tuple[str, str], list[float]] = {}
    window_steps = max(1, max((len(ev.steps) for ev in ranks), default=1))
    for ev in ranks:
        gpu = ev.gpu
        scale = 1.0 / (len(ranks) * max(1, len(ev.steps)))
        for name_id, dur in zip(ints(ev.name_id[gpu]), ints(ev.dur[gpu]), strict=True):
            entry = totals.setdefault(("kernel", ev.names[name_id]), [0.0, 0.0])
            entry[0] += scale
            entry[1] += dur * scale
        scale = 1.0 / (len(ranks) * max(1, ev.steps_in_file))
        for name, (count, dur) in ev.cpu_op_totals.items():
            entry = totals.setdefault(("cpu_op", name), [0.0, 0.0])
            entry[0] += count * scale
            entry[1] += dur * scale
    return totals, window_steps


def diff_traces(
    a: list[RankEvents],
    b: list[RankEvents],
    min_change_pct: float = MIN_CHANGE_PCT,
    min_change_us: float = MIN_CHANGE_US,
) -> TraceDiff:
    ta, steps_a = _per_step_totals(a)
    tb, steps_b = _per_step_totals(b)
    return TraceDiff(
        a_steps=steps_a,
        b_steps=steps_b,
        a_ranks=len(a),
        b_ranks=len(b),
        a_kernel_us_per_step=_kernel_time(ta),
        b_kernel_us_per_step=_kernel_time(tb),
        entries=_entries(ta, tb, min_change_pct, min_change_us),
        runtime=_entries(_runtime_totals(a), _runtime_totals(b), min_change_pct, min_change_us),
    )


def _runtime_totals(ranks: list[RankEvents]) -> dict[tuple[str, str], list[float]]:
    """("runtime", name) -> [count, us] per rank per step of the CUDA/HIP runtime and driver
    calls in the analysis window."""
    totals: dict[tuple[str, str], list[float]] = {}
    for ev in ranks:
        cats = [i for i, n in enumerate(ev.names) if n in RUNTIME_CATEGORIES]
        rows = np.flatnonzero((ev.stream == -1) & np.isin(ev.cat_id, cats))
        scale = 1.0 / (len(ranks) * max(1, len(ev.steps)))
        # a sub-microsecond call of a nanosecond trace rounds to -1 us (as HTA): count it 0
        durs = ints(np.maximum(ev.dur[rows], 0))
        for name_id, dur in zip(ints(ev.name_id[rows]), durs, strict=True):
            entry = totals.setdefault(("runtime", ev.names[name_id]), [0.0, 0.0])
            entry[0] += scale
            entry[1] += dur * scale
    return totals


def _entries(
    ta: dict[tuple[str, str], list[float]],
    tb: dict[tuple[str, str], list[float]],
    min_change_pct: float,
    min_change_us: float,
) -> list[DiffEntry]:
    entries: list[DiffEntry] = []
    for key in sorted(set(ta) | set(tb)):
        ca, ua = ta.get(key, [0.0, 0.0])
        cb, ub = tb.get(key, [0.0, 0.0])
        if key not in tb:
            change = "removed"
        elif key not in ta:
            change = "added"
        elif abs(ub - ua) > min_change_us and abs(ub - ua) > min_change_pct / 100 * ua:
            change = "slower" if ub > ua else "faster"
        else:
            continue
        entries.append(
            DiffEntry(
                kind=key[0],
                name=key[1],
                change=change,
                a_us_per_step=ua,
                b_us_per_step=ub,
                a_count_per_step=ca,
                b_count_per_step=cb,
            )
        )
    entries.sort(key=lambda e: -abs(e.delta_us))
    return entries


def _kernel_time(totals: dict[tuple[str, str], list[float]]) -> float:
    return sum(v[1] for k, v in totals.items() if k[0] == "kernel")
