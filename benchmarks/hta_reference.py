"""Run HTA (holistictraceanalysis 0.5.0) on a trace folder and write its answers.

Writes the same files as ``../shared/data/hta_reference/<set>/`` (temporal breakdown,
idle-time breakdown and interval statistics, kernel type breakdown, top kernels, comm/comp
overlap, kernel-launch summary, queue-length and memory-bandwidth summaries), so parity tests
can use HTA's answers on a trimmed copy of a trace set. Usage::

    .venv/bin/python benchmarks/hta_reference.py TRACE_DIR OUT_DIR

With ``--timing-only`` it runs just what ``trace_vs_hta.py`` times (load + temporal, idle,
kernel, overlap, launch statistics) and writes nothing. With ``--critical-path`` it runs only
HTA's ``critical_path_analysis`` on every rank and ``ProfilerStep`` instance and writes
``critical_path.json``: per rank and step, the bound-by summary (percent of the path's
duration, HTA's ``CPGraph.summary()``), the path length (sum of its edge weights, us), and
HTA's status (``ok``, or why it failed: the error it raised or ``no critical path``).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import warnings
from pathlib import Path
from typing import Any


def _describe(series: Any) -> dict[str, float]:
    d = series.describe()
    return {k: float(d[k]) for k in ["count", "mean", "std", "min", "25%", "50%", "75%", "max"]}


def launch_summary(df: Any, runtime_cutoff: int = 50, delay_cutoff: int = 100) -> dict[str, Any]:
    return {
        "n": len(df),
        "short_gpu_kernels(cpu_dur<=50 & gpu_dur<cpu_dur)": int(
            (
                (df["cpu_duration"] <= runtime_cutoff) & (df["gpu_duration"] < df["cpu_duration"])
            ).sum()
        ),
        "runtime_outliers(cpu_dur>50us)": int((df["cpu_duration"] > runtime_cutoff).sum()),
        "launch_delay_outliers(>100us)": int((df["launch_delay"] > delay_cutoff).sum()),
        "cpu_duration_describe": _describe(df["cpu_duration"]),
        "gpu_duration_describe": _describe(df["gpu_duration"]),
        "launch_delay_describe": _describe(df["launch_delay"]),
    }


def run(trace_dir: Path, out: Path | None) -> None:
    import pandas as pd
    from hta.trace_analysis import TraceAnalysis

    analyzer = TraceAnalysis(trace_dir=str(trace_dir))
    ranks = analyzer.t.get_ranks()
    temporal = analyzer.get_temporal_breakdown(visualize=False)
    idle = [
        analyzer.get_idle_time_breakdown(ranks=[r], visualize=False, show_idle_interval_stats=True)
        for r in ranks
    ]
    kernel_types, top = analyzer.get_gpu_kernel_breakdown(
        visualize=False, include_memory_kernels=True
    )
    overlap = analyzer.get_comm_comp_overlap(visualize=False)
    launches = analyzer.get_cuda_kernel_launch_stats(ranks=ranks, visualize=False)
    if out is None:
        return
    out.mkdir(parents=True, exist_ok=True)
    temporal.to_csv(out / "temporal_breakdown.csv", index=False)
    pd.concat([i[0] for i in idle]).to_csv(out / "idle_time_breakdown.csv", index=False)
    pd.concat([i[1] for i in idle]).to_csv(out / "idle_interval_stats.csv")
    kernel_types.to_csv(out / "kernel_type_breakdown.csv", index=False)
    top.to_csv(out / "kernel_breakdown_top.csv", index=False)
    overlap.to_csv(out / "comm_comp_overlap.csv", index=False)
    summary = {str(r): launch_summary(df) for r, df in launches.items()}
    (out / "cuda_kernel_launch_stats_summary.json").write_text(json.dumps(summary, indent=2))
    for name, frame in (
        ("queue_length_summary.csv", analyzer.get_queue_length_summary(ranks=ranks)),
        ("memory_bw_summary.csv", analyzer.get_memory_bw_summary(ranks=ranks)),
    ):
        if frame is None:
            (out / name).write_text("")
            continue
        frame.columns = ["_".join(c) for c in frame.columns]
        frame.to_csv(out / name)
    meta = {"hta_version": "0.5.0", "ranks": [int(r) for r in ranks]}
    (out / "trace_meta.json").write_text(json.dumps(meta, indent=2))


def critical_path(trace_dir: Path, out: Path, annotation: str) -> None:
    from hta.analyzers.critical_path_analysis import CriticalPathAnalysis
    from hta.trace_analysis import TraceAnalysis

    analyzer = TraceAnalysis(trace_dir=str(trace_dir))
    names = analyzer.t.symbol_table.get_sym_table()
    answers: dict[str, Any] = {"hta_version": "0.5.0", "annotation": annotation, "ranks": {}}
    for rank in analyzer.t.get_ranks():
        df = analyzer.t.get_trace(rank)
        # HTA's instance i is the i-th event (in its frame's order) whose name contains the
        # annotation, GPU-side copies included; we ask for the CPU ones, one window each.
        ids = [i for i, n in enumerate(names) if annotation in n]
        rows = df[df["name"].isin(ids)].reset_index(drop=True)
        windows = []
        for instance, row in rows.iterrows():
            if int(row["stream"]) != -1 or names[int(row["cat"])] == "gpu_user_annotation":
                continue
            answer = _one_path(analyzer, CriticalPathAnalysis, int(rank), annotation, int(instance))
            window = {
                "name": names[int(row["name"])],
                "instance": int(instance),
                "start_us": int(row["ts"]),
                "end_us": int(row["ts"] + row["dur"]),
                "dur_us": int(row["dur"]),
            }
            windows.append({**window, **answer})
        answers["ranks"][str(rank)] = windows
    out.mkdir(parents=True, exist_ok=True)
    (out / "critical_path.json").write_text(json.dumps(answers, indent=2))


def _one_path(analyzer: Any, cpa: Any, rank: int, annotation: str, instance: int) -> dict[str, Any]:
    try:
        graph, ok = cpa.critical_path_analysis(analyzer.t, rank, annotation, instance)
    except Exception as exc:  # noqa: BLE001 - HTA's own failure is the answer to record
        return {"status": f"HTA raised {type(exc).__name__}: {exc}"[:300]}
    if not ok:
        return {"status": "no critical path"}
    edges = graph.get_critical_path_breakdown()
    total = float(edges.duration.sum())
    shares = edges.groupby("bound_by").duration.sum() / total * 100 if total else {}
    return {
        "status": "ok",
        "path_length_us": total,
        "edges": len(edges),
        "bound_by_pct": {str(k): float(v) for k, v in dict(shares).items()},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trace_dir", type=Path)
    parser.add_argument("out_dir", type=Path, nargs="?")
    parser.add_argument("--timing-only", action="store_true")
    parser.add_argument("--critical-path", action="store_true")
    parser.add_argument("--annotation", default="ProfilerStep")
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)
    warnings.simplefilter("ignore")
    if args.critical_path:
        critical_path(args.trace_dir, args.out_dir, args.annotation)
        return 0
    run(args.trace_dir, None if args.timing_only else args.out_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
