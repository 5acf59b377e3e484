"""A cluster diagnosed from its telemetry and node list alone, without a job log.

What this can say: capacity (the nodes' GPUs), measured utilization over time with its
basis (SM_ACTIVE, or GPU_UTIL at low confidence), allocation where the telemetry says it
(a ``pod`` label on DCGM samples, or a Helios-style running/total sequence), idle capacity
from that allocation, stranded GPUs when the sequence has pending demand, and node health
(XID, ECC). What it cannot: queue waits, GPU-hours by team, lost work and fragmentation by
placement need jobs; the report says so rather than showing zeros.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from fleetwise.analyze.cluster import ClusterReport, span_hours, telemetry_findings, telemetry_view
from fleetwise.analyze.fragmentation import latest_nodes, snapshot
from fleetwise.analyze.node_health import GpuHealth, gpu_health, health_findings
from fleetwise.collect.importers.telemetry import ClusterSeries
from fleetwise.errors import InputError
from fleetwise.models import Finding, NodeRecord

NO_JOBS = (
    "no job log: queue waits, GPU-hours by team, lost work and fragmentation by placement "
    "are not computed (fleetwise cluster import FILE)"
)


def _allocated_gpu_hours(t: ClusterSeries) -> tuple[float, bool]:
    """GPU-hours allocated over the telemetry, and whether the telemetry said so (else
    every GPU reporting is counted, as DCGM reports idle GPUs too)."""
    steps = np.diff(t.times).astype(np.float64) / 3600
    dt_h = np.append(steps, np.median(steps))
    known = not np.all(np.isnan(t.busy))
    held = t.busy if known else t.total
    return float(np.nansum(held * dt_h)), known


def analyze_telemetry(
    telemetry: ClusterSeries,
    nodes: Sequence[NodeRecord],
    *,
    source: str,
    usd_per_gpu_hour: float,
    hours_per_year: float,
    health: Sequence[GpuHealth] | None = None,
) -> ClusterReport:
    """Capacity, measured use, allocation where known, idle capacity and node health
    (``health`` when computed already: ``cluster_telemetry_sql.health_sql``)."""
    t = telemetry
    if t.unit != "GPUs":
        raise InputError(
            f"{t.source}: telemetry in {t.unit}, not GPUs: without a job log it cannot be "
            "set against the GPUs (use DCGM or a Helios GPU sequence)"
        )
    span_h = span_hours(t)
    if span_h <= 0:
        raise InputError(f"{t.source}: one time point only; the analysis needs a period")
    inventory = [n for n in latest_nodes(nodes).values() if n.gpus > 0]
    capacity = sum(n.gpus for n in inventory) if inventory else None
    allocated_h, said = _allocated_gpu_hours(t)
    findings: list[Finding] = []
    allocation, measured, stranded = telemetry_findings(
        t, None, allocated_h, span_h / 24, hours_per_year / span_h, usd_per_gpu_hour, findings
    )
    health = list(gpu_health(t.health) if health is None else health)
    findings += health_findings(
        health, f"telemetry:{t.source}", span_h, usd_per_gpu_hour, hours_per_year
    )
    view = telemetry_view(t)
    notes = [NO_JOBS]
    if not said:
        notes.append(
            "allocation: not in the telemetry (no pod labels): idle capacity is not computed, "
            "and the utilization gap counts every GPU reporting as allocated"
        )
    if capacity is None:
        notes.append("capacity: no node list stored (fleetwise cluster nodes FILE)")
    elif view["telemetry_gpus"] is not None and view["telemetry_gpus"] != capacity:
        seen = view["telemetry_gpus"]
        notes.append(
            f"the telemetry saw {seen:,} GPUs at most, the node list has {capacity:,}"
            + (": the others never reported" if seen < capacity else "")
        )
    if not t.basis:
        notes.append("utilization: the telemetry has no DCGM utilization field")
    now = snapshot(nodes, []) if any(n.gpus_used is not None for n in nodes) else None
    return ClusterReport(
        source=source,
        jobs=0,
        gpu_jobs=0,
        span_days=span_h / 24,
        gpu_hours=0.0,
        waits_by_team=[],
        waits_by_size=[],
        waits_by_hour=[],
        gpu_hours_by_team_month={},
        lost_gpu_hours={},
        allocation=allocation,
        measured_utilization=measured,
        stranded_gpu_hours=stranded,
        findings=findings,
        now=now,
        job_log=False,
        capacity_gpus=capacity,
        notes=notes,
        health=health,
        **view,
    )
