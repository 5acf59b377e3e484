"""E-divisive building blocks, and Apache Otava 0.8's change-point procedure on top of them.

The statistic is Matteson & James's divergence (2014, "A nonparametric approach for multiple
change point analysis of multivariate data", JASA 109:505, eq. 3-5): for a split of a sample
into X (n points) and Y (m points) with ``alpha = 1``,

    Q(X, Y) = 2/(n+m) * sum|x-y|  -  2m/((n+m)(n-1)) * sum_{i<k}|x_i-x_k|
                                  -  2n/((n+m)(m-1)) * sum_{j<k}|y_j-y_k|,

i.e. ``mn/(n+m)`` times the unbiased energy distance; a within-sum over a single point is
empty and its coefficient is taken as 0. With ``alpha = 2`` the same construction reduces to
``2nm/(n+m) * (mean_x - mean_y)^2 - 2/(n+m) * (m var_x + n var_y)`` (sample variances), which
only sees mean shifts and needs nothing but prefix sums.

``otava_change_points`` reproduces Otava 0.8's default analysis (``otava/analysis.py``:
``compute_change_points`` = ``split`` then ``merge``, from Fleming et al. 2023, "Hunter: using
change point detection to hunt for performance regressions", ICPE) and
``otava_orig_edivisive`` its ``--orig-edivisive`` mode (Matteson & James with Otava's
100-permutation test). Both are written from those definitions, not copied; where Otava's
behaviour is surprising it is reproduced on purpose and says so.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.special import stdtr

FloatArray = NDArray[np.float64]


def within_table(y: FloatArray) -> FloatArray:
    """``P[a, b]`` = sum of ``|y_i - y_k|`` over ``a <= i < k < b`` (valid for ``a <= b``).

    With ``S`` the 2-D prefix sum of the strictly upper distance triangle,
    ``P[a, b] = S[b, b] - S[a, b]``: rows below ``a`` are removed by the second term and
    columns below ``a`` hold nothing for rows ``>= a``. Integer-valued data stay exact."""
    size = len(y)
    upper = np.triu(np.abs(y[:, None] - y[None, :]), 1)
    s = np.zeros((size + 1, size + 1))
    s[1:, 1:] = upper.cumsum(axis=0).cumsum(axis=1)
    return np.asarray(s.diagonal()[None, :] - s, dtype=np.float64)


def _coefficients(
    n: NDArray[np.int64], m: NDArray[np.int64]
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """The three coefficients of Q for X of ``n`` and Y of ``m`` points (0 for empty sums)."""
    total = n + m
    shape = np.broadcast(n, m).shape
    a = np.asarray(2.0 / total, dtype=np.float64)
    b = np.divide(2 * m, total * (n - 1), out=np.zeros(shape), where=n > 1)
    c = np.divide(2 * n, total * (m - 1), out=np.zeros(shape), where=m > 1)
    return a, np.asarray(b, dtype=np.float64), np.asarray(c, dtype=np.float64)


def best_split_any_end(table: FloatArray, start: int, end: int) -> tuple[int, float]:
    """Matteson & James's candidate in ``[start, end)``: the split ``tau`` maximising Q of
    ``[start, tau)`` against ``[tau, kappa)`` over every ``start < tau < kappa <= end``.

    Ties go to the first ``(tau, kappa)`` in row-major order, as ``numpy.argmax`` does in
    Otava; the coefficients are formed as Otava forms them so that integer data give
    bit-identical values."""
    taus = np.arange(start + 1, end)[:, None]
    kappas = np.arange(start + 2, end + 1)[None, :]
    wx = table[start, start + 1 : end][:, None]
    wy = table[start + 1 : end, start + 2 : end + 1]
    cross = table[start, start + 2 : end + 1][None, :] - wx - wy
    a, b, c = _coefficients(taus - start, kappas - taus)
    q = a * cross - b * wx - c * wy
    q[kappas <= taus] = -np.inf
    i, j = np.unravel_index(int(np.argmax(q)), q.shape)
    return start + 1 + int(i), float(q[i, j])


def qhat_to_end(table: FloatArray, start: int, end: int, lo: int, hi: int) -> FloatArray:
    """Q (``alpha = 1``) of ``[start, tau)`` against ``[tau, end)`` for ``lo <= tau <= hi``."""
    taus = np.arange(lo, hi + 1)
    wx = table[start, taus]
    wy = table[taus, end]
    cross = table[start, end] - wx - wy
    a, b, c = _coefficients(taus - start, end - taus)
    out: FloatArray = a * cross - b * wx - c * wy
    return out


def qhat_means(
    s1: FloatArray, s2: FloatArray, start: int, end: int, lo: int, hi: int
) -> FloatArray:
    """Q (``alpha = 2``) of ``[start, tau)`` against ``[tau, end)`` for ``lo <= tau <= hi``,
    from prefix sums ``s1``/``s2`` of the (centred) values and their squares."""
    taus = np.arange(lo, hi + 1)
    n = (taus - start).astype(np.float64)
    m = (end - taus).astype(np.float64)
    sx, sy = s1[taus] - s1[start], s1[end] - s1[taus]
    qx, qy = s2[taus] - s2[start], s2[end] - s2[taus]
    mx, my = sx / n, sy / m
    vx = np.divide(np.maximum(qx - sx * mx, 0.0), n - 1, out=np.zeros_like(n), where=n > 1)
    vy = np.divide(np.maximum(qy - sy * my, 0.0), m - 1, out=np.zeros_like(m), where=m > 1)
    out: FloatArray = 2 * n * m / (n + m) * (mx - my) ** 2 - 2 / (n + m) * (m * vx + n * vy)
    return out


def _pair_sums(sorted_ref: FloatArray, prefix: FloatArray, points: FloatArray) -> FloatArray:
    """For each point, the sum of its distances to every value of ``sorted_ref``."""
    pos = np.searchsorted(sorted_ref, points)
    below = prefix[pos]
    out: FloatArray = points * pos - below + (prefix[-1] - below) - points * (len(sorted_ref) - pos)
    return out


def _within_sum(values: FloatArray) -> float:
    """Sum of ``|v_i - v_k|`` over all pairs, from the sorted values (each ``v_(k)`` enters
    ``k`` times with + and ``N-1-k`` times with -)."""
    v = np.sort(values)
    weights = 2.0 * np.arange(len(v)) - (len(v) - 1)
    return float(np.cumsum(weights * v)[-1]) if len(v) else 0.0


def refine_split(x: FloatArray, start: int, tau: int, end: int, lo: int, hi: int) -> int:
    """The ``t`` in ``[lo, hi]`` maximising Q (``alpha = 1``) of ``[start, t)`` against
    ``[t, end)``, exact for long segments in O(L log L + (hi-lo)^2).

    The points of ``[lo, hi)`` are the only ones that change side; their distances to the
    fixed left part ``[start, lo)`` and right part ``[hi, end)`` come from sorted prefix
    sums, the rest from a small distance table."""
    if hi <= lo:
        return tau
    ref = x[tau]  # Q is shift-invariant; centring keeps the large sums accurate
    left, mid, right = x[start:lo] - ref, x[lo:hi] - ref, x[hi:end] - ref
    ls, rs = np.sort(left), np.sort(right)
    lp = np.concatenate(([0.0], np.cumsum(ls)))
    rp = np.concatenate(([0.0], np.cumsum(rs)))
    d_left, d_right = _pair_sums(ls, lp, mid), _pair_sums(rs, rp, mid)
    left_right = float(np.cumsum(_pair_sums(ls, lp, rs))[-1]) if len(rs) and len(ls) else 0.0
    table = within_table(mid)
    h = hi - lo
    k = np.arange(h + 1)
    pre = table[0, k]  # within [lo, lo+k)
    suf = table[k, h]  # within [lo+k, hi)
    cum_l = np.concatenate(([0.0], np.cumsum(d_left)))
    cum_r = np.concatenate(([0.0], np.cumsum(d_right)))
    wx = _within_sum(left) + cum_l + pre
    wy = _within_sum(right) + (cum_r[-1] - cum_r) + suf
    cross = left_right + cum_r + (cum_l[-1] - cum_l) + (table[0, h] - pre - suf)
    a, b, c = _coefficients(lo + k - start, end - lo - k)
    q = a * cross - b * wx - c * wy
    return lo + int(np.argmax(q))


def welch_pvalue(
    n1: int, m1: float, v1: float, n2: int, m2: float, v2: float, resolution: float
) -> float:
    """Two-sided Welch t-test from summaries (sample variances); a side of one point falls
    back to the pooled (Student) form, whose variance is then that of the other side.

    Mean differences within ``resolution`` (rounding noise of the data's range) count as
    none; a real difference between two flat segments is certain (p = 0)."""
    diff = abs(m1 - m2)
    if diff <= resolution:
        return 1.0
    if n1 < 2 or n2 < 2:
        df = n1 + n2 - 2.0
        if df <= 0:
            return 1.0
        se2 = ((n1 - 1) * v1 + (n2 - 1) * v2) / df * (1.0 / n1 + 1.0 / n2)
    else:
        a1, a2 = v1 / n1, v2 / n2
        se2 = a1 + a2
        df = se2 * se2 / (a1 * a1 / (n1 - 1) + a2 * a2 / (n2 - 1)) if se2 > 0 else 1.0
    if se2 <= resolution * resolution:
        return 0.0
    return float(2.0 * stdtr(df, -diff / math.sqrt(se2)))


# --- Apache Otava 0.8 ----------------------------------------------------------------------


@dataclass(frozen=True)
class OtavaStats:
    """Otava's ``TTestStats``: population standard deviations (``numpy.std``), Student's
    pooled t-test p-value as ``scipy.stats.ttest_ind_from_stats`` computes it."""

    mean_1: float
    mean_2: float
    std_1: float
    std_2: float
    pvalue: float

    @property
    def forward_change(self) -> float:
        return 0.0 if self.mean_1 == 0 else self.mean_2 / self.mean_1 - 1.0

    @property
    def magnitude(self) -> float:
        back = 0.0 if self.mean_2 == 0 else self.mean_1 / self.mean_2 - 1.0
        return max(abs(self.forward_change), abs(back))


def otava_ttest(
    left: Sequence[float] | FloatArray, right: Sequence[float] | FloatArray
) -> OtavaStats:
    """Otava's ``TTestSignificanceTester.compare`` (numpy reductions on fresh arrays, as it
    does, so means and p-values agree to the last bit)."""
    ml, mr = float(np.mean(left)), float(np.mean(right))
    nl, nr = len(left), len(right)
    sl = float(np.std(left)) if nl >= 2 else 0.0
    sr = float(np.std(right)) if nr >= 2 else 0.0
    if nl + nr <= 2:
        return OtavaStats(ml, mr, sl, sr, 1.0)
    df = nl + nr - 2.0
    svar = ((nl - 1) * sl**2 + (nr - 1) * sr**2) / df
    denom = math.sqrt(svar * (1.0 / nl + 1.0 / nr))
    d = ml - mr
    if denom == 0.0:  # scipy divides anyway: 0/0 is nan (never significant), d/0 is inf
        return OtavaStats(ml, mr, sl, sr, math.nan if d == 0 else 0.0)
    return OtavaStats(ml, mr, sl, sr, float(2.0 * stdtr(df, -abs(d / denom))))


def otava_window(window: FloatArray, max_pvalue: float) -> list[int]:
    """Otava's ``ChangePointDetector`` on one window: repeatedly take the best candidate
    (largest Q) over the current intervals, keep it if the t-test of its interval split has
    ``p <= max_pvalue``, and stop at the first one that does not."""
    table = within_table(window)
    found: list[int] = []
    while True:
        bounds = [0, *found, len(window)]
        best: tuple[int, float, int, int] | None = None
        for lo, hi in itertools.pairwise(bounds):
            if hi - lo > 1:
                tau, q = best_split_any_end(table, lo, hi)
                if best is None or q > best[1]:
                    best = (tau, q, lo, hi)
        if best is None:
            return found
        tau, _, lo, hi = best
        if not otava_ttest(window[lo:tau], window[tau:hi]).pvalue <= max_pvalue:
            return found
        bisect.insort(found, tau)


def otava_split_step(
    values: Sequence[float], window_len: int, max_pvalue: float, start: int, found: set[int]
) -> tuple[int, list[int]]:
    """One window of Otava's ``split``, adding what it finds to ``found``: returns the next
    window's start and the change points found. The next window starts at the last change
    point found or half a window on, whichever is later (``max(last_cp, start + step)``)."""
    window = np.array(values[start : start + window_len], dtype=np.float64)
    new = [start + i for i in otava_window(window, max_pvalue)]
    found.update(new)
    return max(new[-1] if new else 0, start + window_len // 2), new


def otava_merge(
    values: Sequence[float],
    points: list[int],
    max_pvalue: float,
    min_magnitude: float,
    ttest: Callable[[int, int, int], OtavaStats] | None = None,
) -> list[tuple[int, OtavaStats]]:
    """Otava's ``split`` epilogue and ``merge``: statistics of every weak change point between
    its neighbours, then repeatedly drop the weakest (largest p, or smallest magnitude once
    every p is below ``max_pvalue``) until all pass.

    As in Otava 0.8, after a removal it recomputes the point that moved into the removed
    slot and the one after it, not the one before, whose statistics therefore stay those
    of its old right neighbour; the p-values and the survivors reproduce that.
    ``ttest(lo, c, hi)`` may serve the statistics of a split from a cache."""

    def direct(lo: int, c: int, hi: int) -> OtavaStats:
        return otava_ttest(values[lo:c], values[c:hi])

    test = ttest or direct

    def stats_at(pos: list[int], k: int) -> OtavaStats:
        lo = pos[k - 1] if k > 0 else 0
        hi = pos[k + 1] if k + 1 < len(pos) else len(values)
        return test(lo, pos[k], hi)

    pos = sorted(points)
    cps = [(p, stats_at(pos, k)) for k, p in enumerate(pos)]
    while cps:
        weakest = max(cps, key=lambda c: c[1].pvalue)
        if weakest[1].pvalue < max_pvalue:
            weakest = min(cps, key=lambda c: c[1].magnitude)
            if weakest[1].magnitude > min_magnitude:
                break
        k = cps.index(weakest)
        del cps[k]
        pos = [c[0] for c in cps]
        for j in (k, k + 1):
            if j < len(cps):
                cps[j] = (cps[j][0], stats_at(pos, j))
    return cps


def otava_first_pass_pvalue(max_pvalue: float) -> float:
    """Otava's relaxed threshold for the split step (10x, 2x, or as given)."""
    if max_pvalue < 0.05:
        return max_pvalue * 10
    return max_pvalue * 2 if max_pvalue < 0.5 else max_pvalue


def otava_change_points(
    values: Sequence[float],
    window_len: int = 50,
    max_pvalue: float = 0.001,
    min_magnitude: float = 0.0,
) -> list[tuple[int, OtavaStats]]:
    """Otava 0.8's ``compute_change_points`` with its defaults (window 50, p 0.001)."""
    found: set[int] = set()
    start, first = 0, otava_first_pass_pvalue(max_pvalue)
    while start < len(values):
        start, _ = otava_split_step(values, window_len, first, start, found)
    return otava_merge(values, sorted(found), max_pvalue, min_magnitude)


#: Otava's permutation count (``PermutationsSignificanceTester(permutations=100)``).
OTAVA_PERMUTATIONS = 100


def otava_orig_edivisive(
    values: Sequence[float], max_pvalue: float, seed: int
) -> list[tuple[int, float]]:
    """Otava's ``compute_change_points_orig``: Matteson & James's e-divisive over the whole
    series; a candidate is kept while the share of 100 within-interval permutations whose
    best Q reaches the candidate's (counted over 101) is ``<= max_pvalue``. The permutations
    consume ``numpy.random.default_rng(seed)`` in Otava's order, so the same seed gives
    Otava's answer. O(n^2) memory: meant for short series."""
    x = np.asarray(values, dtype=np.float64)
    rng = np.random.default_rng(seed)
    found: list[tuple[int, float]] = []

    def best(series: FloatArray, bounds: list[int]) -> tuple[int, float] | None:
        table = within_table(series)
        out: tuple[int, float] | None = None
        for lo, hi in itertools.pairwise(bounds):
            if hi - lo > 1:
                cand = best_split_any_end(table, lo, hi)
                if out is None or cand[1] > out[1]:
                    out = cand
        return out

    while True:
        bounds = [0, *(f[0] for f in found), len(x)]
        cand = best(x, bounds)
        if cand is None:
            return found
        qhats = np.empty(OTAVA_PERMUTATIONS)
        for i in range(OTAVA_PERMUTATIONS):
            shuffled = x.copy()
            for lo, hi in itertools.pairwise(bounds):
                rng.shuffle(shuffled[lo:hi])
            perm = best(shuffled, bounds)
            qhats[i] = perm[1] if perm is not None else -np.inf
        pvalue = float(np.count_nonzero(qhats >= cand[1])) / (OTAVA_PERMUTATIONS + 1)
        if not pvalue <= max_pvalue:
            return found
        found = sorted([*found, (cand[0], pvalue)])
