"""Change points in a benchmark history: e-divisive means with a significance test.

Two algorithms behind one API (``detect``, ``IncrementalDetector``):

``otava_compatible=True`` is Apache Otava 0.8's analysis, reproduced from its definition
(``edivisive.py``): windows of 50 points, Matteson & James's e-divisive in each with
Student's t-test at 10x the p-value threshold, then Otava's merge. Same inputs, same change
points and p-values as ``otava analyze`` with its defaults. ``orig_edivisive=True`` with it is
Otava's ``--orig-edivisive`` (a seeded permutation test over the whole series).

The default keeps the statistic and the shape of that procedure (propose in windows, then
merge on whole segments, Fleming et al. 2023) and fixes what makes Otava miss small steps
and flag noise:

1. Propose. Windows tile the series at several scales (``window`` = 64 points, then 4x
   larger up to the series length; each overlaps the next by half). In each, binary
   segmentation places splits at the maximum of Matteson & James's Q: ``alpha = 1`` at the
   finest scale, as Otava, and ``alpha = 2`` (Q of means, linear time) at the coarse scales,
   which exist to see mean shifts too small for a 64-point window. A split is kept when its
   Welch t-test, Bonferroni-adjusted over the positions the split was chosen from, has
   p <= 10 x ``max_pvalue`` (Otava's first-pass rule).
2. Merge. Each proposal is tested between its neighbours: Welch's t-test, its p-value
   multiplied by the number of admissible split positions between those neighbours
   (Bonferroni: a valid p-value for "no change between them" whatever chose the split).
   While some proposal fails (p > ``max_pvalue``, a segment shorter than ``min_segment``,
   or a relative change below ``min_magnitude``), the failing one with the largest p goes
   and its neighbours are re-tested.
3. Refine and report. Each survivor moves to the maximum of Q (``alpha = 1``) between its
   neighbours, within one fine window of where it was; the merge runs once more on the
   moved points, and its p-values are the ones reported.

What a window or a segment computes depends only on the points up to its end, so
``IncrementalDetector`` caches finished windows and segments and, on ``extend``, recomputes
only the windows that reach the new tail, then the cheap merge (about 3 ms per appended
point at 20,000 points): the result is exactly that of ``detect`` on the whole series.
Significance is a test of means (as Otava's): a change in spread alone is not reported.
No random numbers are drawn except by ``orig_edivisive``.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import numpy as np
from numpy.typing import NDArray

from fleetwise.analyze import edivisive as ed
from fleetwise.errors import InputError

#: Finest window of the default mode; Otava's default (``--window``) is 50.
DEFAULT_WINDOW = 64
OTAVA_WINDOW = 50
#: Differences below this share of the data's range are rounding noise, not change.
RESOLUTION = 1e-9
#: ``orig_edivisive`` holds an n x n distance table (as Otava does); refuse what cannot fit.
ORIG_MAX_POINTS = 2000


@dataclass(frozen=True)
class ChangePointConfig:
    """Options of ``detect``. ``window=None`` means the mode's default (64 here, 50 in
    ``otava_compatible``); ``min_segment`` does not exist in Otava and is ignored there."""

    max_pvalue: float = 0.001
    min_magnitude: float = 0.0  # drop change points whose |mean_after/mean_before - 1| is below
    #: No change point closer than this to another or to an end: a spike of one or two
    #: runs is not a change; the price is that a change shows once 3 runs are past it.
    min_segment: int = 3
    window: int | None = None
    otava_compatible: bool = False
    orig_edivisive: bool = False  # with otava_compatible: Otava's --orig-edivisive
    seed: int = 0  # seeds orig_edivisive's permutations; the other modes are deterministic

    def __post_init__(self) -> None:
        if not 0.0 < self.max_pvalue <= 1.0:
            raise InputError(f"max_pvalue must be in (0, 1], got {self.max_pvalue}")
        if not self.min_magnitude >= 0.0:
            raise InputError(f"min_magnitude must be >= 0, got {self.min_magnitude}")
        if self.min_segment < 1:
            raise InputError(f"min_segment must be >= 1, got {self.min_segment}")
        if self.window is not None and self.window < 2:
            raise InputError(f"window must be >= 2 points, got {self.window}")
        if self.orig_edivisive and not self.otava_compatible:
            raise InputError("orig_edivisive is an Otava mode: set otava_compatible too")


DEFAULTS = ChangePointConfig()


@dataclass(frozen=True)
class ChangePoint:
    index: int  # index of the first point AFTER the change (start of the new segment)
    mean_before: float
    std_before: float  # population std (numpy.std) of the segment, as Otava reports it
    mean_after: float
    std_after: float
    change: float  # mean_after / mean_before - 1 (0 when mean_before is 0, as Otava)
    pvalue: float


def detect(
    values: Sequence[float] | NDArray[np.float64],
    config: ChangePointConfig = DEFAULTS,
) -> list[ChangePoint]:
    """Change points of ``values`` (oldest first), in index order."""
    return IncrementalDetector(config, values).change_points


class IncrementalDetector:
    """``detect`` over a growing series: ``extend`` recomputes only what the new points
    touch, and always returns what ``detect`` returns on the whole series so far."""

    def __init__(
        self,
        config: ChangePointConfig = DEFAULTS,
        values: Sequence[float] | NDArray[np.float64] = (),
    ) -> None:
        self.config = config
        self._engine: _Default | _Otava = (
            _Otava(config) if config.otava_compatible else _Default(config)
        )
        self._points: list[ChangePoint] = []
        if len(values):
            self.extend(values)

    def extend(self, values: Sequence[float] | NDArray[np.float64]) -> list[ChangePoint]:
        """Append points; returns all change points of the whole series so far."""
        new = _checked(values)
        if len(new):
            self._points = self._engine.extend(new)
        return self.change_points

    @property
    def change_points(self) -> list[ChangePoint]:
        return list(self._points)

    def __len__(self) -> int:
        return self._engine.n


def _checked(values: Sequence[float] | NDArray[np.float64]) -> NDArray[np.float64]:
    try:
        arr = np.asarray(values, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise InputError(f"change-point input must be numbers: {exc}") from exc
    bad = np.flatnonzero(~np.isfinite(arr))
    if len(bad):
        raise InputError(f"change-point input has a non-finite value at position {bad[0]}")
    return arr


def _report(
    index: int, before: tuple[float, float], after: tuple[float, float], p: float
) -> ChangePoint:
    change = 0.0 if before[0] == 0 else after[0] / before[0] - 1.0
    return ChangePoint(index, before[0], before[1], after[0], after[1], change, p)


class _Otava:
    """Otava 0.8, incrementally: its split windows are sequential, each starting where the
    previous one says, so windows that ended inside the old series are final and the split
    resumes at the first one that reached the old tail; the merge is re-run whole."""

    def __init__(self, config: ChangePointConfig) -> None:
        self.config = config
        self.window = config.window or OTAVA_WINDOW
        self.values: list[float] = []
        self.log: list[tuple[int, list[int]]] = []  # (window start, change points it found)
        self.resume = 0
        self.ttest_memo: dict[int, dict[tuple[int, int], ed.OtavaStats]] = {}  # by segment end

    @property
    def n(self) -> int:
        return len(self.values)

    def extend(self, new: NDArray[np.float64]) -> list[ChangePoint]:
        cfg, old = self.config, len(self.values)
        if cfg.orig_edivisive and old + len(new) > ORIG_MAX_POINTS:
            raise InputError(f"orig_edivisive is O(n^2): at most {ORIG_MAX_POINTS} points")
        self.values.extend(cast(list[float], new.tolist()))
        if cfg.orig_edivisive:
            found = ed.otava_orig_edivisive(self.values, cfg.max_pvalue, cfg.seed)
            bounds = [0, *(f[0] for f in found), self.n]
            return [
                _report(c, self._summary(lo, c), self._summary(c, hi), p)
                for (c, p), lo, hi in zip(found, bounds[:-2], bounds[2:], strict=True)
            ]
        keep = 0
        while keep < len(self.log) and self.log[keep][0] + self.window <= old:
            keep += 1
        start = self.log[keep][0] if keep < len(self.log) else self.resume
        del self.log[keep:]
        found_set = {c for _, cps in self.log for c in cps}
        first = ed.otava_first_pass_pvalue(cfg.max_pvalue)
        while start < self.n:
            nxt, new_cps = ed.otava_split_step(self.values, self.window, first, start, found_set)
            self.log.append((start, new_cps))
            start = nxt
        self.resume = start
        self.ttest_memo.pop(old, None)
        merged = ed.otava_merge(
            self.values, sorted(found_set), cfg.max_pvalue, cfg.min_magnitude, self._ttest
        )
        return [_report(c, (s.mean_1, s.std_1), (s.mean_2, s.std_2), s.pvalue) for c, s in merged]

    def _ttest(self, lo: int, c: int, hi: int) -> ed.OtavaStats:
        """Otava's t-test of a split; cached, as points before the old end never change."""
        memo = self.ttest_memo.setdefault(hi, {})
        if (lo, c) not in memo:
            memo[(lo, c)] = ed.otava_ttest(self.values[lo:c], self.values[c:hi])
        return memo[(lo, c)]

    def _summary(self, lo: int, hi: int) -> tuple[float, float]:
        seg = self.values[lo:hi]
        return float(np.mean(seg)), float(np.std(seg))


class _Default:
    """The default multi-scale procedure (module docstring), with its caches."""

    def __init__(self, config: ChangePointConfig) -> None:
        self.config = config
        self.m = config.min_segment
        self.w0 = config.window or DEFAULT_WINDOW
        self.screen = ed.otava_first_pass_pvalue(config.max_pvalue)
        self.n = 0
        self.x: NDArray[np.float64] = np.empty(256)
        self.s1: NDArray[np.float64] = np.zeros(257)  # prefix sums of x - ref and its square
        self.s2: NDArray[np.float64] = np.zeros(257)
        self.ref, self.lo, self.hi = 0.0, math.inf, -math.inf
        self.done: list[int] = []  # per scale: windows [0, done) are complete and cached
        self.fixed: set[int] = set()  # proposals of complete windows
        # Caches keyed by a segment's end: data before the old end never change, so only
        # entries ending exactly there (the old tail) go stale on extend.
        self.split_memo: dict[int, dict[int, tuple[int, ...]]] = {}
        self.refine_memo: dict[int, dict[tuple[int, int], int]] = {}
        self.summary_memo: dict[int, dict[int, tuple[float, float]]] = {}

    # -- data --------------------------------------------------------------------------

    def extend(self, new: NDArray[np.float64]) -> list[ChangePoint]:
        old, self.n = self.n, self.n + len(new)
        if self.n > len(self.x):
            size = max(self.n, 2 * len(self.x))
            self.x = np.concatenate((self.x[:old], np.empty(size - old)))
            self.s1 = np.concatenate((self.s1[: old + 1], np.zeros(size - old)))
            self.s2 = np.concatenate((self.s2[: old + 1], np.zeros(size - old)))
        if old == 0:
            self.ref = float(new[0])
        self.x[old : self.n] = new
        centred = new - self.ref
        # Continue the running sums from the last one, so that any split of the appends
        # adds in the same order as one batch (numpy's cumsum is sequential).
        self.s1[old : self.n + 1] = np.cumsum(np.concatenate((self.s1[old : old + 1], centred)))
        self.s2[old : self.n + 1] = np.cumsum(np.concatenate((self.s2[old : old + 1], centred**2)))
        self.lo, self.hi = min(self.lo, float(new.min())), max(self.hi, float(new.max()))
        for memo in (self.split_memo, self.refine_memo, self.summary_memo):
            memo.pop(old, None)
        return self._solve(self._propose())

    def _segment(self, a: int, b: int) -> tuple[int, float, float]:
        """Count, centred mean and sample variance of ``x[a:b]`` from the prefix sums."""
        cnt = b - a
        total = float(self.s1[b] - self.s1[a])
        mean = total / cnt
        sq = float(self.s2[b] - self.s2[a]) - total * mean
        return cnt, mean, (max(sq, 0.0) / (cnt - 1) if cnt > 1 else 0.0)

    def _pvalue(self, a: int, c: int, b: int, resolution: float) -> float:
        """Welch p of ``[a, c)`` vs ``[c, b)``, Bonferroni over the admissible splits of
        ``[a, b)``."""
        n1, m1, v1 = self._segment(a, c)
        n2, m2, v2 = self._segment(c, b)
        p = ed.welch_pvalue(n1, m1, v1, n2, m2, v2, resolution)
        return min(1.0, p * max(1, b - a - 2 * self.m + 1))

    # -- 1. propose --------------------------------------------------------------------

    def _propose(self) -> set[int]:
        tail: set[int] = set()
        scale, width = 0, self.w0
        while scale == 0 or width // 4 < self.n:  # a scale only if the one below is < n
            step = max(1, width // 2)
            complete = (self.n - width) // step + 1 if self.n >= width else 0
            if len(self.done) <= scale:
                self.done.append(0)
            for k in range(self.done[scale], complete):
                self.fixed.update(self._window(scale, k * step, k * step + width))
            self.done[scale] = complete
            for start in range(complete * step, self.n, step):
                tail.update(self._window(scale, start, self.n))
            scale, width = scale + 1, width * 4
        return tail

    def _window(self, scale: int, start: int, end: int) -> tuple[int, ...]:
        if end - start < 2 * self.m:
            return ()
        return self._energy_window(start, end) if scale == 0 else self._means_split(start, end)

    def _energy_window(self, start: int, end: int) -> tuple[int, ...]:
        """Binary segmentation of one fine window with Q (alpha = 1)."""
        y = self.x[start:end]
        table = ed.within_table(y)
        resolution = RESOLUTION * float(y.max() - y.min())
        found: list[int] = []
        todo = [(0, end - start)]
        while todo:
            a, b = todo.pop()
            if b - a < 2 * self.m:
                continue
            q = ed.qhat_to_end(table, a, b, a + self.m, b - self.m)
            t = a + self.m + int(np.argmax(q))
            if self._pvalue(start + a, start + t, start + b, resolution) <= self.screen:
                found.append(start + t)
                todo += [(a, t), (t, b)]
        return tuple(sorted(found))

    def _means_split(self, start: int, end: int) -> tuple[int, ...]:
        """Binary segmentation of ``[start, end)`` with Q (alpha = 2); memoised per
        segment, since coarse windows share sub-segments."""
        memo = self.split_memo.setdefault(end, {})
        if start in memo:
            return memo[start]
        out: tuple[int, ...] = ()
        if end - start >= 2 * self.m:
            lo, hi = start + self.m, end - self.m
            t = lo + int(np.argmax(ed.qhat_means(self.s1, self.s2, start, end, lo, hi)))
            y = self.x[start:end]
            resolution = RESOLUTION * float(y.max() - y.min())
            if self._pvalue(start, t, end, resolution) <= self.screen:
                out = (*self._means_split(start, t), t, *self._means_split(t, end))
        memo[start] = out
        return out

    # -- 2. merge, 3. refine and report ----------------------------------------------------

    def _solve(self, tail: set[int]) -> list[ChangePoint]:
        resolution = RESOLUTION * (self.hi - self.lo)
        merged = [c for c, _ in self._merge(sorted(self.fixed | tail), resolution)]
        bounds = [0, *merged, self.n]
        moved = {self._refine(*abc) for abc in zip(bounds[:-2], merged, bounds[2:], strict=True)}
        final = self._merge(sorted(moved), resolution)
        ends = [0, *(c for c, _ in final), self.n]
        return [
            _report(c, self._summary(lo, c), self._summary(c, hi), p)
            for (c, p), lo, hi in zip(final, ends[:-2], ends[2:], strict=True)
        ]

    def _merge(self, cands: list[int], resolution: float) -> list[tuple[int, float]]:
        """Bottom-up merge (Fleming et al. 2023, Otava's ``merge``): drop the failing
        proposal with the largest p, re-test its two neighbours, until none fails."""
        k = len(cands)
        prev, nxt = list(range(-1, k - 1)), list(range(1, k + 1))
        alive, version = [True] * k, [0] * k
        pvalues = [1.0] * k
        heap: list[tuple[float, int, int, int]] = []

        def evaluate(i: int) -> None:
            a = cands[prev[i]] if prev[i] >= 0 else 0
            b = cands[nxt[i]] if nxt[i] < k else self.n
            c = cands[i]
            p = self._pvalue(a, c, b, resolution)
            pvalues[i], version[i] = p, version[i] + 1
            fails = c - a < self.m or b - c < self.m or p > self.config.max_pvalue
            if not fails and self.config.min_magnitude > 0:
                before = self.ref + self._segment(a, c)[1]
                after = self.ref + self._segment(c, b)[1]
                fails = before != 0 and abs(after / before - 1.0) < self.config.min_magnitude
            if fails:
                heapq.heappush(heap, (-p, -c, version[i], i))

        for i in range(k):
            evaluate(i)
        while heap:
            _, _, ver, i = heapq.heappop(heap)
            if not alive[i] or ver != version[i]:
                continue
            alive[i] = False
            left, right = prev[i], nxt[i]
            if left >= 0:
                nxt[left] = right
            if right < k:
                prev[right] = left
            for j in (left, right):
                if 0 <= j < k:
                    evaluate(j)
        return [(cands[i], pvalues[i]) for i in range(k) if alive[i]]

    def _refine(self, a: int, c: int, b: int) -> int:
        memo = self.refine_memo.setdefault(b, {})
        if (a, c) not in memo:
            lo, hi = max(a + self.m, c - self.w0), min(b - self.m, c + self.w0)
            memo[(a, c)] = ed.refine_split(self.x[: self.n], a, c, b, lo, hi)
        return memo[(a, c)]

    def _summary(self, a: int, b: int) -> tuple[float, float]:
        """Mean and population std of ``x[a:b]``, exactly rounded (``math.fsum``) so that
        they do not depend on how the series was appended."""
        memo = self.summary_memo.setdefault(b, {})
        if a not in memo:
            seg = self.x[a:b]
            mean = math.fsum(cast(list[float], seg.tolist())) / len(seg)
            var = math.fsum(cast(list[float], ((seg - mean) ** 2).tolist())) / len(seg)
            memo[a] = (mean, math.sqrt(var))
        return memo[a]
