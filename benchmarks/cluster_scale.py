"""fleetwise's cluster commands on a million-job log, beside a hand-written DuckDB query.

    .venv/bin/python benchmarks/cluster_scale.py [--jobs 1000000 10000000] [--seed 7]
        [--keep DIR]

For each size a ``sacct --parsable2`` log is generated (seeded): submit times over 180
days, heavy-tailed durations (log-normal, median 40 min, capped at 14 days) and waits,
gang sizes from 1 to 512 GPUs with power-law frequencies (whole 8-GPU nodes past 8),
40 teams with Zipf-like shares, outcomes as in the Helios study (about 1 in 5 jobs
failed, cancelled or timed out), a ``NodeList`` per started job. Then, one after
another, each as its own process with its wall time and peak RSS (the largest of the
process and its children, ``getrusage(RUSAGE_CHILDREN)`` of a wrapper):

- ``fleetwise cluster import LOG`` into a fresh SQLite store (jobs to Parquet);
- ``fleetwise cluster analyze`` over it;
- the DuckDB reference: waits by team (mean, p50, p95, p99), GPU-hours by team and
  month and lost GPU-hours by state, straight from the CSV.

The table gives the ratio of import + analyze to the reference and the load average
before each size (the machine may be shared).

    .venv/bin/python benchmarks/cluster_scale.py --traces [--alibaba 1000000]
        [--philly 300000]

instead compares, for generated Alibaba 2023 pods and Philly jobs, ``cluster import``
(streamed by DuckDB) with the record parser the import used before
(``cluster_scale_traces.py``).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

WRAP = (
    "import resource, subprocess, sys, time\n"
    "t = time.perf_counter()\n"
    "rc = subprocess.call(sys.argv[1:], stdout=subprocess.DEVNULL)\n"
    "dt = time.perf_counter() - t\n"
    "print(rc, dt, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
)

REFERENCE = """
import sys, duckdb
con = duckdb.connect()
con.execute("SET TimeZone = 'UTC'")
con.execute(f'''CREATE VIEW j AS SELECT JobID, Account AS team,
  Submit::TIMESTAMP AS submit, try_cast(Start AS TIMESTAMP) AS start,
  try_cast("End" AS TIMESTAMP) AS "end", State AS state,
  coalesce(regexp_extract(AllocTRES, 'gres/gpu=([0-9]+)', 1)::INTEGER, 0) AS gpus
  FROM read_csv('{sys.argv[1]}', delim='|', header=true, all_varchar=true)
  WHERE NOT contains(JobID, '.')''')
waits = con.sql('''SELECT team, count(*), avg(w)/3600, quantile_cont(w, [0.5, 0.95, 0.99])
  FROM (SELECT team, greatest(epoch(start - submit), 0) AS w FROM j
        WHERE gpus > 0 AND start IS NOT NULL) GROUP BY team''').fetchall()
hours = con.sql('''SELECT team, strftime(start, '%Y-%m'), sum(gpus * epoch("end" - start)/3600)
  FROM j WHERE gpus > 0 AND start IS NOT NULL AND "end" IS NOT NULL
  GROUP BY ALL''').fetchall()
lost = con.sql('''SELECT state, sum(gpus * epoch("end" - start)/3600) FROM j
  WHERE gpus > 0 AND split_part(state, ' ', 1) IN ('FAILED', 'CANCELLED', 'TIMEOUT')
  GROUP BY state''').fetchall()
print(len(waits), len(hours), len(lost))
"""

GANGS = np.array([1, 2, 4, 8, 16, 32, 64, 128, 256, 512])
STATES = np.array(["COMPLETED", "FAILED", "CANCELLED by 1001", "TIMEOUT", "RUNNING", "PENDING"])


def generate(path: Path, n: int, seed: int, chunk: int = 1_000_000) -> None:
    """Write ``n`` jobs to ``path`` in chunks (bounded memory)."""
    rng = np.random.default_rng(seed)
    t0 = np.datetime64("2025-01-01T00:00:00", "s")
    weights = 1.0 / np.arange(1, 41) ** 1.1
    share = weights / weights.sum()
    gang_p = 1.0 / GANGS.astype(float) ** 1.3
    gang_p /= gang_p.sum()
    with path.open("w") as f:
        f.write("JobID|User|Account|Partition|Submit|Start|End|State|AllocTRES|NNodes|NodeList\n")
        for lo in range(0, n, chunk):
            m = min(chunk, n - lo)
            submit = t0 + rng.integers(0, 180 * 86400, m).astype("timedelta64[s]")
            wait = np.minimum(rng.lognormal(4.5, 2.2, m), 5 * 86400).astype("timedelta64[s]")
            run = np.minimum(rng.lognormal(7.8, 1.8, m), 14 * 86400).astype("timedelta64[s]")
            gpus = rng.choice(GANGS, m, p=gang_p)
            state = rng.choice(STATES, m, p=[0.78, 0.09, 0.08, 0.03, 0.01, 0.01])
            start = submit + wait
            end = start + run
            nodes = np.maximum(gpus // 8, 1)
            first = rng.integers(1, 4000, m)
            pending = state == "PENDING"
            running = state == "RUNNING"
            frame = pl.DataFrame(
                {
                    "JobID": np.arange(lo + 1, lo + m + 1) + 100_000,
                    "User": [f"u{k}" for k in rng.integers(0, 2000, m)],
                    "Account": [f"team{k:02d}" for k in rng.choice(40, m, p=share)],
                    "Partition": "gpu",
                    "Submit": submit.astype("datetime64[ms]"),
                    "Start": start.astype("datetime64[ms]"),
                    "End": end.astype("datetime64[ms]"),
                    "State": state,
                    "gpus": gpus,
                    "NNodes": nodes,
                    "first": first,
                }
            ).with_columns(
                pl.col("Submit").dt.strftime("%Y-%m-%dT%H:%M:%S"),
                pl.when(pl.Series(pending))
                .then(pl.lit("Unknown"))
                .otherwise(pl.col("Start").dt.strftime("%Y-%m-%dT%H:%M:%S"))
                .alias("Start"),
                pl.when(pl.Series(pending | running))
                .then(pl.lit("Unknown"))
                .otherwise(pl.col("End").dt.strftime("%Y-%m-%dT%H:%M:%S"))
                .alias("End"),
                pl.format(
                    "billing={},cpu={},gres/gpu={},node={}", "gpus", "gpus", "gpus", "NNodes"
                ).alias("AllocTRES"),
                pl.when(pl.Series(pending))
                .then(pl.lit("None assigned"))
                .when(pl.col("NNodes") == 1)
                .then(pl.format("gpu{}", pl.col("first").cast(pl.String).str.zfill(4)))
                .otherwise(
                    pl.format(
                        "gpu[{}-{}]",
                        pl.col("first").cast(pl.String).str.zfill(4),
                        (pl.col("first") + pl.col("NNodes") - 1).cast(pl.String).str.zfill(4),
                    )
                )
                .alias("NodeList"),
            )
            cols = ["JobID", "User", "Account", "Partition", "Submit", "Start", "End", "State"]
            frame.select([*cols, "AllocTRES", "NNodes", "NodeList"]).write_csv(
                f, separator="|", include_header=False, quote_style="never"
            )


def measure(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of ``cmd`` and its children."""
    out = subprocess.run(
        [sys.executable, "-c", WRAP, *cmd], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    if out[0] != "0":
        raise SystemExit(f"{' '.join(cmd)} failed with exit status {out[0]}")
    return float(out[1]), float(out[2]) / 1024


def one_size(n: int, seed: int, folder: Path) -> list[str]:
    log = folder / f"sacct_{n}.txt"
    t = time.perf_counter()
    generate(log, n, seed)
    made = time.perf_counter() - t
    load = os.getloadavg()[0]
    db = folder / f"store_{n}.db"
    env = dict(os.environ, FLEETWISE_DB=str(db))
    fw = [sys.executable, "-m", "fleetwise", "cluster"]
    imp = measure([*fw, "import", str(log)], env)
    ana = measure([*fw, "analyze"], env)
    ref = measure([sys.executable, "-c", REFERENCE, str(log)], env)
    both = imp[0] + ana[0]
    print(
        f"{n:,} jobs: log {log.stat().st_size / 1e6:,.0f} MB generated in {made:.1f} s",
        file=sys.stderr,
    )
    return [
        f"{n:,}",
        f"{load:.2f}",
        f"{imp[0]:.1f} s / {imp[1]:,.0f} MB",
        f"{ana[0]:.1f} s / {ana[1]:,.0f} MB",
        f"{ref[0]:.1f} s / {ref[1]:,.0f} MB",
        f"{both / ref[0]:.1f}x",
        f"{max(imp[1], ana[1]):,.0f} MB",
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--jobs", type=int, nargs="+", default=[1_000_000, 10_000_000])
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--keep", type=Path, help="Write the logs and stores here (kept).")
    ap.add_argument(
        "--traces",
        action="store_true",
        help="Compare the streamed and record imports of Alibaba 2023 and Philly logs.",
    )
    ap.add_argument("--alibaba", type=int, default=1_000_000, help="Pods for --traces.")
    ap.add_argument("--philly", type=int, default=300_000, help="Philly jobs for --traces.")
    args = ap.parse_args()
    if args.traces:
        from cluster_scale_traces import compare

        with tempfile.TemporaryDirectory(dir=args.keep) as tmp:
            head, rows = compare(args.alibaba, args.philly, args.seed, Path(tmp), measure)
        _table(head, rows)
        return
    head = [
        "jobs",
        "load avg",
        "cluster import (wall / peak RSS)",
        "cluster analyze",
        "DuckDB reference",
        "import+analyze / reference",
        "fleetwise peak RSS",
    ]
    rows = []
    with tempfile.TemporaryDirectory(dir=args.keep) as tmp:
        for n in args.jobs:
            rows.append(one_size(n, args.seed, Path(tmp)))
            for f in Path(tmp).glob(f"sacct_{n}.txt"):
                f.unlink()
    _table(head, rows)


def _table(head: list[str], rows: list[list[str]]) -> None:
    print(f"cores: {os.cpu_count()}")
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in rows:
        print("| " + " | ".join(r) + " |")


if __name__ == "__main__":
    main()
