"""Node-level fragmentation speed: ``analyze.fragmentation.history`` on a placed job log.

    .venv/bin/python benchmarks/fragmentation.py [--jobs 200000] [--nodes 512] [--repeat 3]

The log is built first (not timed): real Philly (GPUs, duration) pairs
(``tests/data/clusters/philly_job_sizes.csv``), Poisson arrivals at 70% load, placed FIFO
on ``--nodes`` nodes of 8 GPUs by the rule the analysis assumes (one node when the job
fits on one, best fit; else whole free nodes plus the remainder). Jobs wait in order, so
the log has waits and fragmentation. Timed: the whole ``history`` call (event list, the
sweep with per-pool free-GPU histograms, the blocked-wait integrals), median of
``--repeat``. Reported: wall time, jobs per second, and the figures it found.
"""

from __future__ import annotations

import argparse
import heapq
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from fleetwise.analyze.fragmentation import History, history
from fleetwise.models import JobRecord, NodeRecord

SIZES = Path(__file__).parents[1] / "tests" / "data" / "clusters" / "philly_job_sizes.csv"
NODE_GPUS = 8


def _place(free: list[int], gpus: int) -> dict[int, int] | None:
    whole, rest = divmod(gpus, NODE_GPUS) if gpus > NODE_GPUS else (0, gpus)
    full = [n for n, f in enumerate(free) if f == NODE_GPUS]
    if len(full) < whole:
        return None
    taken = {n: NODE_GPUS for n in full[:whole]}
    if rest:
        fitting = [(f, n) for n, f in enumerate(free) if f >= rest and n not in taken]
        if not fitting:
            return None
        taken[min(fitting)[1]] = rest
    return taken


def build_log(n_jobs: int, n_nodes: int, seed: int = 7) -> list[JobRecord]:
    rng = np.random.default_rng(seed)
    table = np.loadtxt(SIZES, delimiter=",", skiprows=1)
    table = table[(table[:, 1] >= 1) & (table[:, 1] <= n_nodes * NODE_GPUS)]
    pick = table[rng.integers(0, len(table), n_jobs)]
    durations, gpus = pick[:, 0], pick[:, 1].astype(int)
    rate = 0.7 * n_nodes * NODE_GPUS / float((durations * gpus).mean())
    arrivals = np.cumsum(rng.exponential(1 / rate, n_jobs))
    free = [NODE_GPUS] * n_nodes
    running: list[tuple[float, int, dict[int, int]]] = []
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    jobs, now = [], 0.0
    for k in range(n_jobs):
        now = max(now, float(arrivals[k]))
        placed = _place(free, int(gpus[k]))
        while placed is None:  # FIFO: wait for ends until the head fits
            end, _, hosts = heapq.heappop(running)
            for n, g in hosts.items():
                free[n] += g
            now = max(now, end)
            placed = _place(free, int(gpus[k]))
        for n, g in placed.items():
            free[n] -= g
        heapq.heappush(running, (now + float(durations[k]), k, placed))
        jobs.append(
            JobRecord(
                job_id=str(k),
                submit_time=t0 + timedelta(seconds=float(arrivals[k])),
                start_time=t0 + timedelta(seconds=now),
                end_time=t0 + timedelta(seconds=now + float(durations[k])),
                gpus=int(gpus[k]),
                placement={f"n{n:04d}": g for n, g in placed.items()},
            )
        )
    return jobs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=200_000)
    parser.add_argument("--nodes", type=int, default=512)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    nodes = [NodeRecord(name=f"n{n:04d}", gpus=NODE_GPUS) for n in range(args.nodes)]
    t = time.perf_counter()
    jobs = build_log(args.jobs, args.nodes)
    print(f"log: {len(jobs):,} jobs on {args.nodes} nodes built in {time.perf_counter() - t:.1f} s")
    times = []
    found: History | str = ""
    for _ in range(args.repeat):
        t = time.perf_counter()
        found = history(nodes, jobs)
        times.append(time.perf_counter() - t)
    assert isinstance(found, History), found
    wall = statistics.median(times)
    print(f"history: {wall:.2f} s median of {args.repeat}, {len(jobs) / wall:,.0f} jobs/s")
    print(
        f"over {found.hours:,.0f} h: stranded {found.stranded_gpu_hours:,.0f} GPU-h, "
        f"{found.blocked_stranded_gpu_hours:,.0f} while blocked; {found.blocked_jobs:,} jobs "
        f"blocked by placement for {found.blocked_job_hours:,.0f} job-h; "
        f"mean free {found.mean_free_gpus:.1f} GPUs, mean largest gang "
        f"{found.mean_largest_gang:.1f}"
    )


if __name__ == "__main__":
    main()
