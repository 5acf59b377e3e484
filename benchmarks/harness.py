"""Measure the harness itself: overhead against a bare loop, and noise against pyperf.

    .venv/bin/python benchmarks/harness.py [--runs 5] [--processes 10] [--ci-target 0.01]
        [--threads 1] [--only gemm-256 ...] [--markdown]

Four cases, each run ``--runs`` times as separate invocations in one session, interleaved
(run 1 of every case and tool, then run 2, ...), so slow drifts of the machine hit every
column alike:

- ``gemm-256`` and ``gemm-1024``: ``compute.gemm`` fp32 on the CPU, against pyperf's
  ``bench_time_func`` over the same ``torch.matmul(a, b, out=c)``;
- ``copy``: ``compute.membw``'s copy (``c.copy_(b)`` of 128 MiB), against the same copy;
- ``dispatch``: ``orchestration.dispatch``'s round-trip latency of a task through a
  2-process spawn pool (Python-bound), against the same round trip.

Per case and tool, the figure is the CV of the run medians (fleetwise) or the run means
(pyperf, which reports the mean). fleetwise is run twice per round: with one worker
process (the default until part 1 of issue 19 is measured) and with ``--processes``
workers (with ``--ci-target``: at least that many, adaptively); pyperf runs with
``--pyperf-processes`` (default: ``--processes``), the same values per process and warm-ups.
``--threads`` fixes torch's thread count in both tools and in the bare loop.
For GEMM the overhead is the runner's median over a bare loop in this process with the
same loop count (goal >= 0.97).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray

from fleetwise.collect.runner import run_suite
from fleetwise.collect.suite import Case, Suite, case_key
from fleetwise.stats import bootstrap_ci, mlperf_aggregate
from fleetwise.store import Store

Arr = NDArray[np.float64]

#: Bootstrap resamples and seed of the share and ratio tables.
BOOT = 4000
SEED = 20261207

PYPERF_PRELUDE = """
import pyperf, time
{threads}
runner = pyperf.Runner(processes={processes}, values={values}, warmups=1, min_time={min_time})
"""

PYPERF_GEMM = """
import torch
n = {size}
a, b, c = torch.randn(n, n), torch.randn(n, n), torch.empty(n, n)
def bench(loops):
    t0 = time.perf_counter()
    for _ in range(loops):
        torch.matmul(a, b, out=c)
    return time.perf_counter() - t0
runner.bench_time_func("case", bench)
"""

PYPERF_COPY = """
import torch
n = {elements}
b, c = torch.empty(n).fill_(2.0), torch.empty(n).fill_(0.0)
def bench(loops):
    t0 = time.perf_counter()
    for _ in range(loops):
        c.copy_(b)
    return time.perf_counter() - t0
runner.bench_time_func("case", bench)
"""

# One round trip per loop, as dispatch's latency samples; the pool lives as long as the
# worker process (pyperf's worker runs the whole benchmark in it).
PYPERF_DISPATCH = """
import concurrent.futures, multiprocessing
from fleetwise.collect.benchmarks.orchestration import echo_task
if __name__ == "__main__":
    pool = concurrent.futures.ProcessPoolExecutor(
        max_workers=2, mp_context=multiprocessing.get_context("spawn"))
    for f in [pool.submit(echo_task, i) for i in range(20)]:
        f.result()
    def bench(loops):
        t0 = time.perf_counter()
        for i in range(loops):
            pool.submit(echo_task, i).result()
        return time.perf_counter() - t0
    runner.bench_time_func("case", bench)
"""


@dataclass
class HarnessCase:
    """One row of the table: a fleetwise case and the same work as a pyperf script."""

    label: str
    benchmark: str
    params: dict[str, Any]
    metric: str
    pyperf_body: str
    #: from pyperf's seconds per loop to the fleetwise metric's unit
    convert: Callable[[float], float]
    bare: Callable[[int, int], float] | None = None
    fleet_1: list[float] = field(default_factory=list)
    fleet_p: list[float] = field(default_factory=list)
    pyperf: list[float] = field(default_factory=list)
    ratios: list[float] = field(default_factory=list)
    stops: list[str] = field(default_factory=list)
    #: per run, the several-worker column's per-process medians, and pyperf's per-process
    #: means, to compare other run centres over the very same runs (``--save``, the
    #: estimator table)
    fleet_p_medians: list[list[float]] = field(default_factory=list)
    pyperf_means: list[list[float]] = field(default_factory=list)


def gemm_flops(size: int) -> Callable[[float], float]:
    return lambda s: 2 * size**3 / s / 1e12


def bare_gemm(size: int) -> Callable[[int, int], float]:
    def run(loops: int, repeat: int) -> float:
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

    return run


def cases() -> list[HarnessCase]:
    copy_mib = 128
    elements = copy_mib * (1 << 20) // 4
    out = []
    for size in (256, 1024):
        out.append(
            HarnessCase(
                label=f"gemm-{size}",
                benchmark="compute.gemm",
                params={"size": size, "dtype": "fp32", "device": "cpu"},
                metric="tflops",
                pyperf_body=PYPERF_GEMM.format(size=size),
                convert=gemm_flops(size),
                bare=bare_gemm(size),
            )
        )
    out.append(
        HarnessCase(
            label=f"copy-{copy_mib}MiB",
            benchmark="compute.membw",
            params={"size_mib": copy_mib, "device": "cpu"},
            metric="copy",
            pyperf_body=PYPERF_COPY.format(elements=elements),
            convert=lambda s: 2 * 4 * elements / s / 1e9,
        )
    )
    out.append(
        HarnessCase(
            label="dispatch",
            benchmark="orchestration.dispatch",
            params={"workers": 2, "tasks": 100},
            metric="latency_p50",
            pyperf_body=PYPERF_DISPATCH,
            convert=lambda s: s * 1e6,
        )
    )
    return out


def suite_of(hc: HarnessCase, args: argparse.Namespace, processes: int) -> Suite:
    torch_case = hc.benchmark.startswith("compute.")
    params = {**hc.params, **({"threads": args.threads} if args.threads and torch_case else {})}
    case = Case(
        index=0,
        key=case_key(0, hc.benchmark, params),
        benchmark=hc.benchmark,
        params=params,
        warmup=1,
        repeat=args.values,
        min_sample_time=args.min_sample_time,
        timeout=600,
        processes=processes,
        ci_target=args.ci_target if processes > 1 else None,
        max_processes=args.max_processes,
        budget=args.budget,
    )
    return Suite(name=f"harness-{hc.label}", source="benchmarks/harness.py", cases=[case])


def fleetwise_run(
    store: Store, hc: HarnessCase, suite: Suite, workdir: Path
) -> tuple[float, dict[str, Any]]:
    outcome = run_suite(store, suite, workdir=workdir)
    result = next(r for r in outcome.results if r.metric == hc.metric)
    assert result.summary is not None, result.error
    return result.summary.median, result.calibration


def pyperf_run(
    hc: HarnessCase, args: argparse.Namespace, tmp: Path, i: int
) -> tuple[float, list[float]]:
    """pyperf's figure (the mean of every value) and each worker process's mean."""
    script = tmp / f"pyperf_{hc.label}.py"
    threads = f"import torch; torch.set_num_threads({args.threads})" if args.threads else ""
    prelude = PYPERF_PRELUDE.format(
        processes=args.pyperf_processes,
        values=args.values,
        min_time=args.min_sample_time,
        threads=threads,
    )
    script.write_text(prelude + hc.pyperf_body)
    out = tmp / f"pyperf-{hc.label}-{i}.json"
    subprocess.run(
        [sys.executable, str(script), "--quiet", "-o", str(out)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    doc = json.loads(out.read_text())
    runs = [[hc.convert(v) for v in r.get("values", [])] for r in doc["benchmarks"][0]["runs"]]
    runs = [r for r in runs if r]  # the calibration run has warm-ups only
    return statistics.mean(v for r in runs for v in r), [statistics.mean(r) for r in runs]


def cv(xs: list[float]) -> float:
    return statistics.stdev(xs) / statistics.mean(xs) if len(xs) > 1 else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--processes", type=int, default=10, help="workers per case (both tools)")
    ap.add_argument("--pyperf-processes", type=int, default=None, help="default: --processes")
    ap.add_argument("--values", type=int, default=3, help="samples per worker (both tools)")
    ap.add_argument("--min-sample-time", type=float, default=0.1)
    ap.add_argument("--ci-target", type=float, default=None, help="adaptive fleetwise column")
    ap.add_argument("--max-processes", type=int, default=30)
    ap.add_argument("--budget", type=float, default=None)
    ap.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch threads in the torch cases, both tools (1 avoids OpenMP spinning on a "
        "shared, oversubscribed machine)",
    )
    ap.add_argument("--only", nargs="*", help="case labels to run (default: all)")
    ap.add_argument("--markdown", action="store_true", help="print a table for the README")
    ap.add_argument("--save", type=Path, help="write every run's figures to this JSON file")
    ap.add_argument(
        "--report", type=Path, help="print the tables of a --save file again; measure nothing"
    )
    args = ap.parse_args()
    args.pyperf_processes = args.pyperf_processes or args.processes
    todo = [c for c in cases() if not args.only or c.label in args.only]
    if args.report:
        saved = {d["label"]: d for d in json.loads(args.report.read_text())}
        todo = [c for c in todo if c.label in saved]
        for hc in todo:
            for k, v in saved[hc.label].items():
                if isinstance(v, list):
                    setattr(hc, k, v)
        args.runs = len(todo[0].fleet_p) if todo else 0
        report(todo, args, float("nan"))
        return
    if args.threads:
        torch.set_num_threads(args.threads)  # the bare loop, as the workers
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        store = Store(f"sqlite:///{tmp / 'harness.db'}")
        for i in range(args.runs):
            for hc in todo:
                one, cal = fleetwise_run(store, hc, suite_of(hc, args, 1), tmp / "work")
                many, cal_p = fleetwise_run(
                    store, hc, suite_of(hc, args, args.processes), tmp / "work"
                )
                pyperf, pyperf_means = pyperf_run(hc, args, tmp, i)
                hc.fleet_1.append(one)
                hc.fleet_p.append(many)
                hc.pyperf.append(pyperf)
                hc.fleet_p_medians.append(list(cal_p.get("process_medians", [many])))
                hc.pyperf_means.append(pyperf_means)
                hc.stops.append(f"{cal_p.get('stopped_by')}@{cal_p.get('processes')}")
                load = os.getloadavg()[0]
                line = f"run {i + 1} {hc.label} (load {load:.1f}): 1 proc {one:.4g}, "
                line += f"{args.processes}+ procs {many:.4g} ({hc.stops[-1]}), pyperf {pyperf:.4g}"
                if hc.bare is not None:
                    loops = int(cal.get("loops", 1))
                    ratio = one / hc.bare(loops, args.values)
                    hc.ratios.append(ratio)
                    line += f", runner/bare {ratio:.3f}"
                print(line, flush=True)
        store.close()
    report(todo, args, time.monotonic() - started)
    if args.save:
        kept = [{k: v for k, v in vars(hc).items() if not callable(v)} for hc in todo]
        args.save.write_text(json.dumps(kept))


def report(todo: list[HarnessCase], args: argparse.Namespace, elapsed: float) -> None:
    p = f"{args.processes}+ procs, CI {args.ci_target:.0%}" if args.ci_target else args.processes
    p = f"{p} procs" if not args.ci_target else p
    head = ["case", "fleetwise 1 proc", f"fleetwise {p}", f"pyperf {args.pyperf_processes} procs"]
    head += ["runner/bare", "fleetwise <= pyperf"]
    rows = []
    for hc in todo:
        ratio = f"{statistics.median(hc.ratios):.3f}" if hc.ratios else "-"
        ok = "yes" if cv(hc.fleet_p) <= cv(hc.pyperf) else "no"
        rows.append(
            [
                hc.label,
                f"{cv(hc.fleet_1):.2%}",
                f"{cv(hc.fleet_p):.2%}",
                f"{cv(hc.pyperf):.2%}",
                ratio,
                ok,
            ]
        )
    print(f"\nCV of run medians (fleetwise) / run means (pyperf), {args.runs} runs each, ")
    print(f"{args.values} values per process, min_time {args.min_sample_time} s; {elapsed:.0f} s")
    table(head, rows, args.markdown)
    for hc in todo:
        print(f"{hc.label}: stops {', '.join(hc.stops)}")
    centres(todo, args)
    shares(todo, args)


def table(head: list[str], rows: list[list[str]], markdown: bool) -> None:
    if markdown:
        print("| " + " | ".join(head) + " |")
        print("|" + "---|" * len(head))
        for row in rows:
            print("| " + " | ".join(row) + " |")
        return
    widths = [max(len(h), *(len(r[k]) for r in rows)) for k, h in enumerate(head)]
    for row in [head, *rows]:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))


#: Run centres over the same per-process figures: which statistic, not which tool, makes
#: a column steadier.
CENTRES: dict[str, Callable[[list[float]], float]] = {
    "median": statistics.median,
    "olympic mean": mlperf_aggregate,
    "mean": statistics.mean,
}


def centres(todo: list[HarnessCase], args: argparse.Namespace) -> None:
    head = ["case", *(f"fleetwise {k}" for k in CENTRES), *(f"pyperf {k}" for k in CENTRES)]
    print(
        f"\nCV over the {args.runs} runs of other run centres: over fleetwise's per-process "
        "medians, over pyperf's per-process means"
    )
    rows = []
    for hc in todo:
        row = [hc.label]
        for runs in (hc.fleet_p_medians, hc.pyperf_means):
            row += [f"{cv([f(r) for r in runs]):.2%}" for f in CENTRES.values()]
        rows.append(row)
    table(head, rows, args.markdown)


def own_share(runs: list[list[float]], centre: Callable[[Arr], Arr]) -> float:
    """The workers' own part of a run's spread: the bootstrap standard error of the run's
    centre over its processes, relative to it, as the root mean square over the runs."""
    rng = np.random.default_rng(SEED)
    out = []
    for r in runs:
        x = np.asarray(r, dtype=float)
        boot = centre(x[rng.integers(0, x.size, size=(BOOT, x.size))])
        out.append((float(np.std(boot)) / abs(float(centre(x[None, :])[0]))) ** 2)
    return math.sqrt(statistics.mean(out))


def ratio_ci(fleet: list[float], pyperf: list[float]) -> tuple[float, float]:
    """95% CI of CV(fleetwise) / CV(pyperf), resampling rounds (both tools' runs of a round
    together, so a slow phase of the machine stays paired)."""
    f, p = np.asarray(fleet), np.asarray(pyperf)

    def ratio(rounds: Arr) -> Arr:
        idx = rounds.astype(int)
        cvs = [np.std(x[idx], axis=1, ddof=1) / np.mean(x[idx], axis=1) for x in (f, p)]
        # A resample of one round repeated has no spread: no ratio to speak of.
        out: Arr = np.full_like(cvs[0], np.inf)
        np.divide(cvs[0], cvs[1], out=out, where=cvs[1] > 0)
        return out

    # Too few rounds leave many resamples without a ratio: the upper bound is then unbounded.
    with np.errstate(invalid="ignore"):
        return bootstrap_ci(np.arange(f.size, dtype=float), ratio, resamples=BOOT, seed=SEED)


def shares(todo: list[HarnessCase], args: argparse.Namespace) -> None:
    """Where the run-to-run spread comes from: the workers (their own share) or the machine
    (the rest), and how sure the table's verdict is."""
    head = ["case", "fleetwise own share", "pyperf own share", "CV ratio f/p", "95% CI (rounds)"]
    print(
        f"\nThe workers' own share of a run's spread ({BOOT:,} bootstrap resamples of the "
        "processes of each run, RMS over runs) and the CV ratio with a paired bootstrap CI"
    )
    rows = []
    for hc in todo:
        low, high = ratio_ci(hc.fleet_p, hc.pyperf)
        row = [
            hc.label,
            f"{own_share(hc.fleet_p_medians, lambda a: np.median(a, axis=-1)):.2%}",
            f"{own_share(hc.pyperf_means, lambda a: np.mean(a, axis=-1)):.2%}",
            f"{cv(hc.fleet_p) / cv(hc.pyperf):.2f}",
            f"{low:.2f}-{high:.2f}" if math.isfinite(high) else f"{low:.2f}-unbounded",
        ]
        rows.append(row)
    table(head, rows, args.markdown)


if __name__ == "__main__":
    main()
