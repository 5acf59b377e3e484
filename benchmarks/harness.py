"""Measure the harness itself: overhead against a bare loop, and noise against pyperf.

    .venv/bin/python benchmarks/harness.py [--size 512] [--runs 5] [--markdown]

(a) Overhead: compute.gemm through the full runner (worker process, calibration, store)
    versus the same ``torch.matmul(a, b, out=c)`` timed in a bare loop in this process
    with the same loop count and sample count. Ratio = runner / bare (goal >= 0.97).
(b) Noise: the same case run ``--runs`` times as separate fleetwise runs; CV of the run
    medians. Side by side, pyperf (``bench_time_func`` over the same matmul) run the same
    number of times as separate invocations; CV of their means.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from fleetwise.collect.runner import run_suite
from fleetwise.collect.suite import Case, Suite, case_key
from fleetwise.store import Store

PYPERF_SCRIPT = """
import pyperf, time, torch
n = {size}
a, b, c = torch.randn(n, n), torch.randn(n, n), torch.empty(n, n)
def bench(loops):
    t0 = time.perf_counter()
    for _ in range(loops):
        torch.matmul(a, b, out=c)
    return time.perf_counter() - t0
runner = pyperf.Runner(processes={processes}, values={values}, warmups=1, min_time={min_time})
runner.bench_time_func("gemm", bench)
"""


def gemm_case(size: int, repeat: int, min_sample_time: float) -> Suite:
    params = {"size": size, "dtype": "fp32", "device": "cpu"}
    case = Case(
        index=0,
        key=case_key(0, "compute.gemm", params),
        benchmark="compute.gemm",
        params=params,
        warmup=1,
        repeat=repeat,
        min_sample_time=min_sample_time,
        timeout=300,
    )
    return Suite(name="harness-gemm", source="benchmarks/harness.py", cases=[case])


def runner_tflops(store: Store, suite: Suite, workdir: Path) -> tuple[float, int, float]:
    outcome = run_suite(store, suite, workdir=workdir)
    (result,) = outcome.results
    assert result.summary is not None, result.error
    return result.summary.median, int(result.calibration["loops"]), result.summary.cv


def bare_tflops(size: int, loops: int, repeat: int) -> float:
    a, b, c = torch.randn(size, size), torch.randn(size, size), torch.empty(size, size)
    for _ in range(loops):  # warm-up, as the runner's one warm-up sample
        torch.matmul(a, b, out=c)
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(loops):
            torch.matmul(a, b, out=c)
        samples.append(2 * size**3 / ((time.perf_counter() - t0) / loops) / 1e12)
    return statistics.median(samples)


def pyperf_mean(size: int, tmp: Path, i: int, min_time: float) -> tuple[float, float]:
    script = tmp / "pyperf_gemm.py"
    script.write_text(PYPERF_SCRIPT.format(size=size, processes=4, values=5, min_time=min_time))
    out = tmp / f"pyperf-{i}.json"
    subprocess.run([sys.executable, str(script), "--quiet", "-o", str(out)], check=True)
    doc = json.loads(out.read_text())
    values = [v for run in doc["benchmarks"][0]["runs"] for v in run.get("values", [])]
    tflops = [2 * size**3 / v / 1e12 for v in values]
    return statistics.mean(tflops), statistics.stdev(tflops) / statistics.mean(tflops)


def cv(xs: list[float]) -> float:
    return statistics.stdev(xs) / statistics.mean(xs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=10)
    ap.add_argument("--min-sample-time", type=float, default=0.1)
    ap.add_argument("--markdown", action="store_true", help="print a table for the README")
    args = ap.parse_args()
    suite = gemm_case(args.size, args.repeat, args.min_sample_time)
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        store = Store(f"sqlite:///{tmp / 'harness.db'}")
        medians, within, ratios = [], [], []
        pyperf_means, pyperf_within = [], []
        for i in range(args.runs):
            med, loops, run_cv = runner_tflops(store, suite, tmp / "work")
            bare = bare_tflops(args.size, loops, args.repeat)
            medians.append(med)
            within.append(run_cv)
            ratios.append(med / bare)
            mean, p_cv = pyperf_mean(args.size, tmp, i, args.min_sample_time)
            pyperf_means.append(mean)
            pyperf_within.append(p_cv)
            print(
                f"run {i + 1}: fleetwise {med:.4f} TFLOP/s (CV {run_cv:.1%}), bare {bare:.4f} "
                f"(ratio {med / bare:.3f}), pyperf {mean:.4f} (CV {p_cv:.1%})",
                flush=True,
            )
        store.close()
    ratio = statistics.median(ratios)
    rows = [
        ("overhead: runner / bare loop (median of runs)", f"{ratio:.3f}", ">= 0.97"),
        ("fleetwise: CV of run medians", f"{cv(medians):.2%}", ""),
        ("fleetwise: median within-run CV", f"{statistics.median(within):.2%}", ""),
        ("pyperf: CV of run means", f"{cv(pyperf_means):.2%}", ""),
        ("pyperf: median within-run CV", f"{statistics.median(pyperf_within):.2%}", ""),
        ("fleetwise median TFLOP/s (mean of runs)", f"{statistics.mean(medians):.4f}", ""),
        ("pyperf mean TFLOP/s (mean of runs)", f"{statistics.mean(pyperf_means):.4f}", ""),
    ]
    if args.markdown:
        print("\n| figure | value | goal |\n|---|---|---|")
        for name, value, goal in rows:
            print(f"| {name} | {value} | {goal} |")
    else:
        for name, value, goal in rows:
            print(f"{name:48s} {value:>10s} {goal}")


if __name__ == "__main__":
    main()
