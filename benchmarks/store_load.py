"""Ingest rate of the results store: SQLite (the default) and PostgreSQL, in one run.

    .venv/bin/python benchmarks/store_load.py [--results 400] [--samples 1000] [--batch 1]
        [--writers 1] [--postgres URL]

Each result carries ``--samples`` raw samples and their summary, written through
``Store.add_results`` exactly as the runner does: one transaction per call, ``--batch``
results per call (1 = one commit per case, the runner's worst case). ``--writers``
processes write at once. Reported: results/s and samples/s (the goal is >= 100,000
samples/s into SQLite), and the time per commit. Without ``--postgres``, a private server
is started from Debian's ``postgresql`` when it is installed (as the tests do).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))

from fleetwise.models import ResultRecord
from fleetwise.stats import summarize
from fleetwise.store import Store


def _records(worker: int, n: int, samples: int) -> list[ResultRecord]:
    base = [1.0 + (k % 97) / 1000 for k in range(samples)]
    summary = summarize(base)
    return [
        ResultRecord(
            case_key=f"{worker}-{i:06d}",
            case_index=i,
            benchmark="compute.gemm",
            layer="compute",
            params={"size": 1024, "worker": worker},
            metric="tflops",
            unit="TFLOP/s",
            direction="higher",
            samples=base,
            summary=summary,
        )
        for i in range(n)
    ]


def _write(url: str, worker: int, n: int, samples: int, batch: int, out: mp.Queue) -> None:  # type: ignore[type-arg]
    store = Store(url)
    run = store.create_run("load", {"worker": worker})
    records = _records(worker, n, samples)
    commits = []
    start = time.perf_counter()
    for i in range(0, n, batch):
        t = time.perf_counter()
        store.add_results(run.id, records[i : i + batch])
        commits.append(time.perf_counter() - t)
    out.put((time.perf_counter() - start, commits))
    store.close()


def measure(url: str, results: int, samples: int, batch: int, writers: int) -> dict[str, float]:
    Store(url).close()  # create and migrate before the clock starts
    ctx = mp.get_context("spawn")
    q: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
    per = results // writers
    procs = [
        ctx.Process(target=_write, args=(url, w, per, samples, batch, q)) for w in range(writers)
    ]
    start = time.perf_counter()
    for p in procs:
        p.start()
    got = [q.get(timeout=600) for _ in procs]
    for p in procs:
        p.join()
    wall = time.perf_counter() - start
    busy = max(g[0] for g in got)
    commits = [c for g in got for c in g[1]]
    total = per * writers
    return {
        "results_s": total / busy,
        "samples_s": total * samples / busy,
        "commit_ms_p50": statistics.median(commits) * 1e3,
        "commit_ms_p95": statistics.quantiles(commits, n=20)[-1] * 1e3,
        "wall_s": wall,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--results", type=int, default=400)
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--writers", type=int, default=1)
    ap.add_argument("--postgres", help="a PostgreSQL URL (default: a private server)")
    args = ap.parse_args()
    print(
        f"{datetime.now(UTC):%Y-%m-%d}, {platform.machine()}, {mp.cpu_count()} cores, "
        f"{args.results} results x {args.samples} samples, batch {args.batch}, "
        f"{args.writers} writer(s)\n"
    )
    print("| store | results/s | samples/s | commit p50 ms | commit p95 ms |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        urls = [("SQLite (WAL)", f"sqlite:///{Path(tmp) / 'load.db'}")]
        server = None
        if args.postgres:
            urls.append(("PostgreSQL", args.postgres))
        else:
            from pg_server import start_server

            server, why = start_server()
            if server is None:
                print(f"(PostgreSQL skipped: {why})")
            else:
                urls.append(("PostgreSQL (private test server, fsync off)", server.new_database()))
        try:
            for name, url in urls:
                m = measure(url, args.results, args.samples, args.batch, args.writers)
                print(
                    f"| {name} | {m['results_s']:,.0f} | {m['samples_s']:,.0f} | "
                    f"{m['commit_ms_p50']:.2f} | {m['commit_ms_p95']:.2f} |"
                )
        finally:
            if server is not None:
                server.stop()


if __name__ == "__main__":
    main()
