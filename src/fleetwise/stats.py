"""Summary statistics of raw benchmark samples: pure, seeded, and honest about noise.

The confidence interval of the median is a percentile bootstrap (Efron & Tibshirani,
*An Introduction to the Bootstrap*, ch. 13) with a fixed seed, so the same samples always
give the same interval. The median is the headline figure because benchmark noise is
one-sided (interference only ever slows a run down) and the mean is pulled by it.

A shared module rather than part of ``analyze/``: the runner (collect) summarises each
case as it finishes, and collect may not import the layers to its right.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import NDArray

from fleetwise.models import Summary

#: Bootstrap resamples: 2,000 keeps the Monte-Carlo error of a 95% percentile bound
#: well below the sampling error of the 5-20 samples a benchmark case takes.
BOOTSTRAP_RESAMPLES = 2000
DEFAULT_SEED = 20240607

#: Thresholds of the stability warnings (pyperf warns at a stdev above 10% of the mean).
CV_WARN = 0.10
MIN_SAMPLES_WARN = 5
STEAL_WARN_PCT = 5.0


def bootstrap_median_ci(
    samples: Sequence[float] | NDArray[np.float64],
    confidence: float = 0.95,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> tuple[float, float]:
    """Percentile-bootstrap confidence interval of the median.

    The interval always contains the sample median (widened to it if the percentile
    bounds fall on one side, which can happen with very few samples).
    """
    # Sorted, so the interval depends on the values only, not on their order.
    x = np.sort(np.asarray(samples, dtype=float))
    if x.size == 0:
        raise ValueError("no samples")
    med = float(np.median(x))
    if x.size == 1:
        return med, med
    low, high = bootstrap_ci(
        x, lambda rows: np.median(rows, axis=1), confidence, resamples=resamples, seed=seed
    )
    return min(low, med), max(high, med)


def bootstrap_ci(
    values: Sequence[float] | NDArray[np.float64],
    stat: Callable[[NDArray[np.float64]], NDArray[np.float64]],
    confidence: float = 0.95,
    *,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> tuple[float, float]:
    """Percentile-bootstrap confidence interval of ``stat``, which takes the resamples as
    the rows of one array and returns one value per row (``np.median(rows, axis=1)``)."""
    x = np.asarray(values, dtype=float)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, x.size, size=(resamples, x.size))
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(stat(x[idx]), [alpha, 1.0 - alpha])
    return float(low), float(high)


def summarize(samples: Sequence[float], seed: int = DEFAULT_SEED) -> Summary:
    """n, median, mean, stdev (n-1), IQR, bootstrap 95% CI of the median, CV, min, max."""
    x = np.asarray(samples, dtype=float)
    if x.size == 0:
        raise ValueError("cannot summarise zero samples")
    if not np.all(np.isfinite(x)):
        raise ValueError("samples must be finite")
    lo, hi = float(np.min(x)), float(np.max(x))
    if lo == hi:
        # Exact for constant input, where floating-point sums would invent a tiny spread.
        mean, stdev = lo, 0.0
    else:
        mean = min(max(math.fsum(float(v) for v in x) / x.size, lo), hi)
        stdev = float(np.std(x, ddof=1))
    q1, median, q3 = (float(v) for v in np.quantile(x, [0.25, 0.5, 0.75]))
    ci_low, ci_high = bootstrap_median_ci(x, seed=seed)
    cv = stdev / abs(mean) if mean != 0 else (0.0 if stdev == 0 else math.inf)
    return Summary(
        n=int(x.size),
        median=median,
        mean=mean,
        stdev=stdev,
        iqr=q3 - q1,
        ci_low=ci_low,
        ci_high=ci_high,
        cv=cv,
        min=lo,
        max=hi,
    )


def mlperf_aggregate(values: Sequence[float]) -> float:
    """MLPerf's aggregation of repeated runs: drop the fastest and slowest, average the rest.

    (MLPerf Training rules, section "Benchmark results": the olympic mean.) With fewer than
    three values nothing can be dropped and the plain mean is returned.
    """
    if not values:
        raise ValueError("no values")
    x = sorted(values)
    if len(x) >= 3:
        x = x[1:-1]
    # fsum, then clamp: the mean of equal values must not round outside them.
    return min(max(math.fsum(x) / len(x), x[0]), x[-1])


def stability_warnings(
    summary: Summary,
    *,
    load_avg: float | None = None,
    cores: int | None = None,
    steal_pct: float | None = None,
    over_processes: bool = False,
) -> list[str]:
    """Warnings, each with advice, that say a result may not be trustworthy.

    ``over_processes``: the summary is over per-process medians (several workers), so its
    n counts processes and the advice for a wide CI is more of them.
    """
    out: list[str] = []
    if summary.n < MIN_SAMPLES_WARN:
        what, knob = ("processes", "processes") if over_processes else ("samples", "repeat")
        out.append(
            f"only {summary.n} {what}: the CI is wide; raise '{knob}' to {MIN_SAMPLES_WARN} or more"
        )
    if summary.cv >= CV_WARN:
        out.append(
            # The CV itself is in the summary; a fixed text lets a table list it once.
            f"unstable: CV >= {CV_WARN:.0%}; stop competing load, pin CPU frequency "
            "(docs/reproducibility.md), raise min_sample_time"
        )
    if summary.min > 0 and summary.max / summary.min > 1.5:
        out.append("spread: max/min > 1.5; an outlier or a warm-up effect; raise 'warmup'")
    if load_avg is not None and cores and load_avg > cores:
        out.append(
            f"load average {load_avg:.2f} > {cores} cores: other work competed with the benchmark"
        )
    if steal_pct is not None and steal_pct > STEAL_WARN_PCT:
        out.append(
            f"CPU steal {steal_pct:.1f}% > {STEAL_WARN_PCT:.0f}%: a noisy neighbour on this VM; "
            "use dedicated or bare-metal hosts for comparisons"
        )
    return out
