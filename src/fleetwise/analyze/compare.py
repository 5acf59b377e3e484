"""Compare two sets of runs result by result, holding the false-positive rate.

Why not compare raw samples: samples within one run share that run's machine state
(frequency, placement, page cache, neighbours), so their spread understates how much a
*re-run* moves. A test on within-run samples calls most same-code (A/A) comparisons
significant on noisy hardware - pyperf's ``compare_to`` does on our CI machine. Here the
unit of replication is the run:

- each run contributes its median; values are compared on the log scale, so the result
  is a ratio with a CI and the test is scale-free;
- with at least two runs on each side, the variance of log run medians comes from the
  runs themselves (Welch's t, Welch-Satterthwaite degrees of freedom);
- history runs of the same series (same benchmark, parameters, metric and hardware) add
  degrees of freedom to that variance estimate (pooled), and make a comparison of single
  runs possible at all;
- with one run on a side and no history, the between-run variance is unknown: the
  verdict is "inconclusive", never a guess.

``benchmarks/aa_rate.py`` measures the false-positive rate and the power of this test.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from scipy import stats as sps

from fleetwise.models import Direction, ResultRecord, ResultStatus, Series
from fleetwise.stats import mlperf_aggregate

Verdict = Literal["faster", "slower", "no significant change", "inconclusive"]
Aggregate = Literal["geomean", "mlperf"]
CaseKey = tuple[str, str, str]  # benchmark, params (canonical JSON), metric


@dataclass(frozen=True)
class Comparison:
    benchmark: str
    params: dict[str, Any]
    metric: str
    unit: str
    direction: Direction
    a_runs: int
    b_runs: int
    a_value: float
    b_value: float
    #: b / a of the aggregated values; > 1 means B's number is larger.
    ratio: float
    ci_low: float | None
    ci_high: float | None
    pvalue: float | None
    verdict: Verdict
    #: Hedges' g on log run medians (standardised difference), when a variance is known.
    effect_size: float | None
    method: str
    history_runs: int = 0
    notes: list[str] = field(default_factory=list)
    #: Interleaved runs per side for a verdict at 80% power (None: no spread known yet),
    #: and the relative change that number is sized to detect: the observed B/A - 1 when
    #: at least 5% either way, else 0.05.
    runs_needed: int | None = None
    runs_needed_for: float | None = None

    @property
    def change(self) -> float:
        return self.ratio - 1.0


def case_key(r: ResultRecord) -> CaseKey:
    return (r.benchmark, json.dumps(r.params, sort_keys=True), r.metric)


def _group(results: Sequence[ResultRecord]) -> dict[CaseKey, list[ResultRecord]]:
    out: dict[CaseKey, list[ResultRecord]] = {}
    for r in results:
        if r.status is ResultStatus.OK and r.summary is not None and r.summary.median > 0:
            out.setdefault(case_key(r), []).append(r)
    return out


def _verdict(diff: float, half_width: float, direction: Direction) -> Verdict:
    """Significant when the CI (diff +- half_width, log scale) excludes 0. A tie at the
    boundary - common with permutation nulls, whose values are discrete - is not."""
    if abs(diff) <= half_width * (1.0 + 1e-9):
        return "no significant change"
    return "faster" if (diff > 0) == (direction == "higher") else "slower"


#: Fewest distinct group assignments for the permutation test: with fewer, its p-value
#: is too coarse and the normal-theory test is used (or the verdict is inconclusive).
MIN_PERMUTATIONS = 100
#: Monte-Carlo permutations (seeded): the Monte-Carlo error of a 5% p-value is 0.3 points.
PERMUTATIONS = 5000
#: History runs used, the most recent first: older runs may come from another machine state.
MAX_HISTORY = 30


#: The design target of ``runs_needed``: 80% power at a two-sided 5% level (the usual
#: choice), for the observed change when it is at least 5%, else for a 5% change (smaller
#: changes rarely matter for a fleet, and sizing for them asks for hundreds of runs).
POWER, ALPHA, SMALLEST_CHANGE = 0.80, 0.05, 0.05
#: Fewest runs per side ever advised: the permutation test needs 5 + 5 to reach 5%.
MIN_RUNS = 5


def runs_needed(sd_log: float, change: float) -> int:
    """Runs per side for a two-sample test on log run medians to detect ``change``
    (relative, e.g. 0.05) with :data:`POWER` at :data:`ALPHA`, given the standard
    deviation of log run medians: n = 2 (z_(1-alpha/2) + z_power)^2 sd^2 / log(1+change)^2
    (the normal approximation; never fewer than :data:`MIN_RUNS`)."""
    z = float(sps.norm.ppf(1.0 - ALPHA / 2.0) + sps.norm.ppf(POWER))
    delta = abs(math.log1p(change))
    return max(MIN_RUNS, math.ceil(2.0 * (z * sd_log / delta) ** 2))


def _sizing(diff: float, var: float) -> tuple[int | None, float | None]:
    """``runs_needed`` for the observed log difference ``diff`` (or the smallest change of
    interest when it is smaller) and the pooled variance ``var`` (0: unknown); the change
    it is sized for (the observed one, signed, or :data:`SMALLEST_CHANGE`)."""
    if var <= 0:
        return None, None
    if abs(diff) >= math.log1p(SMALLEST_CHANGE):
        return runs_needed(math.sqrt(var), math.expm1(abs(diff))), math.expm1(diff)
    return runs_needed(math.sqrt(var), SMALLEST_CHANGE), SMALLEST_CHANGE


def _assignments(n: int, ka: int, kb: int) -> int:
    return math.comb(n, ka) * math.comb(n - ka, kb)


def _permutation_ci(
    la: NDArray[np.float64],
    lb: NDArray[np.float64],
    lh: NDArray[np.float64],
    confidence: float,
    seed: int,
) -> tuple[float, float, float]:
    """mean(log B) - mean(log A), the half-width of its CI, and the two-sided p-value,
    by permutation.

    Under "no change" the runs of A, B and the history are exchangeable, so the
    difference between random groups of the same sizes is its null distribution; the
    p-value is exact up to Monte-Carlo error whatever the runs' distribution (run
    medians are skewed: interference only slows a run down). The CI inverts the
    two-sided test under a location shift: diff +- the ``confidence`` quantile of
    |null|. The pool is sorted and the smaller group drawn first, so swapping A and B,
    or scaling all values, gives the mirrored (or the same) answer exactly.
    """
    pool = np.sort(np.concatenate([la, lb, lh]))
    small, large = sorted((la.size, lb.size))
    rng = np.random.default_rng(seed)
    shuffled = pool[np.argsort(rng.random((PERMUTATIONS, pool.size)), axis=1)]
    null = np.abs(
        shuffled[:, small : small + large].mean(axis=1) - shuffled[:, :small].mean(axis=1)
    )
    diff = float(lb.mean() - la.mean())
    # "higher": an attained null value at or above the quantile, so the test stays exact.
    q = float(np.quantile(null, confidence, method="higher"))
    pvalue = (1.0 + float(np.sum(null >= abs(diff) * (1.0 - 1e-9)))) / (PERMUTATIONS + 1.0)
    return diff, q, pvalue


def compare_medians(
    a: Sequence[float],
    b: Sequence[float],
    *,
    direction: Direction = "higher",
    history: Sequence[float] = (),
    confidence: float = 0.95,
    aggregate: Aggregate = "geomean",
    seed: int = 0,
) -> dict[str, Any]:
    """The test on two sets of run medians (and optional history medians of the series).

    Returns the fields of :class:`Comparison` that depend on the numbers only.
    """
    la, lb = np.log(np.asarray(a, float)), np.log(np.asarray(b, float))
    lh = np.log(np.asarray(list(history)[-MAX_HISTORY:], float))
    ka, kb = la.size, lb.size
    if aggregate == "mlperf":
        a_value, b_value = mlperf_aggregate(list(a)), mlperf_aggregate(list(b))
    else:
        a_value, b_value = float(np.exp(la.mean())), float(np.exp(lb.mean()))
    out: dict[str, Any] = {
        "a_value": a_value,
        "b_value": b_value,
        "ratio": b_value / a_value,
        "ci_low": None,
        "ci_high": None,
        "pvalue": None,
        "verdict": "inconclusive",
        "effect_size": None,
        "notes": [],
    }
    diff = float(lb.mean() - la.mean())
    # Pooled within-group variance of log run medians, for the effect size (and Welch).
    groups = [x for x in (la, lb, lh) if x.size >= 2]
    df = sum(x.size - 1 for x in groups)
    var = sum(float(((x - x.mean()) ** 2).sum()) for x in groups) / df if df else 0.0
    out["runs_needed"], out["runs_needed_for"] = _sizing(diff, var)
    if ka < 2 or kb < 2:
        # One run cannot tell "this run was unlucky" from "this changed": its own noise is
        # unknown however much history there is (a permutation test on 1 + 1 runs cannot
        # reach 5% with fewer than ~40 history runs). No test, so no effect size either.
        out["method"] = "none: one run on a side"
        spread = (
            f"; other runs of this series spread {float(np.std(lh, ddof=1)):.1%} (sd of log)"
            if lh.size >= 3
            else ""
        )
        runs = out["runs_needed"] or MIN_RUNS
        out["notes"].append(
            f"one run on a side: no verdict{spread}; repeat each side at least {runs} times"
        )
        return out
    if var > 0:
        # Hedges' g: Cohen's d with the small-sample correction J = 1 - 3 / (4 df - 1).
        out["effect_size"] = diff / math.sqrt(var) * (1.0 - 3.0 / (4.0 * df - 1.0))
    if _assignments(ka + kb + lh.size, ka, kb) >= MIN_PERMUTATIONS:
        diff, half, pvalue = _permutation_ci(la, lb, lh, confidence, seed)
        out["method"] = (
            f"permutation test on log run medians ({ka} + {kb} runs"
            + (f" + {lh.size} history runs" if lh.size else "")
            + f", {PERMUTATIONS} draws)"
        )
    else:
        va, vb = float(la.var(ddof=1)), float(lb.var(ddof=1))
        se = math.sqrt(va / ka + vb / kb)
        # Log-scale spread below rounding error (1e-12 relative) is no spread: scaling the
        # inputs must not turn "identical" into a test on floating-point noise.
        if se <= 1e-12:
            out["method"] = "none: identical run medians"
            out["notes"].append("zero spread between runs; no test possible")
            return out
        # Welch-Satterthwaite degrees of freedom: the sides may differ in spread.
        den = (va / ka) ** 2 / (ka - 1) + (vb / kb) ** 2 / (kb - 1)
        df_w = (va / ka + vb / kb) ** 2 / den
        half = float(sps.t.ppf(0.5 + confidence / 2.0, df_w)) * se
        pvalue = float(2.0 * sps.t.sf(abs(diff) / se, df_w))
        out["method"] = f"Welch t on log run medians ({ka} + {kb} runs, df={df_w:.1f})"
        out["notes"].append("too few runs for a permutation test: normal theory assumed")
    out["ci_low"], out["ci_high"] = math.exp(diff - half), math.exp(diff + half)
    out["pvalue"] = pvalue
    out["verdict"] = _verdict(diff, half, direction)
    if aggregate == "mlperf":
        out["method"] += "; values: MLPerf olympic mean of run medians"
    return out


def compare_runs(
    a: Sequence[ResultRecord],
    b: Sequence[ResultRecord],
    *,
    history: Mapping[CaseKey, Sequence[float]] | None = None,
    confidence: float = 0.95,
    aggregate: Aggregate = "geomean",
    run_times: Mapping[int, datetime] | None = None,
) -> list[Comparison]:
    """Compare every case and metric present on both sides (results of several runs each).

    ``history`` maps a case key to medians of other runs of the same series, which must
    not include the runs being compared.
    """
    ga, gb = _group(a), _group(b)
    order_note = _order_note(a, b, run_times or {})
    out: list[Comparison] = []
    for key in sorted(set(ga) & set(gb)):
        ra, rb = ga[key], gb[key]
        first = ra[0]
        hist = list((history or {}).get(key, ()))
        nums = compare_medians(
            [r.summary.median for r in ra if r.summary],
            [r.summary.median for r in rb if r.summary],
            direction=first.direction,
            history=hist,
            confidence=confidence,
            aggregate=aggregate,
        )
        if order_note:
            nums["notes"] = [*nums["notes"], order_note]
        out.append(
            Comparison(
                benchmark=first.benchmark,
                params=first.params,
                metric=first.metric,
                unit=first.unit,
                direction=first.direction,
                a_runs=len({r.run_id for r in ra}),
                b_runs=len({r.run_id for r in rb}),
                history_runs=len(hist),
                **nums,
            )
        )
    return out


def _order_note(
    a: Sequence[ResultRecord], b: Sequence[ResultRecord], times: Mapping[int, datetime]
) -> str:
    """A warning when every run of one side ran before every run of the other (one run
    a side included: that is the design the warning is about).

    Machines drift over minutes (clocks, neighbours, caches): on our CI VM, 5 runs
    followed by 5 more runs of the same code differed significantly in 27% of windows,
    interleaved A/B runs in none (``benchmarks/aa_rate.py``).
    """
    ta = [times[r.run_id] for r in a if r.run_id is not None and r.run_id in times]
    tb = [times[r.run_id] for r in b if r.run_id is not None and r.run_id in times]
    if not ta or not tb or not (max(ta) < min(tb) or max(tb) < min(ta)):
        return ""
    return ORDER_NOTE


#: The note of :func:`_order_note` (renderers show it as a warning, not as method).
ORDER_NOTE = (
    "every run of one side ran before every run of the other: drift of the machine "
    "between them looks like a change; interleave A and B runs (ABAB...)"
)


def history_for(
    series: Sequence[Series], a_runs: Sequence[int], b_runs: Sequence[int]
) -> dict[CaseKey, list[float]]:
    """Medians of other runs of each series that side A belongs to (same case, metric and
    hardware as A), excluding every compared run: the variance those runs show is the
    between-run noise of this benchmark on this machine."""
    compared = set(a_runs) | set(b_runs)
    out: dict[CaseKey, list[float]] = {}
    for s in series:
        runs = {p.run_id for p in s.points}
        if not runs & set(a_runs):
            continue
        key = (s.key.benchmark, json.dumps(s.key.params, sort_keys=True), s.key.metric)
        out[key] = [p.median for p in s.points if p.run_id not in compared and p.median > 0]
    return out
