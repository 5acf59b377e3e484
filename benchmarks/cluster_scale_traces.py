"""``cluster_scale.py --traces``: Alibaba 2023 pods and Philly jobs imported streamed
(DuckDB, ``jobs_stream_alibaba.py`` / ``jobs_stream_philly.py``) and through the record
parser (the path before: ``read_jobs`` then ``Store.add_jobs``), side by side.

The logs are generated (seeded) in the traces' shapes: pods with creation, scheduled and
deletion offsets over 60 days, 0-8 GPUs, QoS classes and pod phases as in
``cluster-trace-gpu-v2023``; Philly jobs with one to three attempts over one to four
machines (``detail``), statuses as in ``cluster_job_log``. Each import runs as its own
process into a fresh SQLite store, with wall time and peak RSS (``measure``).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import orjson
import polars as pl

RECORD_PATH = (
    "import sys\n"
    "from pathlib import Path\n"
    "from fleetwise.collect.importers.jobs import read_jobs\n"
    "from fleetwise.store import Store\n"
    "path = Path(sys.argv[1])\n"
    "done = read_jobs(path)\n"
    "with Store(f'sqlite:///{sys.argv[2]}') as store:\n"
    "    store.add_jobs(done.jobs, f'{done.fmt}:{path.resolve()}')\n"
)
PHASES = np.array(["Running", "Succeeded", "Failed", "Pending"])
QOS = np.array(["LS", "BE", "Burstable", "Guaranteed"])
STATUSES = np.array(["Pass", "Killed", "Failed"])


def alibaba_pods(path: Path, n: int, seed: int, chunk: int = 500_000) -> None:
    """``n`` pods in ``cluster-trace-gpu-v2023``'s columns, written in chunks."""
    rng = np.random.default_rng(seed)
    with path.open("w") as f:
        f.write(
            "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,"
            "creation_time,deletion_time,scheduled_time\n"
        )
        for lo in range(0, n, chunk):
            m = min(chunk, n - lo)
            created = rng.integers(0, 60 * 86400, m)
            scheduled = created + np.minimum(rng.lognormal(4.0, 2.0, m), 5 * 86400).astype(int)
            deleted = scheduled + np.minimum(rng.lognormal(8.0, 1.8, m), 30 * 86400).astype(int)
            phase = rng.choice(PHASES, m, p=[0.3, 0.5, 0.15, 0.05])
            pending = phase == "Pending"
            pl.DataFrame(
                {
                    "name": [f"openb-pod-{k:07d}" for k in range(lo, lo + m)],
                    "cpu_milli": rng.choice([4000, 8000, 12000, 32000], m),
                    "memory_mib": rng.choice([8192, 16384, 65536], m),
                    "num_gpu": rng.choice([0, 1, 1, 1, 2, 4, 8], m),
                    "gpu_milli": rng.choice([0, 250, 500, 1000], m),
                    "gpu_spec": "",
                    "qos": rng.choice(QOS, m, p=[0.6, 0.25, 0.1, 0.05]),
                    "pod_phase": phase,
                    "creation_time": created,
                    "deletion_time": np.where(pending | (phase == "Running"), -1, deleted),
                    "scheduled_time": np.where(pending, -1, scheduled),
                }
            ).with_columns(
                pl.when(pl.col(c) < 0)
                .then(pl.lit(""))
                .otherwise(pl.col(c).cast(pl.String))
                .alias(c)
                for c in ("deletion_time", "scheduled_time")
            ).write_csv(f, include_header=False)


def philly_jobs(path: Path, n: int, seed: int, chunk: int = 20_000) -> None:
    """``n`` jobs of Philly's ``cluster_job_log`` (one JSON array), written in chunks."""
    rng = np.random.default_rng(seed)
    start = datetime(2017, 10, 1, tzinfo=UTC)

    def at(s: float) -> str:
        return (start + timedelta(seconds=float(s))).strftime("%Y-%m-%d %H:%M:%S")

    with path.open("wb") as f:
        f.write(b"[")
        for lo in range(0, n, chunk):
            m = min(chunk, n - lo)
            submit = rng.integers(0, 90 * 86400, m)
            parts = []
            for k in range(m):
                t = submit[k] + rng.lognormal(5.0, 2.0)
                attempts = []
                for _ in range(int(rng.integers(1, 4))):
                    end = t + rng.lognormal(7.5, 1.8)
                    machines = int(rng.choice([1, 1, 1, 2, 4]))
                    per = int(rng.choice([1, 2, 4, 8]))
                    detail = [
                        {
                            "ip": f"m{int(rng.integers(0, 600))}",
                            "gpus": [f"gpu{g}" for g in range(per)],
                        }
                        for _ in range(machines)
                    ]
                    attempts.append({"start_time": at(t), "end_time": at(end), "detail": detail})
                    t = end + rng.lognormal(3.0, 1.0)
                job = {
                    "status": str(rng.choice(STATUSES, p=[0.7, 0.2, 0.1])),
                    "vc": f"vc{int(rng.integers(0, 14)):02d}",
                    "jobid": f"application_1506638472019_{lo + k}",
                    "attempts": attempts,
                    "submitted_time": at(submit[k]),
                    "user": f"u{int(rng.integers(0, 300))}",
                }
                parts.append(orjson.dumps(job))
            f.write((b"," if lo else b"") + b",\n".join(parts))
        f.write(b"]\n")


def compare(
    n_alibaba: int,
    n_philly: int,
    seed: int,
    folder: Path,
    measure: Callable[[list[str], dict[str, str]], tuple[float, float]],
) -> tuple[list[str], list[list[str]]]:
    """The table's head and one row per log: streamed against the record path."""
    rows = []
    for name, n, make in (
        ("Alibaba 2023 pods (CSV)", n_alibaba, alibaba_pods),
        ("Philly jobs (JSON)", n_philly, philly_jobs),
    ):
        if n <= 0:
            continue
        log = folder / f"{name.split()[0].lower()}_{n}{'.json' if 'JSON' in name else '.csv'}"
        t = time.perf_counter()
        make(log, n, seed)
        print(
            f"{name}: {n:,} rows, {log.stat().st_size / 1e6:,.0f} MB generated in "
            f"{time.perf_counter() - t:.1f} s",
            file=sys.stderr,
        )
        load = os.getloadavg()[0]
        streamed_db = folder / f"streamed_{log.stem}.db"
        streamed = measure(
            [
                sys.executable,
                "-m",
                "fleetwise",
                "cluster",
                "import",
                str(log),
                "--db",
                str(streamed_db),
            ],
            dict(os.environ),
        )
        record_db = folder / f"records_{log.stem}.db"
        records = measure(
            [sys.executable, "-c", RECORD_PATH, str(log), str(record_db)], dict(os.environ)
        )
        rows.append(
            [
                name,
                f"{n:,}",
                f"{log.stat().st_size / 1e6:,.0f} MB",
                f"{load:.2f}",
                f"{streamed[0]:.1f} s / {streamed[1]:,.0f} MB",
                f"{records[0]:.1f} s / {records[1]:,.0f} MB",
            ]
        )
        log.unlink()
    head = [
        "log",
        "jobs",
        "file",
        "load avg",
        "streamed import (wall / peak RSS)",
        "record parser (before)",
    ]
    return head, rows
