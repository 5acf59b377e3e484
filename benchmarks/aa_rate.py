"""False-positive rate and power of ``fleetwise bench compare`` on this machine.

    .venv/bin/python benchmarks/aa_rate.py [--runs 40] [--processes 1] [--threads N] [--db FILE]
        [--markdown]

Runs one quick case (compute.gemm, 256 x 256 fp32 on CPU, 5 samples per worker) as
``--runs`` separate fleetwise runs - each with ``--processes`` worker processes, as a user's
repeated runs are - then draws random disjoint groups of runs and compares them:

- A/A: both groups are the same code; the fraction called significant is the
  false-positive rate (goal <= 5%).
- power: group B's medians scaled by 0.9, a real 10% slowdown of TFLOP/s injected into
  real noise; the fraction called "slower" is the power (goal >= 80%).

Three ways of choosing the groups, because the machine drifts (frequency, neighbours,
page cache) over minutes:
- random: runs drawn at random for A and B (exchangeable by construction);
- sequential: A = k consecutive runs, B = the next k (how a before/after is often done);
- interleaved: A and B alternate run by run (ABAB...), as docs/reproducibility.md asks.

Beside it, the naive test users reach for - Welch's t on the raw samples of two single
runs, as pyperf's ``compare_to`` does - shows why within-run samples are not enough.
"""

from __future__ import annotations

import argparse
import random
import tempfile
from pathlib import Path

from scipy import stats as sps

from fleetwise.analyze.compare import compare_medians
from fleetwise.collect.runner import run_suite
from fleetwise.collect.suite import Case, Suite, case_key
from fleetwise.models import ResultRecord
from fleetwise.store import Store

SLOWDOWN = 0.9


def suite(processes: int = 1, threads: int | None = None) -> Suite:
    params: dict[str, object] = {"size": 256, "dtype": "fp32", "device": "cpu"}
    if threads:
        params["threads"] = threads
    case = Case(
        index=0,
        key=case_key(0, "compute.gemm", params),
        benchmark="compute.gemm",
        params=params,
        warmup=1,
        repeat=5,
        min_sample_time=0.02,
        timeout=120,
        processes=processes,
    )
    # One suite name per worker count, so a kept --db holds both designs apart.
    name = (
        "aa-rate"
        + (f"-p{processes}" if processes > 1 else "")
        + (f"-t{threads}" if threads else "")
    )
    return Suite(name=name, source="benchmarks/aa_rate.py", cases=[case])


def collect(
    store: Store, runs: int, workdir: Path, processes: int = 1, threads: int | None = None
) -> list[ResultRecord]:
    plan = suite(processes, threads)
    done = sorted(run.id for run in store.list_runs(suite=plan.name, limit=10_000))
    have = [r for run_id in done for r in store.results(run_id)]  # oldest first
    for i in range(len(have), runs):
        outcome = run_suite(store, plan, workdir=workdir)
        have.extend(outcome.results)
        print(f"run {i + 1}/{runs}: {outcome.results[0].summary.median:.4f} TFLOP/s", flush=True)
    return [r for r in have if r.summary is not None][:runs]


def rates(
    medians: list[float], k: int, history: int, trials: int, seed: int
) -> tuple[float, float]:
    rng = random.Random(seed)
    false_pos = detected = 0
    for _ in range(trials):
        pick = rng.sample(range(len(medians)), 2 * k + history)
        a = [medians[i] for i in pick[:k]]
        b = [medians[i] for i in pick[k : 2 * k]]
        h = [medians[i] for i in pick[2 * k :]]
        false_pos += compare_medians(a, b, history=h)["verdict"] != "no significant change"
        slow = [x * SLOWDOWN for x in b]
        detected += compare_medians(a, slow, history=h)["verdict"] == "slower"
    return false_pos / trials, detected / trials


def windows(medians: list[float], k: int, interleave: bool) -> tuple[float, float]:
    """Sliding windows of 2k consecutive runs, split into A/B blocks or alternately."""
    false_pos = detected = n = 0
    for i in range(len(medians) - 2 * k + 1):
        block = medians[i : i + 2 * k]
        a, b = (block[0::2], block[1::2]) if interleave else (block[:k], block[k:])
        n += 1
        false_pos += compare_medians(a, b)["verdict"] != "no significant change"
        detected += compare_medians(a, [x * SLOWDOWN for x in b])["verdict"] == "slower"
    return false_pos / n, detected / n


def naive_rate(results: list[ResultRecord], trials: int, seed: int) -> float:
    rng = random.Random(seed)
    hits = 0
    for _ in range(trials):
        ra, rb = rng.sample(results, 2)
        hits += sps.ttest_ind(ra.samples, rb.samples, equal_var=False).pvalue < 0.05
    return hits / trials


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=40)
    ap.add_argument("--trials", type=int, default=2000)
    ap.add_argument(
        "--processes", type=int, default=1, help="worker processes per run (pyperf-style)"
    )
    ap.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch threads (1 avoids OpenMP spinning against other work on a small VM)",
    )
    ap.add_argument("--db", help="keep the runs in this SQLite file (re-used when re-run)")
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or str(Path(tmp) / "aa.db")
        store = Store(f"sqlite:///{db}")
        results = collect(store, args.runs, Path(tmp) / "work", args.processes, args.threads)
        store.close()
    medians = [r.summary.median for r in results if r.summary]
    cv = sps.variation(medians)
    rows = []
    for k, history in ((3, 0), (5, 0), (8, 0), (5, 10)):
        if 2 * k + history <= len(medians):
            fp, power = rates(medians, k, history, args.trials, seed=k * 100 + history)
            extra = f" + {history} history runs" if history else ""
            rows.append((f"random, {k} vs {k} runs{extra}", fp, power))
    for k in (2, 3, 4, 5, 8):
        if 2 * k > len(medians):
            continue
        for interleave in (False, True):
            fp, power = windows(medians, k, interleave)
            design = "interleaved" if interleave else "sequential"
            rows.append((f"{design}, {k} vs {k} runs", fp, power))
    naive = naive_rate(results, args.trials, seed=1)
    workers = f"{args.processes} worker processes per run"
    print(f"\n{len(medians)} runs of compute.gemm 256 fp32, {workers}; CV of run medians {cv:.2%}")
    if args.markdown:
        print("\n| comparison | A/A false positives (goal <= 5%) | power, 10% slowdown (>= 80%) |")
        print("|---|---|---|")
        for name, fp, power in rows:
            print(f"| fleetwise, {name} | {fp:.1%} | {power:.1%} |")
        print(f"| naive: Welch t on raw samples of 1 vs 1 run | {naive:.1%} | - |")
    else:
        for name, fp, power in rows:
            print(f"{name:40s} A/A {fp:6.1%}  power {power:6.1%}")
        print(f"{'naive within-run t (1 vs 1)':40s} A/A {naive:6.1%}")


if __name__ == "__main__":
    main()
