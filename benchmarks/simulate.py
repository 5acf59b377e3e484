"""Queue simulation speed: fleetwise's simulator against a SimPy model of the same queue.

    .venv/bin/python benchmarks/simulate.py [--jobs 1000000] [--simpy-jobs 200000] [--repeat 3]

Workloads (seeded, drawn up front, the same arrays for both simulators):
- ``mmc``: single-GPU jobs, exponential durations (mean 1 s), Poisson arrivals, 64 GPUs at
  80% load (M/M/64);
- ``philly-pool``: real Philly (GPUs, duration) pairs (``tests/data/clusters/``), Poisson
  arrivals, 64 GPUs in one pool at 70% load, gang scheduling;
- ``philly-nodes``: the same jobs on 8 nodes of 8 GPUs (a job fits on one node).

fleetwise's time is the whole ``simulate`` call (list conversion, the simulation, waits and
percentiles); drawing the workloads is timed once, apart. Both simulate strict FIFO:
fleetwise's ``start_times(..., "fifo")`` and a SimPy 4 process
per job that waits for its arrival, takes ``gpus`` from a ``Container`` (SimPy serves gets
in order and stops at the first that cannot be met, i.e. head-of-line blocking) and puts
them back after its duration. SimPy has no notion of nodes, so it runs the pool workloads
only. Reported: wall time (median of ``--repeat``), jobs per second, the mean wait of each
and the largest difference in any job's wait between the two (they must agree).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable, Generator
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import simpy

from fleetwise.plan.simulate import (
    Cluster,
    Workload,
    arrival_rate_for_load,
    poisson_workload,
    simulate,
    start_times,
)

PHILLY = Path(__file__).parents[1] / "tests" / "data" / "clusters" / "philly_job_sizes.csv"


def workloads(n: int) -> dict[str, tuple[Workload, Cluster]]:
    rng = np.random.default_rng(0)
    mmc = Workload(
        np.cumsum(rng.exponential(1.0 / (0.8 * 64), n)),
        np.ones(n, dtype=np.int64),
        rng.exponential(1.0, n),
    )
    data = np.loadtxt(PHILLY, delimiter=",", skiprows=1)
    gpus, durations = data[:, 1].astype(np.int64), data[:, 0]
    rate = arrival_rate_for_load(0.7, 64, gpus * durations)
    philly = poisson_workload(gpus, durations, n, rate, seed=0)
    return {
        "mmc": (mmc, Cluster(64)),
        "philly-pool": (philly, Cluster(64)),
        "philly-nodes": (philly, Cluster(64, 8)),
    }


def simpy_starts(w: Workload, total_gpus: int) -> np.ndarray:
    env = simpy.Environment()
    pool = simpy.Container(env, capacity=total_gpus, init=total_gpus)
    starts = np.zeros(len(w.arrivals_s))

    def job(i: int, arrival: float, gpus: int, duration: float) -> Generator[Any, Any, None]:
        yield env.timeout(arrival - env.now)
        yield pool.get(gpus)
        starts[i] = env.now
        yield env.timeout(duration)
        yield pool.put(gpus)

    def source() -> Generator[Any, Any, None]:
        # one process per job, started at its arrival (not all at once: memory stays flat)
        for i, (a, g, d) in enumerate(
            zip(w.arrivals_s.tolist(), w.gpus.tolist(), w.durations_s.tolist(), strict=True)
        ):
            if a > env.now:
                yield env.timeout(a - env.now)
            env.process(job(i, a, g, d))

    env.process(source())
    env.run()
    return starts


def timed(fn: Callable[[], np.ndarray], repeat: int) -> tuple[float, np.ndarray]:
    times, out = [], np.zeros(0)
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1_000_000)
    parser.add_argument("--simpy-jobs", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(
        f"python {platform.python_version()}, numpy {np.__version__}, simpy "
        f"{version('simpy')}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}"
    )
    t0 = time.perf_counter()
    cases = workloads(args.jobs)
    print(f"drawing the workloads (NumPy): {time.perf_counter() - t0:.2f} s")
    print("| workload | simulator | jobs | wall s | jobs/s | mean wait s | max |wait diff| s |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for name, (w, cluster) in cases.items():
        # the whole ``simulate`` call: conversion, the simulation, waits and percentiles
        wall, _ = timed(lambda w=w, c=cluster: simulate(w, c).waits_s, args.repeat)
        waits = start_times(w, cluster, "fifo") - w.arrivals_s
        n = len(w.arrivals_s)
        print(
            f"| {name} | fleetwise | {n:,} | {wall:.2f} | {n / wall:,.0f} | {waits.mean():.4g} | |"
        )
        if cluster.node_gpus is not None:
            continue
        m = args.simpy_jobs
        head = Workload(w.arrivals_s[:m], w.gpus[:m], w.durations_s[:m])
        ours = start_times(head, cluster, "fifo") - head.arrivals_s
        swall, sstarts = timed(lambda h=head, c=cluster: simpy_starts(h, c.total_gpus), 1)
        theirs = sstarts - head.arrivals_s
        diff = float(np.abs(theirs - ours).max())
        print(
            f"| {name} | SimPy | {m:,} | {swall:.2f} | {m / swall:,.0f} | "
            f"{theirs.mean():.4g} | {diff:.2g} |"
        )


if __name__ == "__main__":
    main()
