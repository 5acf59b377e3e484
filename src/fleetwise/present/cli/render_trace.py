"""Tables for trace analyses, trace diffs and findings. Pure: records in, renderables out."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Group
from rich.table import Table
from rich.text import Text

from fleetwise.analyze.critical_path import BOUND_BY, CriticalPath
from fleetwise.analyze.traces_diff import TraceDiff
from fleetwise.analyze.traces_report import TraceReport
from fleetwise.models import Finding
from fleetwise.units import count, percent, usd

_SEVERITY_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan"}
_NAME_WIDTH = 60


def _short(name: str, width: int = _NAME_WIDTH) -> str:
    return name if len(name) <= width else name[: width - 1] + "…"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _num(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _table(title: str, *columns: str, right_from: int = 1) -> Table:
    table = Table(title=title, title_justify="left")
    for i, name in enumerate(columns):
        table.add_column(name, justify="right" if i >= right_from else "left", no_wrap=True)
    return table


def report_view(report: TraceReport) -> Group:
    ranks = _table("trace set", "rank", "file", "events", "GPU events", "steps", right_from=2)
    for r in report.ranks:
        steps = ",".join(map(str, r.steps)) or "-"
        ranks.add_row(str(r.rank), r.file, f"{r.events:,}", f"{r.gpu_events:,}", steps)
    temporal = _table(
        "temporal breakdown (GPU window)",
        "rank",
        "window us",
        "idle us",
        "compute us",
        "non-compute us",
        "idle %",
        "compute %",
        "non-compute %",
    )
    for t in report.temporal:
        temporal.add_row(
            str(t.rank),
            f"{t.window_us:,}",
            f"{t.idle_us:,}",
            f"{t.compute_us:,}",
            f"{t.non_compute_us:,}",
            _pct(t.idle_pct),
            _pct(t.compute_pct),
            _pct(t.non_compute_pct),
        )
    idle = _table(
        "idle time by cause",
        "rank",
        "stream",
        "cause",
        "idle us",
        "share",
        "gaps",
        "median gap us",
        right_from=3,
    )
    for i in report.idle:
        idle.add_row(
            str(i.rank),
            str(i.stream),
            i.category,
            f"{i.idle_us:,}",
            "-" if i.ratio is None else f"{100 * i.ratio:.1f}%",
            f"{int(i.intervals['count'] or 0):,}",
            _num(i.intervals["50%"]),
        )
    types = _table("kernel types (all ranks)", "kernel type", "time us", "share %")
    for k in report.kernel_types:
        types.add_row(k.kernel_type, f"{k.total_us:,}", f"{k.pct:.1f}")
    top = _table(
        "top kernels", "rank", "type", "kernel", "total us", "mean us", "max us", right_from=3
    )
    for kst in sorted(report.top_kernels, key=lambda x: (x.rank, x.kernel_type, -x.sum_us)):
        top.add_row(
            str(kst.rank),
            kst.kernel_type,
            _short(kst.name),
            f"{kst.sum_us:,}",
            _num(kst.mean_us),
            _num(kst.max_us),
        )
    overlap = _table("communication / computation overlap", "rank", "comm us", "overlap %")
    for o in report.overlap:
        overlap.add_row(str(o.rank), f"{o.comm_us:,}", _pct(o.overlap_pct))
    launches = _table(
        "kernel launches",
        "rank",
        "launches",
        "short kernels",
        "calls > 50 us",
        "delay > 100 us",
        "median call us",
        "median delay us",
    )
    for s in report.launches:
        launches.add_row(
            str(s.rank),
            f"{s.n:,}",
            f"{s.short_kernels:,}",
            f"{s.runtime_outliers:,}",
            f"{s.launch_delay_outliers:,}",
            _num(s.cpu_duration["50%"]),
            _num(s.launch_delay["50%"]),
        )
    parts: list[Table | Text] = [ranks, temporal, idle, types, top, overlap, launches]
    parts += _counter_tables(report)
    return Group(*parts)


def _counter_tables(report: TraceReport) -> list[Table | Text]:
    out: list[Table | Text] = []
    queue = _table("launch queue length", "rank", "stream", "points", "mean", "median", "max")
    for q in report.queue_length:
        queue.add_row(
            str(q.rank),
            str(q.stream),
            f"{int(q.stats['count'] or 0):,}",
            _num(q.stats["mean"], 2),
            _num(q.stats["50%"]),
            _num(q.stats["max"], 0),
        )
    out.append(queue)
    if report.memory_bandwidth:
        bw = _table(
            "memcpy / memset bandwidth",
            "rank",
            "kind",
            "copies",
            "busy us",
            "median GB/s",
            "max GB/s",
        )
        for m in report.memory_bandwidth:
            bw.add_row(
                str(m.rank),
                m.kind,
                f"{m.count:,}",
                f"{m.busy_us:,}",
                _num(m.stats["50%"], 3),
                _num(m.stats["max"], 3),
            )
        out.append(bw)
    if report.steps:
        steps = _table(
            "profiler steps",
            "rank",
            "step",
            "step us",
            "GPU window us",
            "GPU busy us",
            "compute us",
            "comm us",
            "kernels",
        )
        for s in report.steps:
            steps.add_row(
                str(s.rank),
                str(s.step),
                f"{s.step_us:,}",
                f"{s.gpu_window_us:,}",
                f"{s.gpu_busy_us:,}",
                f"{s.compute_us:,}",
                f"{s.comm_us:,}",
                f"{s.kernels:,}",
            )
        out.append(steps)
    st = report.stragglers
    if st.ranks > 1:
        late = ", ".join(f"rank {r}: {c}" for r, c in sorted(st.late_counts.items()))
        verdict = ", ".join(map(str, st.stragglers)) or "none"
        out.append(
            Text(
                f"stragglers: {verdict} ({st.collectives} collectives matched; "
                f"last to arrive: {late})"
            )
        )
    return out


def findings_view(findings: Sequence[Finding]) -> Group:
    if not findings:
        return Group(Text("no findings: nothing in these traces crosses a threshold"))
    table = Table(title="findings", title_justify="left")
    table.add_column("severity", no_wrap=True)
    table.add_column("finding", overflow="fold", ratio=1)
    table.add_column("GPU-h/yr", justify="right", no_wrap=True)
    table.add_column("$/yr", justify="right", no_wrap=True)
    notes: list[Text] = []
    for f in findings:
        cost = f.cost
        table.add_row(
            Text(f.severity.value, style=_SEVERITY_STYLE.get(f.severity.value, "")),
            f.title,
            "-" if cost is None else f"{cost.gpu_hours_per_year:,.0f}",
            "-" if cost is None else f"{cost.usd_per_year:,.0f}",
        )
        notes.append(Text(f"{f.kind}: {f.title}", style="bold"))
        for e in f.evidence:
            unit = f" {e.unit}" if e.unit else ""
            notes.append(Text(f"  evidence: {e.label} = {e.value}{unit}"))
        for r in f.recommendations:
            notes.append(Text(f"  consider: {r}"))
        if cost is not None:
            a = cost.assumptions
            notes.append(
                Text(
                    f"  cost: {a.get('wasted_pct_of_gpu_time')}% of GPU time"
                    f" x {a.get('represents')}"
                    f" x {count(float(a.get('hours_per_year', 0)))} h"
                    f" x {usd(float(a.get('usd_per_gpu_hour', 0)))}/GPU-h ({a.get('basis')})"
                )
            )
        elif f.share is not None:
            notes.append(
                Text(
                    f"  cost: none for the fleet: this trace represents no fleet GPUs in the "
                    f"fleet profile ({percent(f.share)} of its own GPU time)"
                )
            )
    return Group(table, *notes)


def runtime_diff_view(diff: TraceDiff, limit: int = 30) -> Group:
    """The CUDA/HIP runtime and driver calls of a trace diff, as their own table."""
    table = _table(
        "CUDA runtime calls (per rank per step)",
        "change",
        "name",
        "A us",
        "B us",
        "delta us",
        "A count",
        "B count",
        right_from=2,
    )
    for e in diff.runtime[:limit]:
        table.add_row(
            e.change,
            _short(e.name),
            _num(e.a_us_per_step),
            _num(e.b_us_per_step),
            f"{e.delta_us:+,.1f}",
            _num(e.a_count_per_step),
            _num(e.b_count_per_step),
        )
    if not diff.runtime:
        return Group(Text("CUDA runtime calls: no change"))
    parts: list[Table | Text] = [table]
    if len(diff.runtime) > limit:
        parts.append(Text(f"... {len(diff.runtime) - limit} more (use --json for all)"))
    return Group(*parts)


def diff_view(diff: TraceDiff, a: str, b: str, limit: int = 30) -> Group:
    head = Text(
        f"A = {a} ({diff.a_ranks} ranks, {diff.a_steps} steps)  B = {b} ({diff.b_ranks} ranks, "
        f"{diff.b_steps} steps); kernel time per rank per step: "
        f"{diff.a_kernel_us_per_step:,.0f} us -> {diff.b_kernel_us_per_step:,.0f} us"
    )
    table = _table(
        "changes (per rank per step)",
        "kind",
        "change",
        "name",
        "A us",
        "B us",
        "delta us",
        "A count",
        "B count",
        right_from=3,
    )
    for e in diff.entries[:limit]:
        table.add_row(
            e.kind,
            e.change,
            _short(e.name),
            _num(e.a_us_per_step),
            _num(e.b_us_per_step),
            f"{e.delta_us:+,.1f}",
            _num(e.a_count_per_step),
            _num(e.b_count_per_step),
        )
    parts: list[Table | Text] = [head, table]
    if len(diff.entries) > limit:
        parts.append(Text(f"... {len(diff.entries) - limit} more (use --json for all)"))
    return Group(*parts)


_BOUND_BY_LABEL = {
    "cpu_bound": "CPU %",
    "gpu_compute_bound": "compute %",
    "gpu_communication_bound": "comm %",
    "gpu_kernel_kernel_overhead": "kernel gaps %",
    "gpu_kernel_launch_overhead": "launch %",
}


def critical_path_view(paths: Sequence[CriticalPath]) -> Group:
    table = _table(
        "critical path (HTA definitions)",
        "rank",
        "window",
        "window us",
        "path us",
        "edges",
        *(_BOUND_BY_LABEL[k] for k in BOUND_BY),
        right_from=2,
    )
    for p in paths:
        table.add_row(
            str(p.rank),
            _short(p.window, 40),
            _num(p.end_us - p.start_us, 0),
            _num(p.length_us, 0),
            count(p.edges),
            *(_pct(p.bound_by_pct[k]) for k in BOUND_BY),
        )
    note = Text("path us can exceed the window: kernels launched in the step may run past its end.")
    return Group(table, note)
