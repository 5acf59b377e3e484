"""``fleetwise cluster import`` and ``cluster analyze``: job logs into the store, diagnosis out."""

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

from fleetwise.analyze.cluster import ClusterReport, WaitStats, analyze_cluster
from fleetwise.collect.importers.jobs import import_jobs
from fleetwise.collect.importers.telemetry import import_telemetry
from fleetwise.errors import InputError
from fleetwise.models import SCHEMA_VERSION, JobRecord
from fleetwise.plan.invest import load_defaults
from fleetwise.present.cli.common import DbOption, JsonOption, open_store, print_json, stdout
from fleetwise.store import Store
from fleetwise.units import sig

app = typer.Typer(help="Cluster job logs: import them, diagnose queueing and waste.")


class JobFormat(StrEnum):
    auto = "auto"
    slurm = "slurm"
    alibaba = "alibaba"
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
        typer.Option(help="Start of a log whose times are offsets (Alibaba); default 1970."),
    ] = None,
    db: DbOption = None,
) -> None:
    """Import a cluster's job log into the store (jobs already stored are skipped)."""
    found, jobs = import_jobs(file, fmt.value, parse_map(mapping or []), epoch)
    source = f"{found}:{file.resolve()}"
    store = open_store(db)
    try:
        added = store.add_jobs(jobs, source)
    finally:
        store.close()
    gpu_jobs = sum(1 for j in jobs if j.gpus > 0)
    stdout().print(
        f"{file}: {len(jobs)} jobs ({gpu_jobs} with GPUs) read as {found}; {added} new stored"
    )


def _waits_table(title: str, rows: list[WaitStats]) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("group", no_wrap=True)
    for name in ("jobs", "mean h", "p50 h", "p95 h", "p99 h"):
        table.add_column(name, justify="right", no_wrap=True)
    for s in rows:
        table.add_row(s.group, str(s.jobs), sig(s.mean_h), sig(s.p50_h), sig(s.p95_h), sig(s.p99_h))
    return table


def cluster_view(r: ClusterReport, top: int = 10) -> Group:
    head = Text(
        f"{r.source}: {r.gpu_jobs} GPU jobs of {r.jobs} over {r.span_days:.1f} days, "
        f"{sig(r.gpu_hours)} GPU-hours"
        + (f", allocation {r.allocation:.0%}" if r.allocation is not None else "")
        + (f", measured use {r.measured_utilization:.0%}" if r.measured_utilization else "")
    )
    months = sorted({m for v in r.gpu_hours_by_team_month.values() for m in v})
    usage = Table(title="GPU-hours by team and month", title_justify="left")
    usage.add_column("team", no_wrap=True)
    for m in months:
        usage.add_column(m, justify="right", no_wrap=True)
    ranked = sorted(r.gpu_hours_by_team_month.items(), key=lambda kv: -sum(kv[1].values()))
    for team, by_month in ranked[:top]:
        usage.add_row(team, *(sig(by_month.get(m, 0.0)) for m in months))
    found = Table(title="findings", title_justify="left")
    for name in ("severity", "finding", "GPU-h/yr", "$/yr"):
        found.add_column(name, justify="right" if "/" in name else "left", overflow="fold")
    for f in sorted(r.findings, key=lambda f: -(f.cost.usd_per_year if f.cost else 0)):
        found.add_row(
            f.severity.value,
            f.title,
            sig(f.cost.gpu_hours_per_year) if f.cost else "-",
            f"${sig(f.cost.usd_per_year)}" if f.cost else "-",
        )
    return Group(
        head,
        _waits_table("queue wait by team/VC (worst p95 first)", r.waits_by_team[:top]),
        _waits_table("queue wait by job size (GPUs)", r.waits_by_size),
        usage,
        found,
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
    telemetry: Annotated[
        Path | None,
        typer.Option(help="DCGM/Prometheus export or per-minute cluster sequence (CSV)."),
    ] = None,
    gpus: Annotated[
        int | None, typer.Option(help="GPUs in the cluster (for allocation without telemetry).")
    ] = None,
    price: Annotated[
        float | None, typer.Option(help="USD per GPU-hour for costs (default: on-demand default).")
    ] = None,
) -> None:
    """Diagnose the stored jobs: waits, GPU-hours, lost work, idle and stranded GPUs."""
    store = open_store(db)
    try:
        jobs = store.jobs(source=source)
        if not jobs:
            raise InputError(f"no jobs in {store.display_url}; run `fleetwise cluster import FILE`")
        report, analysis_id = _analyze_and_save(store, jobs, source, telemetry, gpus, price)
    finally:
        store.close()
    if json_out:
        print_json(cluster_document(report, analysis_id))
        return
    stdout().print(cluster_view(report))


def _analyze_and_save(
    store: Store,
    jobs: list[JobRecord],
    source: str | None,
    telemetry: Path | None,
    gpus: int | None,
    price: float | None,
) -> tuple[ClusterReport, int]:
    series = import_telemetry(telemetry) if telemetry is not None else None
    usd = price if price is not None else load_defaults()["on_demand_usd_per_gpu_hour"].value
    label = source or ", ".join(sorted({j.source for j in jobs}))
    report = analyze_cluster(
        jobs, source=label, telemetry=series, total_gpus=gpus, usd_per_gpu_hour=usd
    )
    tags = ["cluster"] + ([f"telemetry:{telemetry.name}"] if telemetry else [])
    analysis_id = store.save_analysis(
        kind="cluster", source=label, summary=report.summary(), findings=report.findings, tags=tags
    )
    return report, analysis_id
