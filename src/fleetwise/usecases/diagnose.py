"""Diagnoses that store their findings: a trace set, a benchmark run, a cluster's jobs.

Each prices its findings with the fleet profile: cluster findings at the profile's price
over the profile's year; trace and benchmark findings only for the fleet GPUs their source
represents (the profile's ``workloads``), else not at all. Each analysis is keyed by its
input (``trace:<folder>``, ``host:<name>``, the job log's source), so diagnosing the same
input again supersedes the earlier analysis in every total (``usecases.ledger``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from fleetwise.analyze.bench_findings import CostModel, bench_findings
from fleetwise.analyze.cluster import ClusterReport, analyze_cluster
from fleetwise.analyze.cluster_jobs import job_totals_sql
from fleetwise.analyze.cluster_telemetry import analyze_telemetry
from fleetwise.analyze.findings import trace_findings
from fleetwise.analyze.fragmentation import latest_nodes
from fleetwise.analyze.fragmentation_sql import fragmentation_of_sql
from fleetwise.analyze.records import as_json
from fleetwise.analyze.traces_report import analyze_trace_set
from fleetwise.errors import InputError
from fleetwise.models import Finding, NodeRecord
from fleetwise.plan.fleet import FleetProfile
from fleetwise.store import Store
from fleetwise.usecases.fleet import represented
from fleetwise.usecases.telemetry import Telemetry, read_telemetry, stored_telemetry


def diagnose_trace(
    store: Store, folder: Path, tags: Sequence[str], profile: FleetProfile
) -> tuple[int, list[Finding]]:
    """Analyse a trace set, price its findings for what it represents, store them."""
    report = analyze_trace_set(folder)
    findings = trace_findings(report, represented(profile, f"trace:{folder}"))
    analysis_id = store.save_analysis(
        kind="trace",
        source=str(folder),
        summary=as_json(report),
        findings=findings,
        tags=list(tags),
    )
    return analysis_id, findings


def diagnose_run(store: Store, run_id: int, profile: FleetProfile) -> int | None:
    """Diagnose a benchmark run once (None when it already was). The analysis speaks for
    the run's host (``host:<name>``): a newer run on the same host supersedes it."""
    if store.analyses("bench", tag=f"run:{run_id}"):
        return None
    run = store.get_run(run_id)
    source = f"host:{run.host}"
    found = bench_findings(store.results(run_id), CostModel(represented(profile, source)))
    return store.save_analysis(
        "bench",
        source,
        {"run_id": run_id, "host": run.host, "findings": len(found)},
        found,
        tags=[f"run:{run_id}"],
    )


def diagnose_cluster(
    store: Store,
    nodes: list[NodeRecord],
    profile: FleetProfile,
    *,
    source: str | None = None,
    telemetry: Path | None = None,
    gpus: int | None = None,
    telemetry_source: str | None = None,
) -> tuple[ClusterReport, int]:
    """Diagnose stored jobs (with nodes and telemetry when given), priced at the profile's
    fleet price over its year, and store the analysis. The job log's figures are queries
    over the columnar store (``analyze/cluster_jobs.py``), and so are the node analyses
    (``analyze/fragmentation_sql.py``): no job record is read. Without jobs, the
    telemetry and the nodes alone are analysed (``analyze/cluster_telemetry.py``)."""
    data = store.jobs_data()
    with data.connect(source) as con:
        count_row = con.execute("SELECT count(*) FROM jobs").fetchall()[0]
        has_jobs = bool(count_row and count_row[0])
        if not has_jobs and telemetry is None and telemetry_source is None:
            raise InputError(
                f"no jobs in {store.display_url}: run `fleetwise cluster import FILE`, or give "
                "--telemetry FILE to analyse telemetry and the stored nodes alone"
            )
        read = _telemetry(store, telemetry, telemetry_source)
        series = read.series if read is not None else None
        if series is not None and not has_jobs:
            if gpus is not None:
                raise InputError("--gpus applies to a job log; the node list gives the capacity")
            report = analyze_telemetry(
                series,
                nodes,
                source=source or f"telemetry:{series.source}",
                usd_per_gpu_hour=profile.price(),
                hours_per_year=profile.hours_per_year,
                health=read.health if read is not None else None,
            )
            return report, _save(store, report, read, nodes)
        label = source or ", ".join(
            sorted(s for (s,) in con.execute("SELECT DISTINCT source FROM jobs").fetchall())
        )
        if gpus is not None and gpus > profile.total_gpus:
            raise InputError(
                f"--gpus {gpus:,}: more than the {profile.total_gpus:,} GPUs of the fleet "
                f"profile ({profile.path or 'built-in default'}); no figure may speak for GPUs "
                "the fleet does not have (fleetwise fleet show)"
            )
        totals = job_totals_sql(con, label)
        views = fragmentation_of_sql(con, nodes) if nodes else None
    if gpus is None:
        # The node list when stored, else the fleet the profile describes.
        gpus = sum(n.gpus for n in latest_nodes(nodes).values()) if nodes else profile.total_gpus
    report = analyze_cluster(
        [],
        source=label,
        telemetry=series,
        total_gpus=gpus,
        usd_per_gpu_hour=profile.price(),
        hours_per_year=profile.hours_per_year,
        nodes=nodes,
        totals=totals,
        health=read.health if read is not None else None,
        node_views=views,
    )
    return report, _save(store, report, read, nodes)


def _telemetry(store: Store, path: Path | None, source: str | None) -> Telemetry | None:
    """The telemetry to analyse: a file streamed through DuckDB, or a stored source's
    samples (``usecases/telemetry.py``), its figures computed with SQL."""
    if path is not None and source is not None:
        raise InputError("give --telemetry FILE or --telemetry-source SOURCE, not both")
    if path is not None:
        return read_telemetry(path)
    return stored_telemetry(store, source) if source is not None else None


def _save(
    store: Store, report: ClusterReport, telemetry: Telemetry | None, nodes: list[NodeRecord]
) -> int:
    tags = ["cluster"] + ([f"telemetry:{telemetry.name}"] if telemetry else [])
    tags += sorted({f"nodes:{n.source}" for n in nodes})
    return store.save_analysis(
        kind="cluster",
        source=report.source,
        summary=report.summary(),
        findings=report.findings,
        tags=tags,
    )
