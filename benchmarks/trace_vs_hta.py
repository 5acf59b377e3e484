"""fleetwise against HTA 0.5.0 on the same 8-rank trace set: wall time and peak memory.

    .venv/bin/python benchmarks/trace_vs_hta.py [--source FILE|DIR] [--ranks 8] [--repeat 3]
                                                [--big-gb 1.0] [--markdown]
    .venv/bin/python benchmarks/trace_vs_hta.py --all [--ranks 8] [--repeat 1] [--markdown]
    .venv/bin/python benchmarks/trace_vs_hta.py --ray-ranks 256 [--ray-source DIR]

``--all`` cannot pick its set: it runs every trace set of ``tests/data/kineto`` and
``../shared/data/kineto`` (each distinct set once), each replicated to ``--ranks`` ranks, and
prints one table, the sets least favourable to fleetwise first. fleetwise runs three times per
set through ``analyze_trace_set`` (every analysis ``trace analyze`` prints, a superset of what
HTA runs): as ``trace analyze`` runs unasked (the figures compared), then forced serial (one
process) and parallel (one process per core), for information.

``--ray-ranks N`` replicates ``--ray-source`` (default ``tests/data/kineto/ns_resolution_v100``)
to N ranks and analyses them as Ray tasks on a local two-node ``ray.cluster_utils.Cluster``
(tasks spread over the nodes), printing the wall time from submitting the tasks to the
reduced report, and each Ray worker's peak RSS (its own ``ru_maxrss``) and task count.

``--source`` defaults to ``../shared/data/kineto/mtia_single_rank`` (456K events); the
smaller ``tests/data/kineto/ns_resolution_v100`` (68K events) is the other figure quoted.

1. Builds an N-rank trace set in a temporary folder: one real rank trace copied N times with
   ``distributedInfo.rank`` / ``world_size`` rewritten (gzip, as ``torch.profiler`` writes).
2. Runs, each in a fresh subprocess and alternating, HTA (``TraceAnalysis`` load + temporal,
   idle-time, kernel and overlap breakdowns and kernel-launch statistics for every rank:
   ``benchmarks/hta_reference.py --timing-only``) and fleetwise (``analyze_trace_set``:
   those analyses and the rest of ``trace analyze``'s). Wall time is the subprocess's,
   interpreter start included; peak memory is the peak of the summed RSS of the subprocess
   and all its children (both parse ranks in a process pool), sampled every 10 ms for the
   first second and every 100 ms after (a 0.3 s run must not be rounded up to the next
   poll), or the subprocess's own high-water mark (VmHWM) if larger.
3. With ``--big-gb X``, also writes one uncompressed trace of about X GB (the source's events
   repeated with shifted times and correlation ids) and measures fleetwise on it, to show
   memory stays bounded while streaming. HTA is not run on it (it loads the whole document).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
#: The largest real trace of the shared data (456K events, 87 MB): the scale fleetwise is for.
DEFAULT_SOURCE = ROOT.parent / "shared" / "data" / "kineto" / "mtia_single_rank"
PY = sys.executable

#: ``trace analyze`` without the printing (and, as the command does, one OpenBLAS thread):
#: argv[2] is the worker count, 0 for the default.
FLEETWISE_SCRIPT = """
import sys
from pathlib import Path
from fleetwise.analyze.traces_threads import spare_blas_threads
spare_blas_threads()
from fleetwise.analyze.traces_report import analyze_trace_set
analyze_trace_set(Path(sys.argv[1]), workers=int(sys.argv[2]) or None)
"""
#: Where ``--all`` looks for trace sets (one folder per set).
SET_ROOTS = (ROOT / "tests" / "data" / "kineto", ROOT.parent / "shared" / "data" / "kineto")


def source_file(source: Path) -> Path:
    if source.is_dir():
        return sorted(p for p in source.iterdir() if p.name.endswith((".json", ".json.gz")))[0]
    return source


def load(path: Path) -> dict[str, Any]:
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    doc: dict[str, Any] = json.loads(raw)
    return doc


def trace_files(source: Path) -> list[Path]:
    if source.is_dir():
        return sorted(p for p in source.iterdir() if p.name.endswith((".json", ".json.gz")))
    return [source]


#: Stands for the rank in a serialised document (replaced by each rank's number).
_RANK_MARK = 987654321


def build_rank_set(source: Path, ranks: int, folder: Path) -> None:
    """``ranks`` ranks from the source's rank files, taken in turn (a 2-rank set gives
    ranks 0, 1, 0, 1... of the original). Each document is serialised once and only its
    ``distributedInfo.rank`` changes from copy to copy (hundreds of ranks in seconds)."""
    blobs = []
    for path in trace_files(source):
        doc = load(path)
        info = dict(doc.get("distributedInfo") or {})
        info.update(rank=_RANK_MARK, world_size=ranks)
        doc["distributedInfo"] = info
        blob = json.dumps(doc).encode()  # spaced as Kineto writes (orjson would not be)
        assert blob.count(b'"rank": %d' % _RANK_MARK) == 1
        blobs.append(blob)
    for rank in range(ranks):
        blob = blobs[rank % len(blobs)].replace(b'"rank": %d' % _RANK_MARK, b'"rank": %d' % rank)
        (folder / f"rank-{rank}.json.gz").write_bytes(gzip.compress(blob, compresslevel=1))


def build_big_trace(source: Path, gigabytes: float, path: Path) -> int:
    """Write ``source``'s events again and again, shifted in time, until the file is big."""
    doc = load(source_file(source))
    events = doc.pop("traceEvents")
    starts = [e["ts"] for e in events if isinstance(e.get("ts"), int | float)]
    span = max(starts) - min(starts) + 1000
    max_corr = max(
        (
            e.get("args", {}).get("correlation", 0)
            for e in events
            if isinstance(e.get("args"), dict)
        ),
        default=0,
    )
    target = int(gigabytes * 1e9)
    written = copies = 0
    with path.open("w") as fh:
        header = json.dumps(doc)[:-1]
        fh.write(header + ', "traceEvents": [\n')
        first = True
        while written < target:
            for e in events:
                e2 = dict(e)
                if "ts" in e2:
                    e2["ts"] = e2["ts"] + copies * span
                args = e2.get("args")
                if isinstance(args, dict) and "correlation" in args:
                    e2["args"] = {
                        **args,
                        "correlation": args["correlation"] + copies * (max_corr + 1),
                    }
                line = ("" if first else ",\n") + json.dumps(e2)
                first = False
                fh.write(line)
                written += len(line)
            copies += 1
        fh.write("\n]}\n")
    return copies


def _high_water_mark(pid: int) -> int:
    """The process's own peak RSS (VmHWM, bytes) so far; 0 once it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


_PAGE = os.sysconf("SC_PAGE_SIZE")


def _process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants, from each task's ``/proc/PID/task/TID/children``: a few
    small reads (psutil's ``children(recursive=True)`` reads every process's stat, about
    1 ms a poll, which took CPU from the two-process runs it measured)."""
    tree = [pid]
    for parent in tree:  # grows while it is walked
        try:
            for task in os.listdir(f"/proc/{parent}/task"):
                with open(f"/proc/{parent}/task/{task}/children") as f:
                    tree += [int(child) for child in f.read().split()]
        except OSError:
            continue  # gone meanwhile
    return tree


def _rss(pid: int) -> int:
    """Resident bytes of ``pid`` (``/proc/PID/statm``, what psutil's ``rss`` reads); 0 once gone."""
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * _PAGE
    except (OSError, IndexError, ValueError):
        return 0


def measure(cmd: list[str]) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds and peak RSS (MB) of ``cmd``.

    CPU is user + system time of the process and its children (robust when other work
    shares the machine). Peak RSS is the larger of the process's own high-water mark
    (VmHWM, read while it runs) and the summed RSS of it and its children (HTA parses ranks
    in a process pool), sampled every 10 ms for the first second, then every 100 ms.
    (``ru_maxrss`` is not used: Linux carries the
    spawning process's size over the exec into it.)
    """
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)
    # A thread waits for the exit, so the wall time is the exit's, not the next poll's (a
    # 10 ms poll would add about 5 ms, 4% of a 0.12 s run and nothing of a 1.3 s one).
    exited: dict[str, Any] = {}

    def reap() -> None:
        _, code, rusage = os.wait4(proc.pid, 0)
        exited.update(at=time.perf_counter(), status=code, usage=rusage)

    waiter = threading.Thread(target=reap)
    waiter.start()
    peak = hwm = 0
    while waiter.is_alive():
        hwm = max(hwm, _high_water_mark(proc.pid))
        peak = max(peak, sum(_rss(pid) for pid in _process_tree(proc.pid)))
        waiter.join(0.01 if time.perf_counter() - start < 1 else 0.1)
    wall = exited["at"] - start
    status, usage = exited["status"], exited["usage"]
    if os.waitstatus_to_exitcode(status) != 0:
        err = proc.stderr.read().decode() if proc.stderr else ""
        raise SystemExit(f"{' '.join(cmd)} failed:\n{err[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime, max(peak, hwm) / 1e6


def fleetwise_cmd(folder: Path, workers: int = 0) -> list[str]:
    return [PY, "-c", FLEETWISE_SCRIPT, str(folder), str(workers)]


def hta_cmd(folder: Path) -> list[str]:
    return [PY, str(ROOT / "benchmarks" / "hta_reference.py"), str(folder), "--timing-only"]


def compare(source: Path, ranks: int, repeat: int, tmp: Path) -> dict[str, Any]:
    """HTA and fleetwise on the same N-rank set, alternating, ``repeat`` times each."""
    folder = tmp / "ranks"
    folder.mkdir()
    build_rank_set(source, ranks, folder)
    results: dict[str, Any] = {"set_mb_gz": sum(p.stat().st_size for p in folder.iterdir()) / 1e6}
    runs: dict[str, list[tuple[float, float, float]]] = {"hta": [], "fleetwise": []}
    for _ in range(repeat):
        runs["hta"].append(measure(hta_cmd(folder)))
        runs["fleetwise"].append(measure(fleetwise_cmd(folder)))
    for tool, values in runs.items():
        results[tool] = {
            "wall_s_median": statistics.median(v[0] for v in values),
            "cpu_s_median": statistics.median(v[1] for v in values),
            "peak_rss_mb_median": statistics.median(v[2] for v in values),
            "runs": values,
        }
    hta, fw = results["hta"], results["fleetwise"]
    results["speedup"] = hta["wall_s_median"] / fw["wall_s_median"]
    results["cpu_speedup"] = hta["cpu_s_median"] / fw["cpu_s_median"]
    results["rss_ratio"] = fw["peak_rss_mb_median"] / hta["peak_rss_mb_median"]
    return results


def trace_sets() -> list[Path]:
    """Every trace set folder under ``SET_ROOTS``, each distinct content once."""
    seen: dict[str, Path] = {}
    for root in SET_ROOTS:
        if not root.is_dir():
            continue
        for folder in sorted(p for p in root.iterdir() if p.is_dir()):
            files = trace_files(folder)
            if not files:
                continue
            key = hashlib.sha256(b"".join(p.read_bytes() for p in files)).hexdigest()
            seen.setdefault(key, folder)
    return list(seen.values())


def events_per_rank(folder: Path) -> int:
    return max(len(load(p).get("traceEvents", [])) for p in trace_files(folder))


def compare_all(ranks: int, repeat: int, tmp: Path) -> list[dict[str, Any]]:
    """HTA and fleetwise (its default, then forced serial and parallel) on every set,
    alternating per repeat. The speed-up and RSS ratio are the default's: what
    ``trace analyze`` does unasked (one process below ``PARALLEL_MIN_BYTES`` of JSON, a
    process per core above), not the better of two runs."""
    rows = []
    workers = os.cpu_count() or 1
    for i, source in enumerate(trace_sets()):
        folder = tmp / f"set-{i}"
        folder.mkdir()
        build_rank_set(source, ranks, folder)
        cmds = {
            "hta": hta_cmd(folder),
            "default": fleetwise_cmd(folder, 0),
            "serial": fleetwise_cmd(folder, 1),
            "parallel": fleetwise_cmd(folder, workers),
        }
        runs: dict[str, list[tuple[float, float, float]]] = {k: [] for k in cmds}
        loads = [os.getloadavg()[0]]
        for _ in range(repeat):
            for tool, cmd in cmds.items():
                runs[tool].append(measure(cmd))
        loads.append(os.getloadavg()[0])
        row: dict[str, Any] = {
            "set": f"{source.parent.parent.parent.name}/{source.name}",
            "events_per_rank": events_per_rank(source),
            "set_mb_gz": sum(p.stat().st_size for p in folder.iterdir()) / 1e6,
            "workers": workers,
            "load_1min": loads,
        }
        for tool, values in runs.items():
            row[tool] = {
                "wall_s": statistics.median(v[0] for v in values),
                "cpu_s": statistics.median(v[1] for v in values),
                "peak_rss_mb": statistics.median(v[2] for v in values),
            }
        row["speedup"] = row["hta"]["wall_s"] / row["default"]["wall_s"]
        row["rss_ratio"] = row["default"]["peak_rss_mb"] / row["hta"]["peak_rss_mb"]
        rows.append(row)
        shutil.rmtree(folder)
    return sorted(rows, key=lambda r: r["speedup"])


def all_markdown(rows: list[dict[str, Any]], ranks: int) -> str:
    lines = [
        f"Every trace set, {ranks} ranks each, least favourable first (wall s / peak RSS MB, "
        "children included; median of the repeats)",
        "",
        "| set | events/rank | MB gz | HTA 0.5.0 | fleetwise | speed-up | RSS ratio "
        "| fleetwise serial | fleetwise parallel | load |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        cells = {k: f"{r[k]['wall_s']:.2f} s / {r[k]['peak_rss_mb']:.0f}" for k in TOOLS}
        lines.append(
            f"| {r['set']} | {r['events_per_rank']:,} | {r['set_mb_gz']:.1f} | "
            f"{cells['hta']} | {cells['default']} | {r['speedup']:.1f}x | "
            f"{r['rss_ratio']:.2f} | {cells['serial']} | {cells['parallel']} | "
            + "-".join(f"{x:.1f}" for x in r["load_1min"])
            + " |"
        )
    lines += [
        "",
        "fleetwise: trace analyze's default (one process below 1 MiB of JSON, else one per "
        "core); speed-up: HTA wall / fleetwise wall; RSS ratio: fleetwise peak / HTA's. "
        f"Parallel: {rows[0]['workers'] if rows else '-'} processes. load: 1-minute load "
        "average before and after the set's runs.",
    ]
    return "\n".join(lines)


TOOLS = ("hta", "default", "serial", "parallel")
#: What ``--ray-ranks`` replicates: the densest real set (68K events a rank, 13 MB of JSON,
#: about a third of them kernels and runtime calls); 256 ranks are 350 MB of gzip on disk.
#: (The 87 MB MTIA rank would take minutes to write 256 times on two cores.)
RAY_SOURCE = ROOT / "tests" / "data" / "kineto" / "ns_resolution_v100"


def ray_scale(source: Path, ranks: int, tmp: Path) -> dict[str, Any]:
    """``ranks`` replicated ranks analysed as Ray tasks on a local two-node cluster
    (``ray.cluster_utils.Cluster``, one CPU per node), with each worker's peak RSS."""
    import ray
    import ray.cluster_utils

    from fleetwise.analyze.traces_report import reduce_ranks, summarize_ranks

    folder = tmp / "ray-ranks"
    folder.mkdir()
    start = time.perf_counter()
    build_rank_set(source, ranks, folder)
    build_s = time.perf_counter() - start
    load_before = os.getloadavg()[0]
    cluster = ray.cluster_utils.Cluster(
        initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False}
    )
    cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    try:
        start = time.perf_counter()
        summaries = summarize_ranks(folder, "ray", address=cluster.address)
        report = reduce_ranks(folder, summaries)
        wall = time.perf_counter() - start
    finally:
        ray.shutdown()
        cluster.shutdown()
    peaks: dict[tuple[str, int], float] = {}
    for s in summaries:
        key = (s.usage.host, s.usage.pid)
        peaks[key] = max(peaks.get(key, 0.0), s.usage.peak_rss_mb)
    return {
        "source": str(source),
        "ranks": len(report.ranks),
        "events": sum(r.events for r in report.ranks),
        "set_mb_gz": sum(p.stat().st_size for p in folder.iterdir()) / 1e6,
        "build_s": build_s,
        "load_1min": [load_before, os.getloadavg()[0]],
        "wall_s": wall,
        "tasks_per_worker": {
            f"{host}:{pid}": sum(1 for s in summaries if (s.usage.host, s.usage.pid) == (host, pid))
            for host, pid in peaks
        },
        "worker_peak_rss_mb": sorted(peaks.values()),
        "driver_peak_rss_mb": _high_water_mark(os.getpid()) / 1e6,
    }


def compile_bytecode() -> None:
    """Compile fleetwise's modules to bytecode, as ``pip install`` does for an installed package
    (HTA's, in site-packages, are). An editable checkout run with ``PYTHONDONTWRITEBYTECODE``
    set would otherwise compile every module from source in every run (about 10 ms)."""
    import compileall

    compileall.compile_dir(ROOT / "src" / "fleetwise", quiet=1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--ranks", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3, help="0: skip the HTA comparison")
    parser.add_argument("--big-gb", type=float, default=0.0)
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--all", action="store_true", help="every trace set, one table")
    parser.add_argument(
        "--ray-ranks", type=int, default=0, help="N ranks on a local two-node Ray cluster"
    )
    parser.add_argument("--ray-source", type=Path, default=RAY_SOURCE)
    args = parser.parse_args(argv)
    compile_bytecode()
    if args.ray_ranks > 0:
        with tempfile.TemporaryDirectory() as tmp:
            print(json.dumps(ray_scale(args.ray_source, args.ray_ranks, Path(tmp)), indent=2))
        return 0
    if args.all:
        with tempfile.TemporaryDirectory() as tmp:
            rows = compare_all(args.ranks, max(args.repeat, 1), Path(tmp))
        print(all_markdown(rows, args.ranks) if args.markdown else json.dumps(rows, indent=2))
        return 0
    results: dict[str, Any] = {"source": str(source_file(args.source)), "ranks": args.ranks}
    with tempfile.TemporaryDirectory() as tmp:
        if args.repeat > 0:
            results.update(compare(args.source, args.ranks, args.repeat, Path(tmp)))
        if args.big_gb > 0:
            big = Path(tmp) / "big"
            big.mkdir()
            copies = build_big_trace(args.source, args.big_gb, big / "rank-0.json")
            wall, cpu, rss = measure(fleetwise_cmd(big))
            results["big"] = {
                "file_gb": (big / "rank-0.json").stat().st_size / 1e9,
                "copies_of_source": copies,
                "wall_s": wall,
                "cpu_s": cpu,
                "peak_rss_mb": rss,
            }
    if args.markdown:
        print(markdown(results))
    else:
        print(json.dumps(results, indent=2))
    return 0


def markdown(r: dict[str, Any]) -> str:
    lines: list[str] = []
    if "hta" in r:
        lines += _comparison_lines(r)
    if "big" in r:
        b = r["big"]
        lines.append(
            f"big case: {b['file_gb']:.2f} GB uncompressed trace analysed in {b['wall_s']:.1f} s "
            f"({b['cpu_s']:.1f} s CPU), peak RSS {b['peak_rss_mb']:.0f} MB"
        )
    return "\n".join(lines)


def _comparison_lines(r: dict[str, Any]) -> list[str]:
    return [
        f"{r['ranks']} ranks of `{Path(r['source']).name}` ({r['set_mb_gz']:.1f} MB gzip)",
        "",
        "| tool | wall s (median) | CPU s (median) | peak RSS MB (median) |",
        "|---|---|---|---|",
        *(
            f"| {label} | {r[k]['wall_s_median']:.2f} | {r[k]['cpu_s_median']:.2f} | "
            f"{r[k]['peak_rss_mb_median']:.0f} |"
            for label, k in (("HTA 0.5.0", "hta"), ("fleetwise", "fleetwise"))
        ),
        "",
        f"speed-up {r['speedup']:.1f}x wall, {r['cpu_speedup']:.1f}x CPU; "
        f"fleetwise peak RSS = {r['rss_ratio']:.2f} of HTA's",
    ]


if __name__ == "__main__":
    sys.exit(main())
