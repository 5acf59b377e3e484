"""The node analyses at a million jobs: fragmentation history and the ledger of one pool,
as queries over the columnar store (issue 16 part 2).

    .venv/bin/python benchmarks/cluster_scale_nodes.py [--jobs 1000000] [--seed 7]
        [--records] [--keep DIR]

The job log is ``cluster_scale.py``'s (seeded ``sacct --parsable2``: heavy-tailed durations,
gangs of 1-512 GPUs, a ``NodeList`` per started job over hosts ``gpu0001``..``gpu4063``)
without its pending jobs (1%): ``ledger --by pool`` on a fleet of several pools needs every
GPU job placed. The inventory: those 4,063 hosts of 8 GPUs, the first 2,000 ``a100``, the
rest ``h100``. Each command runs as its own process (wall time, peak RSS of the process and
its children, as ``cluster_scale.py`` measures):

- ``fleetwise cluster import`` and ``fleetwise cluster nodes`` (untimed set-up);
- ``fleetwise cluster fragmentation --json``: the snapshot at the end of the log and the
  history over it;
- ``fleetwise ledger --by pool --json``: the fleet's ledger and one per pool;
- ``fleetwise cluster analyze``: the job figures and the node analyses;
- with ``--records``, the per-job code the queries replaced (``fragmentation.history`` and
  ``snapshot`` over ``Store.jobs()`` records), for comparison.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from cluster_scale import generate, measure

FIRST_H100 = 2001
HOSTS = 4063

#: The per-job code the queries replaced, for ``--records``.
RECORDS = """
import sys
from fleetwise.analyze.fragmentation import history, snapshot
from fleetwise.store import Store
with Store("sqlite:///" + sys.argv[1]) as store:
    nodes, jobs = store.nodes(), store.jobs()
    snapshot(nodes, jobs)
    print(history(nodes, jobs))
"""


def placed_log(path: Path, n: int, seed: int) -> int:
    """``cluster_scale.generate``'s log without its pending jobs; returns the jobs kept."""
    raw = path.with_suffix(".raw")
    generate(raw, n, seed)
    kept = 0
    with raw.open() as src, path.open("w") as out:
        for line in src:
            if "|PENDING|" not in line:
                out.write(line)
                kept += 1
    raw.unlink()
    return kept - 1


def inventory(path: Path) -> None:
    with path.open("w") as f:
        f.write("hostname,gpus,model\n")
        for k in range(1, HOSTS + 1):
            f.write(f"gpu{k:04d},8,{'a100' if k < FIRST_H100 else 'h100'}\n")


def run(n: int, seed: int, folder: Path, records: bool) -> list[list[str]]:
    log, nodes, db = folder / f"sacct_{n}.txt", folder / "nodes.csv", folder / f"store_{n}.db"
    t = time.perf_counter()
    jobs = placed_log(log, n, seed)
    inventory(nodes)
    print(f"{jobs:,} jobs generated in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    env = dict(os.environ, FLEETWISE_DB=str(db))
    fw = [sys.executable, "-m", "fleetwise"]
    measure([*fw, "cluster", "import", str(log)], env)
    measure([*fw, "cluster", "nodes", str(nodes)], env)
    load = os.getloadavg()[0]
    cases = [
        ("cluster fragmentation", [*fw, "cluster", "fragmentation", "--json"]),
        ("ledger --by pool", [*fw, "ledger", "--by", "pool", "--json"]),
        ("cluster analyze (with nodes)", [*fw, "cluster", "analyze"]),
    ]
    if records:
        cases.append(("per-job history + snapshot", [sys.executable, "-c", RECORDS, str(db)]))
    rows = []
    for name, cmd in cases:
        wall, rss = measure(cmd, env)
        rows.append([f"{jobs:,}", f"{load:.2f}", name, f"{wall:.1f} s", f"{rss:,.0f} MB"])
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--jobs", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--records", action="store_true", help="Also time the per-job code.")
    ap.add_argument("--keep", type=Path, help="Write the log and store here (kept).")
    args = ap.parse_args()
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        rows = run(args.jobs, args.seed, args.keep, args.records)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            rows = run(args.jobs, args.seed, Path(tmp), args.records)
    print(f"cores: {os.cpu_count()}")
    print("| jobs | load avg | command | wall | peak RSS |")
    print("|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
