"""Change-point detection: fleetwise against Apache Otava 0.8 and ruptures, in one run.

    .venv/bin/python benchmarks/changepoints_vs_peers.py [--repeat 3] [--noise-series 1]

Inputs: ``synthetic_5000.csv`` and ``synthetic_20000.csv`` from ``tests/data/changepoints/``
(10 known steps of 0.5 to 12 sigma each; truth in ``*_truth.json``, index = first point
after the change) and 20,000 points of seeded Gaussian noise (mean 1000, sd 10, like the
synthetic series; ``--noise-series K`` uses K seeds: one row, false change points over all
K x 20,000 points, median time per series).

Methods, each called in this process on the same float64 values:
- fleetwise default (``detect``) and ``otava_compatible=True``;
- Otava 0.8 with its defaults, through its library API (``Series.analyze`` with
  ``AnalysisOptions()``: window 50, p 0.001, no magnitude filter), what ``otava analyze``
  runs;
- ruptures ``KernelCPD(kernel="linear")`` (least squares, PELT) on the values standardised
  by the median and a robust noise scale (``MAD(diff(x)) / (0.6745 * sqrt 2)``, which steps
  do not inflate), with the BIC-style penalty ``2 log(n)`` (= ``2 log(n) sigma^2`` in the
  original units) and ``min_size=3`` (fleetwise's ``min_segment``); KernelCPD always
  considers every position (it ignores ``jump``).

Reported: wall time (median of ``--repeat`` runs, each from scratch), change points found,
precision / recall / F1 at +-5 and +-30 points (each true change matched to at most one
found point, the nearest within the tolerance), false change points per 1000 noise points,
and the time to append one point to a 20,000-point history (``IncrementalDetector`` for
fleetwise; Otava's ``AnalyzedSeries.append``, its own incremental mode).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

import numpy as np
import ruptures as rpt
from otava.series import AnalysisOptions, Series

from fleetwise.analyze.changepoints import ChangePointConfig, IncrementalDetector, detect

DATA = Path(__file__).parents[1] / "tests" / "data" / "changepoints"
NOISE_SEED = 20260601
Detector = Callable[[np.ndarray], list[int]]


def fleetwise(config: ChangePointConfig) -> Detector:
    return lambda x: [cp.index for cp in detect(x, config)]


def otava(x: np.ndarray) -> list[int]:
    values = x.tolist()
    series = Series("bench", None, list(range(len(values))), {}, {"v": values}, {})
    return [int(cp.index) for cp in series.analyze(AnalysisOptions()).change_points["v"]]


def kernel_cpd(x: np.ndarray) -> list[int]:
    sigma = np.median(np.abs(np.diff(x) - np.median(np.diff(x)))) / (0.6745 * np.sqrt(2))
    z = (x - np.median(x)) / (sigma if sigma > 0 else 1.0)
    algo = rpt.KernelCPD(kernel="linear", min_size=3).fit(z)
    return [int(b) for b in algo.predict(pen=2 * np.log(len(z)))[:-1]]


METHODS: dict[str, Detector] = {
    "fleetwise (default)": fleetwise(ChangePointConfig()),
    "fleetwise (otava_compatible)": fleetwise(ChangePointConfig(otava_compatible=True)),
    "Otava 0.8 (defaults)": otava,
    "ruptures KernelCPD (linear, PELT)": kernel_cpd,
}


def scores(found: list[int], truth: list[int], tolerance: int) -> tuple[float, float, float]:
    unmatched, hits = sorted(found), 0
    for t in truth:
        near = [f for f in unmatched if abs(f - t) <= tolerance]
        if near:
            unmatched.remove(min(near, key=lambda f: abs(f - t)))
            hits += 1
    precision = hits / len(found) if found else 0.0
    recall = hits / len(truth)
    f1 = 2 * precision * recall / (precision + recall) if hits else 0.0
    return precision, recall, f1


def timed(method: Detector, xs: list[np.ndarray], repeat: int) -> tuple[list[list[int]], float]:
    """What ``method`` finds in each series, and the median wall time of one call."""
    times, found = [], []
    for x in xs:
        for _ in range(repeat):
            t0 = time.perf_counter()
            got = method(x)
            times.append(time.perf_counter() - t0)
        found.append(got)
    return found, statistics.median(times)


def append_ms(x: np.ndarray, last: int) -> dict[str, tuple[float, float]]:
    """Median and max milliseconds to append each of the last ``last`` points one by one."""
    out = {}
    for name, config in (
        ("fleetwise (default)", ChangePointConfig()),
        ("fleetwise (otava_compatible)", ChangePointConfig(otava_compatible=True)),
    ):
        det, times = IncrementalDetector(config, x[:-last]), []
        for v in x[-last:]:
            t0 = time.perf_counter()
            det.extend([v])
            times.append(time.perf_counter() - t0)
        out[name] = (1e3 * statistics.median(times), 1e3 * max(times))
    head = x[:-last].tolist()
    series = Series("bench", None, list(range(len(head))), {}, {"v": head}, {})
    analysed, times = series.analyze(AnalysisOptions()), []
    for i, v in enumerate(x[-last:].tolist()):
        t0 = time.perf_counter()
        analysed.append([len(head) + i], {"v": [v]}, {})
        times.append(time.perf_counter() - t0)
    out["Otava 0.8 (defaults)"] = (1e3 * statistics.median(times), 1e3 * max(times))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3, help="timed runs per method and input")
    ap.add_argument("--noise-series", type=int, default=1, help="20,000-point noise series")
    ap.add_argument("--append", type=int, default=200, help="points appended one by one")
    args = ap.parse_args()

    inputs: list[tuple[str, list[np.ndarray], list[int] | None]] = []
    for n in (5000, 20000):
        x = np.loadtxt(DATA / f"synthetic_{n}.csv", delimiter=",", skiprows=1)[:, 1]
        truth = json.loads((DATA / f"synthetic_{n}_truth.json").read_text())["change_indices"]
        inputs.append((f"synthetic_{n}", [x], truth))
    seeds = range(NOISE_SEED, NOISE_SEED + args.noise_series)
    noise = [np.random.default_rng(seed).normal(1000.0, 10.0, 20_000) for seed in seeds]
    label = "noise_20000" + (f" x {args.noise_series} seeds" if args.noise_series > 1 else "")
    inputs.append((label, noise, None))

    print(
        f"{datetime.now(UTC):%Y-%m-%d}, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, numpy {np.__version__}, "
        f"apache-otava {version('apache-otava')}, ruptures {version('ruptures')}"
    )
    print()
    print("| method | input | wall time (s) | found | P / R / F1 at +-5 | P / R / F1 at +-30 |")
    print("|---|---|---|---|---|---|")
    for label, xs, truth in inputs:
        for name, method in METHODS.items():
            found_each, wall = timed(method, xs, args.repeat)
            if truth is None:
                false = sum(len(f) for f in found_each)
                points = sum(len(x) for x in xs)
                cells = f"{1000 * false / points:.3f} false / 1000 | - | - |"
            else:
                found = found_each[0]
                s5, s30 = scores(found, truth, 5), scores(found, truth, 30)
                fmt = " / ".join
                cells = (
                    f"{len(found)} | {fmt(f'{v:.2f}' for v in s5)} | "
                    f"{fmt(f'{v:.2f}' for v in s30)} |"
                )
            print(f"| {name} | {label} | {wall:.3f} | {cells}")
    print()
    x20 = inputs[1][1][0]
    print(f"Appending one point to a {len(x20) - args.append:,}+ point history (synthetic_20000):")
    print()
    print("| method | median ms per append | max ms |")
    print("|---|---|---|")
    for name, (median, worst) in append_ms(x20, args.append).items():
        print(f"| {name} | {median:.2f} | {worst:.2f} |")


if __name__ == "__main__":
    main()
