"""fleetwise's telemetry path on millions of DCGM samples, beside the per-sample parser.

    .venv/bin/python benchmarks/telemetry_scale.py [--samples 1000000 10000000]
        [--old-max 1000000] [--gpus 512] [--seed 7] [--keep DIR]

For each size a dcgm-exporter CSV is generated (seeded): 512 GPUs on 64 hosts scraped
every 60 s, five fields a row (``GPU_UTIL``, ``SM_ACTIVE``, ``PIPE_TENSOR_ACTIVE``,
``XID_ERRORS``, ``ECC_DBE_VOL_TOTAL``: a sample each), a ``pod`` label on the GPUs a job
held, a few GPUs with XID 79 or uncorrected ECC errors. Then, one after another, each as
its own process with its wall time and peak RSS (the largest of the process and its
children, ``getrusage(RUSAGE_CHILDREN)`` of a wrapper):

- ``fleetwise cluster telemetry import FILE`` into a fresh SQLite store (samples to
  Parquet, ``docs/fleet_data.md``);
- ``fleetwise cluster analyze --telemetry-source SOURCE`` over the stored samples;
- ``fleetwise cluster analyze --telemetry FILE`` (the file streamed, nothing stored);
- the per-sample path ``cluster analyze --telemetry`` took before (``import_telemetry``,
  ``gpu_health``, ``analyze_telemetry``), up to ``--old-max`` samples (it keeps a Python
  object per sample: tens of GB at ten million).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl
from cluster_scale import _table, measure

#: What ``cluster analyze --telemetry FILE`` ran before the stream (no store save).
OLD = """
import sys
from pathlib import Path
from fleetwise.analyze.cluster_telemetry import analyze_telemetry
from fleetwise.collect.importers.telemetry import import_telemetry
path = Path(sys.argv[1])
report = analyze_telemetry(import_telemetry(path), [], source=path.name,
                           usd_per_gpu_hour=2.5, hours_per_year=8760)
print(report.measured_utilization, len(report.health))
"""

FIELDS = [
    "DCGM_FI_DEV_GPU_UTIL",
    "DCGM_FI_PROF_SM_ACTIVE",
    "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE",
    "DCGM_FI_DEV_XID_ERRORS",
    "DCGM_FI_DEV_ECC_DBE_VOL_TOTAL",
]


def generate(path: Path, samples: int, gpus: int, seed: int, chunk: int = 2_000) -> None:
    """Write ``samples`` DCGM samples (five a row) to ``path``, ``chunk`` scrapes at a time."""
    rng = np.random.default_rng(seed)
    scrapes = -(-samples // (len(FIELDS) * gpus))
    t0 = 1_735_689_600  # 2025-01-01T00:00:00Z
    host = np.array([f"gpu-node-{g // 8:03d}" for g in range(gpus)])
    index = np.array([str(g % 8) for g in range(gpus)])
    sick = rng.choice(gpus, size=max(gpus // 100, 1), replace=False)
    left = samples
    with path.open("w") as f:
        f.write(",".join(["timestamp", "Hostname", "gpu", "pod", *FIELDS]) + "\n")
        for lo in range(0, scrapes, chunk):
            m = min(chunk, scrapes - lo)
            rows = min(m * gpus, -(-left // len(FIELDS)))
            at = np.repeat(np.arange(lo, lo + m), gpus)[:rows]
            g = np.tile(np.arange(gpus), m)[:rows]
            held = rng.random(rows) < 0.8
            sm = np.where(held, rng.beta(2, 3, rows), 0.0)
            xid = np.where(np.isin(g, sick) & (at > scrapes // 2), 79, 0)
            frame = pl.DataFrame(
                {
                    "timestamp": (t0 + 60 * at) * 1000,
                    "Hostname": host[g],
                    "gpu": index[g],
                    "pod": np.where(held, "train-" + host[g], ""),
                    FIELDS[0]: np.minimum(np.round(sm * 200), 100).astype(np.int64),
                    FIELDS[1]: np.round(sm, 4),
                    FIELDS[2]: np.round(sm * 0.6, 4),
                    FIELDS[3]: xid,
                    FIELDS[4]: np.where(xid > 0, 2, 0),
                }
            )
            frame.write_csv(f, include_header=False, quote_style="never")
            left -= rows * len(FIELDS)


def _cell(m: tuple[float, float] | None) -> str:
    return "not run" if m is None else f"{m[0]:.1f} s / {m[1]:,.0f} MB"


def one_size(n: int, gpus: int, seed: int, old_max: int, folder: Path) -> list[str]:
    csv = folder / f"dcgm_{n}.csv"
    t = time.perf_counter()
    generate(csv, n, gpus, seed)
    made = time.perf_counter() - t
    load = os.getloadavg()[0]
    db = folder / f"store_{n}.db"
    env = dict(os.environ, FLEETWISE_DB=str(db))
    fw = [sys.executable, "-m", "fleetwise", "cluster"]
    imp = measure([*fw, "telemetry", "import", str(csv)], env)
    stored = measure([*fw, "analyze", "--telemetry-source", f"dcgm:{csv.resolve()}"], env)
    streamed = measure([*fw, "analyze", "--telemetry", str(csv)], env)
    old = measure([sys.executable, "-c", OLD, str(csv)], env) if n <= old_max else None
    print(
        f"{n:,} samples: CSV {csv.stat().st_size / 1e6:,.0f} MB generated in {made:.1f} s",
        file=sys.stderr,
    )
    return [
        f"{n:,}",
        f"{load:.2f}",
        _cell(imp),
        _cell(stored),
        _cell(streamed),
        _cell(old),
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--samples", type=int, nargs="+", default=[1_000_000, 10_000_000])
    ap.add_argument("--old-max", type=int, default=1_000_000, help="Largest size for the old path.")
    ap.add_argument("--gpus", type=int, default=512)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--keep", type=Path, help="Write the files and stores here (kept).")
    args = ap.parse_args()
    header = [
        "samples",
        "load avg",
        "telemetry import (wall / peak RSS)",
        "analyze --telemetry-source",
        "analyze --telemetry FILE",
        "per-sample path (before)",
    ]
    rows = []
    with tempfile.TemporaryDirectory(dir=args.keep) as tmp:
        for n in args.samples:
            rows.append(one_size(n, args.gpus, args.seed, args.old_max, Path(tmp)))
    _table(header, rows)


if __name__ == "__main__":
    main()
