"""Orchestration diagnosis of a cluster's job log (and its telemetry, when there is some).

Definitions:

- wait = start - submit of a job that started; GPU jobs only (``gpus > 0``);
- GPU-hours of a job = ``gpus * (end - start)`` (running jobs up to the log's last time);
- lost GPU-hours = GPU-hours of jobs that ended failed, cancelled or timed out (their work
  is usually redone; the Helios and Philly studies count it the same way);
- allocation = GPU-hours allocated / (GPUs x time); from telemetry when it has totals,
  else from the jobs and ``total_gpus``. The allocation-vs-utilization gap needs measured
  utilization (DCGM): allocated GPU-hours x (1 - measured utilization) are paid and idle.
  Measured utilization is DCGM's SM_ACTIVE when the telemetry has it, else GPU_UTIL, which
  overstates use (any kernel on any SM counts the GPU busy): the basis and its confidence
  go with every figure (``utilization_basis``);
- node health (``analyze/node_health.py``): GPUs the telemetry's XID and ECC fields say
  were unhealthy, with the hours;
- stranded GPU-hours (fragmentation) = sum over telemetry samples of
  ``min(idle GPUs, pending GPUs) * interval``: GPUs free while jobs that want them wait,
  i.e. free in the wrong places (partly used nodes) or in pieces too small for the gang.
  With a node inventory and job placements, ``analyze/fragmentation.py`` measures it on
  the nodes instead (GPUs idle on partly used nodes while a waiting job could not be
  placed), and that finding replaces the telemetry one.

Yearly figures scale the log's span to ``hours_per_year``; dollars are GPU-hours times
``usd_per_gpu_hour``. Both are inputs, taken from the fleet profile (``plan/fleet.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fleetwise.analyze.cluster_jobs import (
    LOST_STATES,
    SIZE_BUCKETS,
    JobTotals,
    WaitStats,
    job_totals,
)
from fleetwise.analyze.fragmentation import History, Snapshot, fragmentation_of
from fleetwise.analyze.node_health import GpuHealth, gpu_health, health_findings
from fleetwise.collect.importers.telemetry import BASIS_CONFIDENCE, ClusterSeries
from fleetwise.models import Cost, Evidence, Finding, JobRecord, NodeRecord, Severity

__all__ = [
    "LOST_STATES",
    "SIZE_BUCKETS",
    "ClusterReport",
    "JobTotals",
    "WaitStats",
    "analyze_cluster",
]


@dataclass(frozen=True)
class ClusterReport:
    source: str
    jobs: int
    gpu_jobs: int
    span_days: float
    gpu_hours: float
    waits_by_team: list[WaitStats]
    waits_by_size: list[WaitStats]
    waits_by_hour: list[WaitStats]
    gpu_hours_by_team_month: dict[str, dict[str, float]]
    lost_gpu_hours: dict[str, float]
    allocation: float | None
    measured_utilization: float | None
    stranded_gpu_hours: float | None
    findings: list[Finding] = field(default_factory=list)
    #: Node-level fragmentation over the log, and why not when it could not be computed.
    placement_history: History | None = None
    placement_note: str = ""
    #: The nodes at the end of the log (or at the node-state snapshot).
    now: Snapshot | None = None
    #: False when only telemetry and nodes were analysed: the job sections are not computed.
    job_log: bool = True
    #: What ``measured_utilization`` is ("SM_ACTIVE", "GPU_UTIL") and how far to trust it.
    utilization_basis: str = ""
    #: Mean of each DCGM utilization field over the telemetry (short names, 0-1).
    profiling: dict[str, float] = field(default_factory=dict)
    #: Measured utilization per UTC day: (YYYY-MM-DD, mean).
    utilization_by_day: list[tuple[str, float]] = field(default_factory=list)
    #: GPUs with XID/ECC telemetry; the unhealthy ones have findings.
    health: list[GpuHealth] = field(default_factory=list)
    #: GPUs of the node inventory, and the most GPUs the telemetry saw at once.
    capacity_gpus: int | None = None
    telemetry_gpus: int | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def utilization_confidence(self) -> str:
        return BASIS_CONFIDENCE.get(self.utilization_basis, "")

    def summary(self) -> dict[str, Any]:
        def rows(stats: list[WaitStats]) -> list[dict[str, Any]]:
            return [s.__dict__ for s in stats]

        jobs = self.job_log
        return {
            "job_log": jobs,
            "jobs": self.jobs,
            "gpu_jobs": self.gpu_jobs,
            "span_days": self.span_days,
            "gpu_hours": self.gpu_hours if jobs else None,
            "waits_by_team": rows(self.waits_by_team),
            "waits_by_size": rows(self.waits_by_size),
            "waits_by_hour": rows(self.waits_by_hour),
            "gpu_hours_by_team_month": self.gpu_hours_by_team_month,
            "lost_gpu_hours": self.lost_gpu_hours if jobs else None,
            "allocation": self.allocation,
            "measured_utilization": self.measured_utilization,
            "utilization_basis": self.utilization_basis,
            "utilization_confidence": self.utilization_confidence,
            "profiling": self.profiling,
            "utilization_by_day": [list(d) for d in self.utilization_by_day],
            "unhealthy_gpus": [
                {"host": g.host, "gpu": g.gpu, "hours": g.unhealthy_hours, "why": g.reasons()}
                for g in self.health
                if g.unhealthy
            ],
            "capacity_gpus": self.capacity_gpus,
            "telemetry_gpus": self.telemetry_gpus,
            "notes": self.notes,
            "stranded_gpu_hours": self.stranded_gpu_hours,
            "placement": self.placement_history.summary() if self.placement_history else None,
            "placement_note": self.placement_note,
            "now": self.now.summary() if self.now else None,
        }


def _severity(share: float) -> Severity:
    if share >= 0.2:
        return Severity.HIGH
    if share >= 0.1:
        return Severity.MEDIUM
    return Severity.LOW if share >= 0.02 else Severity.INFO


def analyze_cluster(
    jobs: Sequence[JobRecord],
    *,
    source: str = "store:jobs",
    telemetry: ClusterSeries | None = None,
    total_gpus: int | None = None,
    usd_per_gpu_hour: float,
    hours_per_year: float,
    wait_target_h: float = 1.0,
    nodes: Sequence[NodeRecord] = (),
    totals: JobTotals | None = None,
    node_views: tuple[History | str, Snapshot | None] | None = None,
    health: Sequence[GpuHealth] | None = None,
) -> ClusterReport:
    """Waits, GPU-hours, lost work, allocation and fragmentation, with findings and costs.

    ``totals`` are the job log's figures when computed already (``job_totals_sql`` over
    the columnar store); ``node_views`` the node analyses when computed already
    (``fragmentation_sql.fragmentation_of_sql``); ``jobs`` are then not read."""
    t = totals if totals is not None else job_totals(jobs, source)
    span_days = t.span_days
    per_year = hours_per_year / 24.0 / span_days
    by_team = t.waits_by_team
    total_hours = t.gpu_hours
    lost = t.lost_gpu_hours
    findings: list[Finding] = []
    src = f"jobs:{source}"
    if t.overall is not None:
        overall = t.overall
        queued = t.queued_gpu_hours
        worst = by_team[0]
        if overall.p95_h > wait_target_h:
            findings.append(
                Finding(
                    kind="cluster.queue_wait",
                    layer="orchestration",
                    title=(
                        f"p95 queue wait {overall.p95_h:.1f} h exceeds the "
                        f"{wait_target_h:g} h target"
                    ),
                    detail=(
                        f"Worst team/VC by p95: {worst.group} ({worst.p95_h:.1f} h over "
                        f"{worst.jobs} jobs). "
                        "Cost counts the GPU-hours of demand held in the queue."
                    ),
                    severity=_severity(min(overall.p95_h / (wait_target_h * 50), 1.0)),
                    evidence=[
                        Evidence(
                            label="mean wait", value=round(overall.mean_h, 3), unit="h", source=src
                        ),
                        Evidence(
                            label="p95 wait", value=round(overall.p95_h, 3), unit="h", source=src
                        ),
                        Evidence(
                            label="p99 wait", value=round(overall.p99_h, 3), unit="h", source=src
                        ),
                        Evidence(
                            label="worst team p95",
                            value=round(worst.p95_h, 3),
                            unit="h",
                            source=src,
                        ),
                    ],
                    cost=Cost.of_gpu_hours(
                        queued * per_year, usd_per_gpu_hour, "GPU-hours of jobs waiting, per year"
                    ),
                    recommendations=[
                        "Check whether large gangs block the queue (waits by job size); "
                        "add backfill.",
                        "Size the cluster for the wait SLO: "
                        "fleetwise capacity size --slo 'p95 wait < 1h'.",
                    ],
                )
            )
    lost_total = sum(lost.values())
    if total_hours > 0 and lost_total > 0:
        share = lost_total / total_hours
        findings.append(
            Finding(
                kind="cluster.lost_work",
                layer="orchestration",
                title=f"{share:.0%} of GPU-hours went to jobs that failed or were cancelled",
                detail=", ".join(f"{k}: {v:,.0f} GPU-h" for k, v in sorted(lost.items())),
                severity=_severity(share),
                evidence=[
                    Evidence(label=f"{k} GPU-hours", value=round(v, 1), unit="GPU-h", source=src)
                    for k, v in sorted(lost.items())
                ]
                + [
                    Evidence(
                        label="all GPU-hours", value=round(total_hours, 1), unit="GPU-h", source=src
                    )
                ],
                cost=Cost.of_gpu_hours(
                    lost_total * per_year,
                    usd_per_gpu_hour,
                    "GPU-hours of failed/cancelled jobs, per year",
                ),
                recommendations=[
                    "Checkpoint long jobs and restart from the last checkpoint.",
                    "Fail fast: validate configs and data on one GPU before launching the gang.",
                ],
            )
        )

    allocation, measured, stranded = telemetry_findings(
        telemetry, total_gpus, total_hours, span_days, per_year, usd_per_gpu_hour, findings
    )
    if health is None:  # else computed already (``cluster_telemetry_sql.health_sql``)
        health = gpu_health(telemetry.health) if telemetry is not None else []
    if telemetry is not None:
        findings += health_findings(
            health,
            f"telemetry:{telemetry.source}",
            span_hours(telemetry),
            usd_per_gpu_hour,
            hours_per_year,
        )
    placed: History | None = None
    note = ""
    now: Snapshot | None = None
    if nodes:
        found, now = node_views if node_views is not None else fragmentation_of(nodes, jobs)
        if isinstance(found, str):
            note = found
        else:
            placed = found
            assert now is not None
            finding = placement_finding(placed, now, src, usd_per_gpu_hour, hours_per_year)
            if finding is not None:
                findings[:] = [f for f in findings if f.kind != finding.kind] + [finding]
    return ClusterReport(
        source=source,
        jobs=t.jobs,
        gpu_jobs=t.gpu_jobs,
        span_days=span_days,
        gpu_hours=total_hours,
        waits_by_team=by_team,
        waits_by_size=t.waits_by_size,
        waits_by_hour=t.waits_by_hour,
        gpu_hours_by_team_month=t.gpu_hours_by_team_month,
        lost_gpu_hours=dict(lost),
        allocation=allocation,
        measured_utilization=measured,
        stranded_gpu_hours=stranded,
        findings=findings,
        placement_history=placed,
        placement_note=note,
        now=now,
        **telemetry_view(telemetry),
        health=list(health),
    )


def span_hours(t: ClusterSeries) -> float:
    """Hours the telemetry covers, the last sample counting the median interval."""
    if len(t.times) < 2:
        return 0.0
    steps = np.diff(t.times).astype(np.float64)
    return float(steps.sum() + np.median(steps)) / 3600


def telemetry_view(t: ClusterSeries | None) -> dict[str, Any]:
    """The report fields the telemetry gives: basis, DCGM field means, use by day."""
    if t is None:
        return {}
    profiling = {
        name.removeprefix("DCGM_FI_PROF_").removeprefix("DCGM_FI_DEV_"): float(np.nanmean(v))
        for name, v in t.fields.items()
        if not np.all(np.isnan(v))
    }
    by_day: list[tuple[str, float]] = []
    keep = ~np.isnan(t.utilization)
    if keep.any():
        days = t.times[keep].astype("datetime64[D]")
        uniq, inverse = np.unique(days, return_inverse=True)
        means = np.bincount(inverse, weights=t.utilization[keep]) / np.bincount(inverse)
        by_day = [(str(d), float(m)) for d, m in zip(uniq, means, strict=True)]
    seen = t.total[~np.isnan(t.total)]
    return {
        "utilization_basis": t.basis,
        "profiling": profiling,
        "utilization_by_day": by_day,
        "telemetry_gpus": int(seen.max()) if t.unit == "GPUs" and len(seen) else None,
    }


def placement_finding(
    h: History, now: Snapshot, src: str, usd: float, hours_per_year: float
) -> Finding | None:
    """The node-level fragmentation finding: GPUs idle on partly used nodes while a
    waiting job could not be placed; None when no job was ever blocked by placement."""
    if h.blocked_stranded_gpu_hours <= 0:
        return None
    per_year = hours_per_year / max(h.hours, 1.0)
    share = h.blocked_stranded_gpu_hours / (h.capacity_gpus * max(h.hours, 1.0))
    return Finding(
        kind="cluster.fragmentation",
        layer="orchestration",
        title=(
            f"{h.blocked_stranded_gpu_hours:,.0f} GPU-hours idle on partly used nodes "
            f"while {h.blocked_jobs:,} job{'s' if h.blocked_jobs != 1 else ''} waited that "
            "fitted by count, not by placement"
        ),
        detail=(
            f"Over {h.hours:,.0f} h, for {h.blocked_hours:,.0f} h at least one waiting job had "
            "enough free GPUs in the cluster but not on few enough nodes (one node when it "
            "fits on one, else whole nodes plus one). "
            f"Now: {now.free} GPUs free, {now.stranded} of them on partly used nodes; the "
            f"largest gang that could be placed is {now.largest_gang} GPUs."
        ),
        severity=_severity(share * 5),
        evidence=[
            Evidence(
                label="stranded GPU-hours while a job was blocked",
                value=round(h.blocked_stranded_gpu_hours, 1),
                unit="GPU-h",
                source=src,
            ),
            Evidence(
                label="stranded GPU-hours in all",
                value=round(h.stranded_gpu_hours, 1),
                unit="GPU-h",
                source=src,
            ),
            Evidence(label="jobs blocked by placement", value=h.blocked_jobs, source=src),
            Evidence(
                label="their time blocked",
                value=round(h.blocked_job_hours, 1),
                unit="job-h",
                source=src,
            ),
            Evidence(
                label="largest gang placeable now",
                value=now.largest_gang,
                unit="GPUs",
                source=f"nodes:{now.basis}",
            ),
            Evidence(
                label="jobs with a placement",
                value=round(h.coverage, 4),
                unit="fraction",
                source=src,
            ),
        ],
        cost=Cost.of_gpu_hours(
            h.blocked_stranded_gpu_hours * per_year,
            usd,
            "GPU-hours idle on partly used nodes while a job waited for a placement, per year",
            capacity_gpus=h.capacity_gpus,
        ),
        recommendations=[
            "Pack small jobs best-fit onto partly used nodes; keep nodes whole for gangs.",
            "Use topology-aware gang placement and drain-and-defragment windows.",
            "Enable backfill so small jobs use the holes while gangs wait.",
        ],
    )


def telemetry_findings(
    t: ClusterSeries | None,
    total_gpus: int | None,
    job_gpu_hours: float,
    span_days: float,
    per_year: float,
    usd: float,
    findings: list[Finding],
) -> tuple[float | None, float | None, float | None]:
    allocation = measured = stranded = None
    idle_hours = None
    src = f"telemetry:{t.source}" if t is not None else "jobs"
    if t is not None and len(t.times) > 1 and t.unit == "GPUs":
        dt_h = np.diff(t.times).astype(np.float64) / 3600
        dt_h = np.append(dt_h, np.median(dt_h))
        t_per_year = per_year * 24 * span_days / float(dt_h.sum())  # hours a year / span
        if not np.all(np.isnan(t.busy)) and not np.all(np.isnan(t.total)):
            allocation = float(np.nansum(t.busy * dt_h) / np.nansum(t.total * dt_h))
            idle_hours = float(np.nansum((t.total - t.busy) * dt_h)) * t_per_year
        if not np.all(np.isnan(t.pending)) and not np.all(np.isnan(t.busy)):
            idle = np.clip(t.total - t.busy, 0, None)
            stranded = float(np.nansum(np.minimum(idle, t.pending) * dt_h))
            if stranded > 0:
                share = stranded / float(np.nansum(t.total * dt_h))
                findings.append(
                    Finding(
                        kind="cluster.fragmentation",
                        layer="orchestration",
                        title=f"{stranded:,.0f} GPU-hours free while jobs waited for them",
                        detail=(
                            "GPUs idle on partly used nodes or in pieces smaller than the "
                            "waiting gangs."
                        ),
                        severity=_severity(share * 5),
                        evidence=[
                            Evidence(
                                label="stranded GPU-hours",
                                value=round(stranded, 1),
                                unit="GPU-h",
                                source=src,
                            ),
                            Evidence(
                                label="share of capacity",
                                value=round(share, 4),
                                unit="fraction",
                                source=src,
                            ),
                        ],
                        cost=Cost.of_gpu_hours(
                            stranded * t_per_year, usd, "stranded GPU-hours, per year"
                        ),
                        recommendations=[
                            "Pack small jobs on few nodes (best fit); keep nodes whole for gangs.",
                            "Enable backfill so small jobs use the holes while gangs wait.",
                        ],
                    )
                )
        if not np.all(np.isnan(t.utilization)):
            measured = float(np.nanmean(t.utilization))
    elif total_gpus:
        allocation = job_gpu_hours / (total_gpus * span_days * 24)
        idle_hours = max(total_gpus * span_days * 24 - job_gpu_hours, 0.0) * per_year
    if allocation is not None and idle_hours is not None and allocation < 0.8:
        findings.append(
            Finding(
                kind="cluster.idle_capacity",
                layer="orchestration",
                title=f"GPUs allocated {allocation:.0%} of the time",
                detail="Unallocated GPU-hours are paid for and unused.",
                severity=_severity((1 - allocation) / 2),
                evidence=[
                    Evidence(
                        label="allocation", value=round(allocation, 4), unit="fraction", source=src
                    )
                ],
                cost=Cost.of_gpu_hours(idle_hours, usd, "unallocated GPU-hours, per year"),
                recommendations=[
                    "Right-size the fleet or open idle capacity to other teams (preemptible)."
                ],
            )
        )
    if measured is not None and t is not None:
        alloc = allocation if allocation is not None else 1.0
        gap = alloc - measured
        allocated_hours = job_gpu_hours * per_year if job_gpu_hours else 0.0
        metric = "DCGM_FI_PROF_SM_ACTIVE" if t.basis == "SM_ACTIVE" else "DCGM_FI_DEV_GPU_UTIL"
        if gap > 0:
            findings.append(
                Finding(
                    kind="cluster.utilization_gap",
                    layer="orchestration",
                    title=(
                        f"allocated GPUs are busy {measured:.0%} of the time "
                        + (
                            f"(allocation {alloc:.0%})"
                            if allocation is not None
                            else "(allocation unknown: every GPU reporting counted)"
                        )
                    ),
                    detail=(
                        f"{metric} averaged over the GPUs reporting; "
                        f"{BASIS_CONFIDENCE.get(t.basis, t.basis)}."
                    ),
                    severity=_severity(gap / 2),
                    evidence=[
                        Evidence(
                            label="measured utilization",
                            value=round(measured, 4),
                            unit="fraction",
                            source=src,
                        ),
                        Evidence(
                            label="allocation", value=round(alloc, 4), unit="fraction", source=src
                        ),
                        Evidence(label="utilization basis", value=t.basis, source=src),
                    ],
                    cost=Cost.of_gpu_hours(
                        allocated_hours * (1 - measured),
                        usd,
                        "allocated GPU-hours x (1 - measured utilization), per year",
                    ),
                    recommendations=[
                        "Profile the least busy jobs (fleetwise traces); fix input pipelines."
                    ],
                )
            )
    return allocation, measured, stranded
