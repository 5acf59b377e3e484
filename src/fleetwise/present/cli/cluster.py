"""``fleetwise cluster import|nodes|analyze|fragmentation``: job logs and node lists into the
store, diagnosis out."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Group
from rich.table import Table
from rich.text import Text

from fleetwise.analyze.cluster import ClusterReport, WaitStats
from fleetwise.analyze.fragmentation import History, Snapshot
from fleetwise.analyze.fragmentation_sql import has_placements, history_sql, snapshot_sql
from fleetwise.checked import Gpus, Moment
from fleetwise.collect.importers.nodes import import_nodes
from fleetwise.errors import InputError
from fleetwise.models import SCHEMA_VERSION
from fleetwise.present.cli.cluster_telemetry import app as telemetry_app
from fleetwise.present.cli.common import (
    DbOption,
    FleetOption,
    JsonOption,
    checked,
    open_store,
    print_json,
    stdout,
)
from fleetwise.timeutil import as_utc
from fleetwise.units import duration, sig, usd
from fleetwise.usecases.diagnose import diagnose_cluster
from fleetwise.usecases.fleet import profile_for
from fleetwise.usecases.jobs_import import import_job_log

app = typer.Typer(help="Cluster job logs: import them, diagnose queueing and waste.")
app.add_typer(telemetry_app, name="telemetry")


class JobFormat(StrEnum):
    auto = "auto"
    slurm = "slurm"
    alibaba = "alibaba"
    alibaba2025 = "alibaba2025"
    helios = "helios"
    philly = "philly"
    csv = "csv"


def parse_map(items: list[str]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for item in items:
        column, sep, field = item.partition("=")
        if not sep or not column.strip() or not field.strip():
            raise InputError(f"--map {item!r}: expected COLUMN=FIELD")
        mapping[field.strip()] = column.strip()
    return mapping


@app.command("import")
def import_cmd(
    file: Annotated[Path, typer.Argument(help="Job log: sacct --parsable2, pods CSV, JSON...")],
    fmt: Annotated[JobFormat, typer.Option("--format", help="Format (sniffed by default).")] = (
        JobFormat.auto
    ),
    mapping: Annotated[
        list[str] | None,
        typer.Option("--map", help="CSV column for a field, COLUMN=FIELD (repeatable)."),
    ] = None,
    epoch: Annotated[
        datetime | None,
        typer.Option(
            help="Start of a log whose times are offsets (Alibaba 2023, 2025); default 1970.",
            callback=checked(Moment),
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """Import a cluster's job log into the store (jobs already stored are skipped)."""
    done = import_job_log(file, fmt.value, parse_map(mapping or []), epoch, lambda: open_store(db))
    skipped = "".join(
        f"; {n:,} row{'s' if n != 1 else ''} skipped: {why}" for why, n in done.skipped.items()
    )
    stdout().print(
        f"{file}: {done.jobs} jobs ({done.gpu_jobs} with GPUs) read as {done.fmt}; "
        f"{done.added} new stored" + skipped
    )


NodesSourceOption = Annotated[
    str | None,
    typer.Option(
        "--nodes-source",
        help="Only nodes imported from this source (FORMAT:PATH as `cluster nodes` stored it).",
    ),
]


class NodeFormat(StrEnum):
    auto = "auto"
    scontrol = "scontrol"
    philly = "philly"
    pai = "pai"
    alibaba = "alibaba"
    csv = "csv"


@app.command("nodes")
def nodes_cmd(
    file: Annotated[
        Path, typer.Argument(help="Node list: scontrol show node, machine list CSV...")
    ],
    fmt: Annotated[NodeFormat, typer.Option("--format", help="Format (sniffed by default).")] = (
        NodeFormat.auto
    ),
    captured_at: Annotated[
        datetime | None,
        typer.Option(
            help="When a node-state snapshot was taken (default: the file's mtime).",
            callback=checked(Moment),
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """Import a cluster's nodes (an inventory, or node state with allocated GPUs); a new
    import of the same file replaces its nodes."""
    found, nodes = import_nodes(file, fmt.value, as_utc(captured_at))
    source = f"{found}:{file.resolve()}"
    with open_store(db) as store:
        stored = store.replace_nodes(nodes, source)
    gpus = sum(n.gpus for n in nodes)
    kind = "node state" if any(n.gpus_used is not None for n in nodes) else "inventory"
    when = f" captured {nodes[0].captured_at:%Y-%m-%d %H:%M}Z" if nodes[0].captured_at else ""
    stdout().print(
        f"{file}: {stored} nodes, {gpus:,} GPUs read as {found} ({kind}{when}); stored as {source}"
    )


def _waits_table(title: str, rows: list[WaitStats]) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("group", no_wrap=True)
    for name in ("jobs", "mean wait", "p50", "p95", "p99"):
        table.add_column(name, justify="right", no_wrap=True)
    for s in rows:
        table.add_row(
            s.group, f"{s.jobs:,}", *(duration(h) for h in (s.mean_h, s.p50_h, s.p95_h, s.p99_h))
        )
    return table


def _measured(r: ClusterReport) -> str:
    if r.measured_utilization is None:
        return ""
    return f", measured use {r.measured_utilization:.0%} ({r.utilization_confidence})"


def cluster_view(r: ClusterReport, top: int = 10) -> Group:
    if not r.job_log:
        return telemetry_view(r)
    head = Text(
        f"{r.source}: {r.gpu_jobs} GPU jobs of {r.jobs} over {r.span_days:.1f} days, "
        f"{sig(r.gpu_hours)} GPU-hours"
        + (f", allocation {r.allocation:.0%}" if r.allocation is not None else "")
        + _measured(r)
    )
    months = sorted({m for v in r.gpu_hours_by_team_month.values() for m in v})
    usage = Table(title="GPU-hours by team and month", title_justify="left")
    usage.add_column("team", no_wrap=True)
    for m in months:
        usage.add_column(m, justify="right", no_wrap=True)
    ranked = sorted(r.gpu_hours_by_team_month.items(), key=lambda kv: -sum(kv[1].values()))
    for team, by_month in ranked[:top]:
        usage.add_row(team, *(sig(by_month.get(m, 0.0)) for m in months))
    found = findings_table(r)
    parts: list[Any] = [
        head,
        _waits_table("queue wait by team/VC (worst p95 first)", r.waits_by_team[:top]),
        _waits_table("queue wait by job size (GPUs)", r.waits_by_size),
        usage,
    ]
    if r.now is not None:
        parts.append(snapshot_table(r.now))
    if r.placement_history is not None:
        parts.append(history_text(r.placement_history))
    elif r.placement_note:
        parts.append(Text(f"fragmentation over time: not computed: {r.placement_note}"))
    if any(g.unhealthy for g in r.health):
        parts.append(health_table(r))
    parts.append(found)
    return Group(*parts)


def findings_table(r: ClusterReport) -> Table:
    found = Table(title="findings", title_justify="left")
    for name in ("severity", "finding", "GPU-h/yr", "$/yr"):
        found.add_column(name, justify="right" if "/" in name else "left", overflow="fold")
    for f in sorted(r.findings, key=lambda f: -(f.cost.usd_per_year if f.cost else 0)):
        found.add_row(
            f.severity.value,
            f.title,
            sig(f.cost.gpu_hours_per_year) if f.cost else "-",
            usd(f.cost.usd_per_year) if f.cost else "-",
        )
    return found


def health_table(r: ClusterReport) -> Table:
    table = Table(title="node health (DCGM XID and ECC)", title_justify="left")
    for name in ("host", "GPU", "hours unhealthy", "since (UTC)", "why"):
        table.add_column(name, justify="right" if name.startswith("hours") else "left")
    for g in sorted(r.health, key=lambda g: -g.unhealthy_hours):
        if g.unhealthy:
            since = f"{g.first_unhealthy:%Y-%m-%d %H:%M}" if g.first_unhealthy else "-"
            why = "; ".join(g.reasons())
            table.add_row(g.host or "?", g.gpu, duration(g.unhealthy_hours), since, why)
    return table


def telemetry_view(r: ClusterReport) -> Group:
    """A report from telemetry and nodes alone: no job sections, said so."""
    capacity = f"{r.capacity_gpus:,} GPUs (node list)" if r.capacity_gpus else "unknown"
    head = Text(
        f"{r.source}: telemetry over {r.span_days:.1f} days; capacity {capacity}"
        + (f", telemetry saw {r.telemetry_gpus:,} GPUs" if r.telemetry_gpus else "")
        + (
            f", allocation {r.allocation:.0%} (from the telemetry)"
            if r.allocation is not None
            else ""
        )
        + _measured(r)
    )
    parts: list[Any] = [head]
    if r.utilization_by_day:
        daily = Table(
            title=f"measured utilization by day ({r.utilization_basis})",
            title_justify="left",
            min_width=48,
        )
        daily.add_column("day (UTC)", no_wrap=True)
        daily.add_column("mean", justify="right")
        for day, value in r.utilization_by_day:
            daily.add_row(day, f"{value:.1%}")
        parts.append(daily)
    if r.profiling:
        fields = Table(
            title="DCGM fields (mean over GPUs and time)", title_justify="left", min_width=48
        )
        fields.add_column("field", no_wrap=True)
        fields.add_column("mean", justify="right")
        for name, value in r.profiling.items():
            fields.add_row(name, f"{value:.1%}")
        parts.append(fields)
    if r.now is not None:
        parts.append(snapshot_table(r.now))
    if any(g.unhealthy for g in r.health):
        parts.append(health_table(r))
    parts.extend(Text(f"note: {n}") for n in r.notes)
    parts.append(findings_table(r))
    return Group(*parts)


def snapshot_table(now: Snapshot) -> Table:
    table = Table(
        title=(
            f"nodes now ({now.basis}): {now.free:,} GPUs free, {now.stranded:,} stranded, "
            f"largest gang {now.largest_gang:,}; {_jobs(now.waiting_jobs)} waiting, "
            f"{now.blocked_jobs:,} of them blocked by placement"
        ),
        title_justify="left",
    )
    names = ("pool", "nodes", "down", "GPUs", "used", "free", "whole free nodes")
    for name in (*names, "stranded", "largest gang"):
        table.add_column(name, justify="left" if name == "pool" else "right", no_wrap=True)
    for p in now.pools:
        shape = str(p.largest_gang)
        if p.gang_whole_nodes:
            whole = f"{p.gang_whole_nodes} whole"
            shape += f" ({whole} + {p.gang_remainder})" if p.gang_remainder else f" ({whole})"
        table.add_row(
            p.pool,
            f"{p.nodes:,}",
            f"{p.unavailable_nodes:,}",
            f"{p.gpus:,}",
            f"{p.used:,}",
            f"{p.free:,}",
            f"{p.whole_free_nodes:,}",
            f"{p.stranded:,}",
            shape,
        )
    return table


def _jobs(n: int) -> str:
    return f"{n:,} job" + ("" if n == 1 else "s")


def history_text(h: History) -> Text:
    return Text(
        f"fragmentation over {h.hours:,.0f} h ({h.coverage:.1%} of started GPU jobs placed): "
        f"{sig(h.stranded_gpu_hours)} GPU-hours stranded on partly used nodes, "
        f"{sig(h.blocked_stranded_gpu_hours)} of them while a job waited that fitted by count "
        f"but not by placement ({_jobs(h.blocked_jobs)}, {sig(h.blocked_job_hours)} job-hours "
        f"blocked); mean free {sig(h.mean_free_gpus)} GPUs, mean largest gang "
        f"{sig(h.mean_largest_gang)}"
    )


def cluster_document(r: ClusterReport, analysis_id: int) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "analysis_id": analysis_id,
        "source": r.source,
        "summary": r.summary(),
        "findings": [f.model_dump(mode="json") for f in r.findings],
        "waits_by_team": [asdict(s) for s in r.waits_by_team],
    }


@app.command("analyze")
def analyze_cmd(
    db: DbOption = None,
    json_out: JsonOption = False,
    source: Annotated[
        str | None, typer.Option(help="Only jobs imported from this source (see --json).")
    ] = None,
    nodes_source: NodesSourceOption = None,
    telemetry: Annotated[
        Path | None,
        typer.Option(help="DCGM/Prometheus export or per-minute cluster sequence (CSV)."),
    ] = None,
    telemetry_source: Annotated[
        str | None,
        typer.Option(help="Stored telemetry (FORMAT:PATH, see `cluster telemetry list`)."),
    ] = None,
    gpus: Annotated[
        int | None,
        typer.Option(
            help="GPUs in the cluster, for allocation without telemetry (default: the "
            "stored nodes' GPUs).",
            callback=checked(Gpus),
        ),
    ] = None,
    fleet: FleetOption = None,
) -> None:
    """Diagnose the stored jobs: waits, GPU-hours, lost work, idle and stranded GPUs; with
    no job log, the telemetry and nodes alone (capacity, measured use, node health)."""
    with open_store(db, must_exist=True) as store:
        if source is not None and not store.jobs_data().count(source):
            raise InputError(f"no jobs from {source!r} in {store.display_url}")
        nodes = store.nodes(nodes_source)
        if nodes_source is not None and not nodes:
            raise InputError(f"no nodes from {nodes_source!r} in {store.display_url}")
        report, analysis_id = diagnose_cluster(
            store,
            nodes,
            profile_for(fleet),
            source=source,
            telemetry=telemetry,
            gpus=gpus,
            telemetry_source=telemetry_source,
        )
    if json_out:
        print_json(cluster_document(report, analysis_id))
        return
    stdout().print(cluster_view(report))


@app.command("fragmentation")
def fragmentation_cmd(
    db: DbOption = None,
    json_out: JsonOption = False,
    at: Annotated[
        datetime | None,
        typer.Option(
            help="Show the nodes at this time, from the jobs' placements (default: the "
            "node-state snapshot, else the end of the job log).",
            callback=checked(Moment),
        ),
    ] = None,
    source: Annotated[str | None, typer.Option(help="Only jobs imported from this source.")] = (
        None
    ),
    nodes_source: NodesSourceOption = None,
) -> None:
    """Free, stranded GPUs and the largest gang that could be placed now, per pool of nodes;
    with job placements, fragmentation over the whole log."""
    with open_store(db, must_exist=True) as store:
        nodes = store.nodes(nodes_source)
        if not nodes:
            raise InputError(
                f"no nodes in {store.display_url}; run `fleetwise cluster nodes FILE` "
                "(scontrol show node, a machine list)"
            )
        when = as_utc(at)
        has_state = when is None and any(n.gpus_used is not None for n in nodes)
        with store.jobs_data().connect(source) as con:
            if not has_state and not has_placements(con):
                raise InputError(
                    "no stored job has a placement"
                    + ("" if when is not None else " and the stored nodes have no allocation")
                    + ": import a job log with node lists (sacct NodeList, Philly) "
                    "or `scontrol show node` output"
                )
            now = snapshot_sql(con, nodes, when)
            has_jobs = bool(con.execute("SELECT count(*) FROM jobs").fetchall()[0][0])
            over = history_sql(con, nodes) if has_jobs else "no jobs stored"
    if json_out:
        print_json(
            {
                "schema_version": SCHEMA_VERSION,
                "now": now.summary(),
                "history": over.summary() if isinstance(over, History) else None,
                "history_note": over if isinstance(over, str) else "",
            }
        )
        return
    out = stdout()
    out.print(snapshot_table(now))
    if now.unknown_hosts:
        out.print(f"hosts in placements but not among the nodes: {', '.join(now.unknown_hosts)}")
    out.print(history_text(over) if isinstance(over, History) else f"over time: {over}")
