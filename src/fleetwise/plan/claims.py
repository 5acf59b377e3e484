"""Bounded claims: what each finding may say it costs, given the fleet ledger.

A finding asks for GPU-hours a year (its own estimate). It is a claim on one ledger bucket:

- cluster findings on the bucket they describe (queue waits and fragmentation on
  ``stranded``, failed jobs on ``lost_work``, unallocated GPUs on ``idle_no_demand``, the
  utilization gap on ``allocated_idle``, slow nodes on ``unattributed`` active time);
- trace and benchmark findings on the runtime badput the ledger measured for the fleet GPUs
  their source represents (the profile's ``workloads``); a source that represents nothing
  is that trace's or host's only, with no fleet GPU-hours and no dollars;
- delivery and on-call findings cost engineer time, not GPU time: priced at the profile's
  loaded cost, bounded by the teams' engineers where the profile names them.

Claims on one bucket overlap (two findings may describe the same idle GPUs), so they are
combined as ``bucket x (1 - prod(1 - share_i))`` with ``share_i = min(asked_i / bucket, 1)``:
never more than the bucket, never the plain sum; the overlap is reported. Each finding keeps
its part of the combined figure in proportion to what it asked. Dollars are GPU-hours at the
price of the pool the claim speaks for.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from fleetwise.analyze.ledger import Ledger
from fleetwise.models import Finding, Severity
from fleetwise.plan.fleet import FleetProfile

CLUSTER_BUCKET = {
    "cluster.queue_wait": "stranded",
    "cluster.fragmentation": "stranded",
    "cluster.lost_work": "lost_work",
    "cluster.idle_capacity": "idle_no_demand",
    "cluster.utilization_gap": "allocated_idle",
    "fleet.slow_node": "unattributed",
    # GPUs DCGM says were unhealthy (XID, ECC): down time, bounded by the nodes the
    # inventory marks down; application XIDs cost nothing and ask for none.
    "cluster.node_health": "down",
    "cluster.application_xid": "down",
}
RUNTIME_PREFIXES = ("trace.", "bench.")
PEOPLE_PREFIXES = ("delivery.", "on-call.", "oncall.", "process.")


@dataclass(frozen=True)
class Subject:
    """A stored finding and what it was computed from (``trace:<folder>``, ``host:<name>``,
    ``jobs:<log>``, ``process:<kind>``), for the profile's ``workloads`` to match."""

    finding: Finding
    evidence: str


@dataclass
class Claim:
    finding: Finding
    #: ``fleet`` (the ledger), ``workload`` (represented GPUs), ``local`` (that source's
    #: only: no fleet figure), ``people`` (engineer time).
    scope: str
    scope_label: str
    bucket: str
    asked_gpu_hours: float = 0.0
    gpu_hours: float = 0.0
    usd: float = 0.0
    usd_per_gpu_hour: float = 0.0
    severity: Severity = Severity.INFO
    note: str = ""
    #: The claim's group: claims of one group share one bucket and are combined.
    group: str = ""
    #: GPUs the claim speaks for (the fleet's, or those a workload represents): RICE reach.
    gpus: float = 0.0


@dataclass
class BucketUse:
    group: str
    bucket: str
    available_gpu_hours: float
    asked_gpu_hours: float
    combined_gpu_hours: float
    claims: int
    #: Sum of each claim bounded alone by the bucket, minus the combined figure: the
    #: GPU-hours several findings describe at once.
    overlap_gpu_hours: float


@dataclass
class ClaimSet:
    claims: list[Claim]
    buckets: list[BucketUse]
    capacity_gpu_hours: float
    people_usd: float
    assumptions: dict[str, object] = field(default_factory=dict)

    @property
    def gpu_hours(self) -> float:
        return math.fsum(c.gpu_hours for c in self.claims if c.scope in ("fleet", "workload"))

    @property
    def gpu_usd(self) -> float:
        return math.fsum(c.usd for c in self.claims if c.scope in ("fleet", "workload"))

    def of(self, finding_id: int | None) -> Claim | None:
        return next((c for c in self.claims if c.finding.id == finding_id), None)


def _combine(asked: Sequence[float], available: float) -> tuple[float, list[float]]:
    """Combined GPU-hours of claims on one bucket, and each claim's part of it."""
    if available <= 0 or not asked:
        return 0.0, [0.0 for _ in asked]
    shares = [min(max(a, 0.0) / available, 1.0) for a in asked]
    combined = available * (1 - math.prod(1 - s for s in shares))
    total = math.fsum(shares)
    return combined, [combined * s / total if total > 0 else 0.0 for s in shares]


def _people(subject: Subject, profile: FleetProfile) -> Claim:
    f = subject.finding
    hours = float((f.cost.assumptions if f.cost else {}).get("hours_saved_per_year", 0.0) or 0.0)
    if f.cost is not None and not hours and f.cost.usd_per_year:
        hours = f.cost.usd_per_year / profile.usd_per_engineer_hour
    return Claim(
        finding=f,
        scope="people",
        scope_label=f"engineer time at ${profile.usd_per_engineer_hour:,.0f}/h",
        bucket="engineer_time",
        usd=hours * profile.usd_per_engineer_hour,
        group="people",
        note=f"{hours:,.0f} engineer-hours a year",
    )


def claims_for(subjects: Sequence[Subject], ledger: Ledger, profile: FleetProfile) -> ClaimSet:
    """Every finding's bounded claim on the ledger (annualised with the profile's hours)."""
    per_year = ledger.per_year(profile.hours_per_year)
    capacity = ledger.capacity * per_year
    claims: list[Claim] = []
    for s in subjects:
        claims.append(_claim(s, ledger, profile, per_year))
    uses: list[BucketUse] = []
    groups: dict[str, list[Claim]] = {}
    for c in claims:
        if c.scope in ("fleet", "workload"):
            groups.setdefault(c.group, []).append(c)
    for group, members in groups.items():
        available = _available(group, members[0].bucket, ledger, per_year)
        if group.startswith("source:"):
            combined, parts = _measured_parts(members, ledger, group, per_year)
        else:
            combined, parts = _combine([c.asked_gpu_hours for c in members], available)
        for c, part in zip(members, parts, strict=True):
            c.gpu_hours = part
            c.usd = part * c.usd_per_gpu_hour
            c.severity = profile.severity.of(part / capacity if capacity else 0.0)
            if c.asked_gpu_hours > part * (1 + 1e-9):
                c.note = (
                    f"asked {c.asked_gpu_hours:,.0f} GPU-h/yr; bounded by the "
                    f"{members[0].bucket.replace('_', ' ')} bucket ({available:,.0f} GPU-h/yr)"
                    + (
                        f", shared with {len(members) - 1} other finding(s)"
                        if len(members) > 1
                        else ""
                    )
                )
        uses.append(
            BucketUse(
                group=group,
                bucket=members[0].bucket,
                available_gpu_hours=available,
                asked_gpu_hours=math.fsum(c.asked_gpu_hours for c in members),
                combined_gpu_hours=combined,
                claims=len(members),
                overlap_gpu_hours=max(
                    math.fsum(min(c.asked_gpu_hours, available) for c in members) - combined, 0.0
                ),
            )
        )
    people = [c for c in claims if c.scope == "people"]
    people_usd = _bound_people(people, profile)
    return ClaimSet(
        claims=claims,
        buckets=uses,
        capacity_gpu_hours=capacity,
        people_usd=people_usd,
        assumptions=profile.assumptions(),
    )


def _measured_parts(
    members: list[Claim], ledger: Ledger, group: str, per_year: float
) -> tuple[float, list[float]]:
    """Runtime claims of one source: the badput the ledger booked for their kind, split
    over the findings of that kind in proportion to what each asked."""
    mine = ledger.by_source.get(group.removeprefix("source:"), {})
    asked_by_kind: dict[str, float] = {}
    for c in members:
        asked_by_kind[c.finding.kind] = asked_by_kind.get(c.finding.kind, 0.0) + c.asked_gpu_hours
    parts = []
    for c in members:
        booked = mine.get(c.finding.kind, 0.0) * per_year
        total = asked_by_kind[c.finding.kind]
        parts.append(booked * c.asked_gpu_hours / total if total > 0 else 0.0)
    return math.fsum(parts), parts


def runtime_shares(findings: Sequence[Finding]) -> dict[str, float]:
    """Shares of a source's GPU time lost, by finding kind (the ledger's badput categories);
    findings of one kind combine as 1 - prod(1 - share)."""
    keep: dict[str, float] = {}
    for f in findings:
        if f.share is None or not f.kind.startswith(RUNTIME_PREFIXES):
            continue
        keep[f.kind] = 1 - (1 - keep.get(f.kind, 0.0)) * (1 - min(max(f.share, 0.0), 1.0))
    return keep


def _available(group: str, bucket: str, ledger: Ledger, per_year: float) -> float:
    if group.startswith("source:"):
        mine = ledger.by_source.get(group.removeprefix("source:"), {})
        return math.fsum(v for k, v in mine.items() if k != "represented") * per_year
    return ledger.buckets.get(bucket, 0.0) * per_year


def _claim(s: Subject, ledger: Ledger, profile: FleetProfile, per_year: float) -> Claim:
    f = s.finding
    if f.kind.startswith(PEOPLE_PREFIXES) or f.layer in ("delivery", "on-call"):
        return _people(s, profile)
    if f.kind in CLUSTER_BUCKET:
        asked = f.cost.gpu_hours_per_year if f.cost else 0.0
        return Claim(
            finding=f,
            scope="fleet",
            scope_label=f"the fleet ({profile.total_gpus:,} GPUs)",
            bucket=CLUSTER_BUCKET[f.kind],
            asked_gpu_hours=asked,
            usd_per_gpu_hour=profile.price(),
            group=f"fleet:{CLUSTER_BUCKET[f.kind]}",
            gpus=float(profile.total_gpus),
        )
    workload = profile.workload_for(s.evidence)
    if f.kind.startswith(RUNTIME_PREFIXES) and workload is not None and f.share is not None:
        rep = workload.represents
        team = f"team {rep.team}, " if rep.team else ""
        return Claim(
            finding=f,
            scope="workload",
            scope_label=f"{team}{rep.gpus:,} GPUs ({workload.match})",
            bucket="runtime_badput",
            asked_gpu_hours=f.share * rep.gpus * profile.hours_per_year,
            usd_per_gpu_hour=profile.price(rep.pool),
            group=f"source:{s.evidence}",
            gpus=float(rep.gpus),
        )
    what = s.evidence.split(":", 1)[0] or "source"
    return Claim(
        finding=f,
        scope="local",
        scope_label=f"this {what} only",
        bucket="",
        note=(
            f"{s.evidence} represents no fleet GPUs in the fleet profile: "
            "no fleet GPU-hours or dollars (add a workloads entry to say what it stands for)"
        ),
    )


def _bound_people(people: list[Claim], profile: FleetProfile) -> float:
    """Engineer-time claims, combined like GPU claims over the teams' engineer-hours when
    the profile counts engineers; otherwise their plain sum, which the caller labels."""
    engineers = sum(t.engineers or 0 for t in profile.teams)
    asked = [c.usd for c in people]
    if not engineers:
        return math.fsum(asked)
    pool = engineers * profile.engineer_loaded_usd_per_year
    combined, parts = _combine(asked, pool)
    for c, part in zip(people, parts, strict=True):
        c.usd = part
    return combined
