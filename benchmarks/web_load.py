"""Dashboard latency with a big store: p50/p95 per page under a few concurrent clients.

    .venv/bin/python benchmarks/web_load.py [--runs 10000] [--results 3] [--requests 100]
        [--clients 4] [--keep DIR]

Fills a SQLite store with the tests' small seeded store (plan, KPIs, DORA, pipeline,
on-call, retros) plus ``--runs`` benchmark runs of ``--results`` series each, inserted in
bulk with SQLAlchemy core into the store's own tables; serves it with ``fleetwise serve``
(uvicorn on 127.0.0.1); then, per page and its JSON twin, sends ``--requests`` requests
from ``--clients`` concurrent httpx clients and reports p50/p95/max. The first request
of each page (which fills the dashboard's caches) is reported apart. Goal: p95 < 200 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import insert

sys.path.insert(0, str(Path(__file__).parents[1] / "tests" / "integration"))

from web_seed import seed

from fleetwise.store import Store
from fleetwise.store.schema import ResultRow, RunRow, RunTagRow
from fleetwise.store.store import params_hash

PAGES = [
    "/overview",
    "/ledger",
    "/benchmarks",
    "/diagnosis",
    "/plan",
    "/capacity",
    "/process",
    "/retros",
]
GOAL_P95_MS = 200.0


def fill(url: str, runs: int, per_run: int) -> float:
    """Add ``runs`` completed runs of ``per_run`` results each; return seconds taken."""
    start = time.perf_counter()
    store = Store(url)
    env = store.save_environment(
        {"host": "load", "cpu": {"model": "Load CPU", "cores": 16}, "gpus": []}, "webload"
    )
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    with store.engine.begin() as conn:
        first = conn.execute(insert(RunRow).returning(RunRow.id), [_run(t0, env)]).scalar_one()
        conn.execute(insert(RunRow), [_run(t0 + timedelta(hours=i), env) for i in range(1, runs)])
        ids = range(first, first + runs)
        conn.execute(
            insert(RunTagRow), [{"run_id": r, "tag": f"batch-{(r - first) // 100}"} for r in ids]
        )
        rows = [
            _result(r, k, env, t0 + timedelta(hours=r - first)) for r in ids for k in range(per_run)
        ]
        for i in range(0, len(rows), 5000):
            conn.execute(insert(ResultRow), rows[i : i + 5000])
    store.close()
    return time.perf_counter() - start


def _run(started: datetime, env: int) -> dict[str, object]:
    return {
        "suite": "load",
        "status": "completed",
        "executor": "local",
        "started_at": started,
        "finished_at": started + timedelta(minutes=5),
        "environment_id": env,
        "config": {},
        "host": "load",
        "pid": None,
        "end_state": {},
    }


def _result(run_id: int, k: int, env: int, when: datetime) -> dict[str, object]:
    params = {"size": 256 * (k + 1)}
    value = 100.0 * (k + 1) * (1.1 if run_id % 1000 > 500 else 1.0) + (run_id % 7)
    return {
        "run_id": run_id,
        "case_key": f"case-{k}",
        "case_index": k,
        "benchmark": "compute.gemm",
        "layer": "compute",
        "params": params,
        "params_hash": params_hash(params),
        "metric": "gflops",
        "unit": "GFLOP/s",
        "direction": "higher",
        "status": "ok",
        "samples": [value] * 5,
        "n": 5,
        "median": value,
        "mean": value,
        "stdev": 0.5,
        "iqr": 0.5,
        "ci_low": value - 0.5,
        "ci_high": value + 0.5,
        "cv": 0.005,
        "min": value - 1,
        "max": value + 1,
        "warnings": [],
        "calibration": {},
        "environment_id": env,
        "started_at": when,
        "finished_at": when,
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def serve(db: Path, port: int) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "fleetwise", "serve", "--db", str(db), "--port", str(port)]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")}
    proc = subprocess.Popen(cmd, env=env, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/openapi.json").status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the dashboard did not start within 60 s")


async def measure(base: str, path: str, requests: int, clients: int) -> list[float]:
    """Latencies in ms of ``requests`` GETs of ``path`` from ``clients`` clients at once."""
    todo = iter(range(requests))
    out: list[float] = []

    async def client() -> None:
        async with httpx.AsyncClient(base_url=base, timeout=30) as c:
            for _ in todo:
                t = time.perf_counter()
                r = await c.get(path)
                out.append((time.perf_counter() - t) * 1000)
                if r.status_code != 200:
                    raise SystemExit(f"{path}: HTTP {r.status_code}")

    await asyncio.gather(*(client() for _ in range(clients)))
    return out


def _pct(values: list[float], q: int) -> float:
    """The q-th percentile (inclusive method: within the measured range)."""
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10_000)
    ap.add_argument("--results", type=int, default=3, help="Results (series) per run.")
    ap.add_argument("--requests", type=int, default=100, help="Requests per page.")
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--keep", type=Path, help="Folder to keep the store in.")
    args = ap.parse_args()
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
        return run(args, args.keep)
    with tempfile.TemporaryDirectory(prefix="fleetwise-webload-") as tmp:
        return run(args, Path(tmp))


def run(args: argparse.Namespace, folder: Path) -> int:
    db = folder / "fleetwise.db"
    if db.exists():
        db.unlink()
    url = seed(db)
    took = fill(url, args.runs, args.results)
    print(f"store: {args.runs:,} runs x {args.results} results added in {took:.1f} s ({db})")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs")
    port = _free_port()
    proc = serve(db, port)
    base = f"http://127.0.0.1:{port}"
    failed = []
    try:
        print(f"{'page':<18}{'first ms':>10}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}  goal")
        for page in PAGES:
            for path in (page, f"{page}.json"):
                t = time.perf_counter()
                httpx.get(base + path, timeout=120).raise_for_status()
                first = (time.perf_counter() - t) * 1000
                lat = asyncio.run(measure(base, path, args.requests, args.clients))
                p95 = _pct(lat, 95)
                ok = p95 < GOAL_P95_MS
                failed += [] if ok else [path]
                print(
                    f"{path:<18}{first:>10.0f}{_pct(lat, 50):>9.1f}{p95:>9.1f}"
                    f"{max(lat):>9.1f}  {'ok' if ok else 'MISSED'}"
                )
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    print(
        f"{args.clients} concurrent clients, {args.requests} requests per page; goal p95 < "
        f"{GOAL_P95_MS:.0f} ms: " + ("met" if not failed else f"missed on {', '.join(failed)}")
    )
    return 0 if not failed else 1


if __name__ == "__main__":
    sys.exit(main())
