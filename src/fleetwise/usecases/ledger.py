"""The fleet ledger of the store, and every current finding's bounded claim on it."""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta

import duckdb
import numpy as np

from fleetwise.analyze.fragmentation import latest_nodes
from fleetwise.analyze.ledger import (
    Activity,
    Inventory,
    JobTable,
    Ledger,
    RuntimeEvidence,
    build_ledger,
)
from fleetwise.errors import InputError
from fleetwise.models import AnalysisRecord, Finding, JobRecord, NodeRecord
from fleetwise.plan.claims import ClaimSet, Subject, claims_for, runtime_shares
from fleetwise.plan.fleet import FleetProfile
from fleetwise.store import Store
from fleetwise.store.columnar import FleetData
from fleetwise.store.columnar_placements import placements_sql


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime
    #: What the user asked for, or how it was chosen.
    label: str


def parse_period(text: str) -> Period:
    """``2026-06`` (a month), ``2026`` (a year) or ``2026-06-01..2026-07-01`` (end
    exclusive); one ``InputError`` naming ``--period`` otherwise."""
    try:
        if re.fullmatch(r"\d{4}", text):
            y = int(text)
            return Period(datetime(y, 1, 1, tzinfo=UTC), datetime(y + 1, 1, 1, tzinfo=UTC), text)
        if re.fullmatch(r"\d{4}-\d{2}", text):
            y, m = (int(p) for p in text.split("-"))
            days = calendar.monthrange(y, m)[1]
            first = datetime(y, m, 1, tzinfo=UTC)
            return Period(first, first + timedelta(days=days), text)
        a, sep, b = text.partition("..")
        if sep:
            lo = datetime.combine(date.fromisoformat(a), datetime.min.time(), UTC)
            hi = datetime.combine(date.fromisoformat(b), datetime.min.time(), UTC)
            if hi <= lo:
                raise InputError(f"--period {text!r}: the end must come after the start")
            return Period(lo, hi, text)
    except ValueError as exc:
        raise InputError(f"--period {text!r}: {exc}") from exc
    raise InputError(f"--period {text!r}: expected YYYY, YYYY-MM or YYYY-MM-DD..YYYY-MM-DD")


def current_analyses(analyses: list[AnalysisRecord]) -> list[AnalysisRecord]:
    """The latest analysis of each (kind, input): analysing the same input again supersedes
    the earlier one in every total, it never adds to it."""
    latest: dict[tuple[str, str], AnalysisRecord] = {}
    for a in sorted(analyses, key=lambda a: a.id):
        latest[(a.kind, a.source)] = a
    return sorted(latest.values(), key=lambda a: a.id)


def current_findings(analyses: list[AnalysisRecord]) -> list[Finding]:
    """Findings of the latest analysis of each input (earlier ones are superseded)."""
    return [f for a in current_analyses(analyses) for f in a.findings]


def evidence_of(a: AnalysisRecord, hosts: dict[int, str]) -> str:
    """What an analysis was computed from, as the profile's ``workloads`` patterns see it."""
    if a.kind == "trace":
        return f"trace:{a.source}"
    if a.kind == "bench":
        if a.source.startswith("host:"):
            return a.source
        run = a.summary.get("run_id")
        return f"host:{hosts.get(run, '?')}" if isinstance(run, int) else a.source
    if a.kind == "cluster":
        return f"jobs:{a.source}"
    return f"{a.kind}:{a.source}"


def subjects(store: Store) -> list[Subject]:
    """Every current finding with its evidence source."""
    current = current_analyses(store.analyses())
    wanted = [
        a.summary["run_id"]
        for a in current
        if a.kind == "bench"
        and not a.source.startswith("host:")
        and isinstance(a.summary.get("run_id"), int)
    ]
    hosts = (
        {rid: host for host, ids in store.run_hosts(wanted).items() for rid in ids}
        if wanted
        else {}
    )
    return [Subject(finding=f, evidence=evidence_of(a, hosts)) for a in current for f in a.findings]


def _inventory(nodes: list[NodeRecord], profile: FleetProfile) -> Inventory:
    if nodes:
        latest = [n for n in latest_nodes(nodes).values() if n.gpus > 0]
        if latest:
            return Inventory(
                gpus=float(sum(n.gpus for n in latest)),
                down_gpus=float(sum(n.gpus for n in latest if not n.available)),
                basis="nodes",
                source="nodes:" + ", ".join(sorted({n.source for n in latest})),
            )
    return Inventory(
        gpus=float(profile.total_gpus),
        down_gpus=0.0,
        basis="profile",
        source=f"fleet profile: {profile.path or 'built-in default'}",
    )


def _activity(current: list[AnalysisRecord]) -> Activity | None:
    """Measured utilization of the latest cluster analysis that had telemetry."""
    for a in reversed(current):
        value = a.summary.get("measured_utilization") if a.kind == "cluster" else None
        if isinstance(value, int | float) and 0 <= value <= 1:
            telemetry = [t for t in a.tags if t.startswith("telemetry:")]
            # The basis the analysis recorded; analyses stored before it was kept were
            # GPU_UTIL, the only DCGM field then read.
            basis = a.summary.get("utilization_basis")
            metric = "SM_ACTIVE" if basis == "SM_ACTIVE" else "GPU_UTIL"
            src = telemetry[0] if telemetry else f"analysis {a.id}"
            return Activity(float(value), metric, src)
    return None


def _runtime(items: list[Subject], profile: FleetProfile) -> list[RuntimeEvidence]:
    by_source: dict[str, list[Finding]] = {}
    for s in items:
        by_source.setdefault(s.evidence, []).append(s.finding)
    out = []
    for source, found in sorted(by_source.items()):
        w = profile.workload_for(source)
        shares = runtime_shares(found)
        if w is None or not shares:
            continue
        rep = w.represents
        out.append(RuntimeEvidence(source, rep.team, float(rep.gpus), shares))
    return out


def _unknown_allocation(inv: Inventory, t0: float, t1: float) -> JobTable:
    """No job log: one stand-in allocation of every available GPU, so nothing is called
    idle or stranded without evidence; all of it lands in ``unattributed``."""
    return JobTable(
        submit=np.array([t0]),
        start=np.array([t0]),
        end=np.array([t1]),
        gpus=np.array([max(inv.gpus - inv.down_gpus, 0.0)]),
        lost=np.array([False]),
        team=np.array([0], dtype=np.int64),
        teams=("(no job log)",),
        source="no job log",
    )


def _unhealthy_gpu_hours(current: list[AnalysisRecord]) -> float:
    """GPU-hours the latest cluster analysis with telemetry saw GPUs unhealthy (XID, ECC)."""
    for a in reversed(current):
        if a.kind == "cluster" and any(t.startswith("telemetry:") for t in a.tags):
            rows = a.summary.get("unhealthy_gpus") or []
            return float(sum(r.get("hours", 0.0) for r in rows if isinstance(r, dict)))
    return 0.0


@dataclass
class LedgerInputs:
    #: Every stored GPU job as columns, read from the columnar store without records.
    table: JobTable
    #: The columnar jobs, queried for a pool's slice (it needs the placements).
    jobs_data: FleetData
    nodes: list[NodeRecord]
    subjects: list[Subject]
    activity: Activity | None
    #: From the latest telemetry: not in ``down`` (see ``docs/ledger.md``), noted.
    unhealthy_gpu_hours: float = 0.0


def gather_inputs(store: Store) -> LedgerInputs:
    current = current_analyses(store.analyses())
    with store.jobs_data().connect() as con:
        sources = [s for (s,) in con.execute("SELECT DISTINCT source FROM jobs").fetchall()]
        table = JobTable.from_sql(con, source=f"jobs:{_sources(sources)}")
    return LedgerInputs(
        table=table,
        jobs_data=store.jobs_data(),
        nodes=store.nodes(),
        subjects=subjects(store),
        activity=_activity(current),
        unhealthy_gpu_hours=_unhealthy_gpu_hours(current),
    )


def ledger_of(
    inputs: LedgerInputs,
    profile: FleetProfile,
    period: Period | None = None,
    *,
    now: datetime | None = None,
    pool: str | None = None,
) -> tuple[Ledger, Period]:
    """The ledger of ``period`` (default: the job log's span; without jobs, the year up
    to ``now``), of one node pool (GPU model) when ``pool`` is named."""
    nodes = inputs.nodes
    table = inputs.table
    if pool is not None:
        with inputs.jobs_data.connect() as con:
            nodes, table = pool_slice(con, inputs.nodes, pool)
    inv = _inventory(nodes, profile)
    if period is None:
        if len(table):
            lo, hi = table.span()
            period = Period(
                datetime.fromtimestamp(lo, UTC),
                datetime.fromtimestamp(max(hi, lo + 3600), UTC),
                "the job log's span",
            )
        else:
            end = now or datetime.now(UTC)
            period = Period(end - timedelta(hours=profile.hours_per_year), end, "the last year")
    t0, t1 = period.start.timestamp(), period.end.timestamp()
    runtime = _runtime(inputs.subjects, profile)
    if not len(table):
        table = _unknown_allocation(inv, t0, t1)
    ledger = build_ledger(table, inv, t0, t1, activity=inputs.activity, runtime=runtime)
    if table.source == "no job log":
        ledger.notes.insert(
            0,
            "no job log stored: allocation, queueing and lost work are unknown, so the "
            "available GPU-hours are unattributed (fleetwise cluster import FILE)",
        )
        for b in ("idle_no_demand", "stranded", "lost_work"):
            ledger.confidence[b] = "unknown: no job log"
        ledger.ettr = []  # the stand-in allocation is no job
    if inputs.unhealthy_gpu_hours > 0:
        ledger.notes.append(
            f"DCGM telemetry shows {inputs.unhealthy_gpu_hours:,.1f} GPU-hours on unhealthy "
            "GPUs (XID, ECC; cluster.node_health findings); 'down' counts only the nodes the "
            "inventory marks down, so these hours are in the buckets the GPUs were in"
        )
    return ledger, period


def _sources(names: Iterable[str]) -> str:
    return ", ".join(sorted(set(names))) or "no job log"


#: Why ``--by pool`` cannot slice the jobs.
NO_PLACEMENTS = (
    "--by pool needs job placements (node lists) when the fleet has several pools: "
    "import a job log with node lists (sacct NodeList, Philly)"
)


def _pool_hosts(nodes: list[NodeRecord], pool: str) -> tuple[set[str], bool]:
    """The hosts of ``pool`` (a GPU model) and whether the fleet has other pools."""
    latest = latest_nodes(nodes)
    models = {n.model or "unknown" for n in latest.values() if n.gpus > 0}
    if pool not in models:
        raise InputError(f"no pool {pool!r} among the stored nodes (pools: {sorted(models)})")
    return {name for name, n in latest.items() if (n.model or "unknown") == pool}, len(models) > 1


def pool_records(records: list[JobRecord], nodes: list[NodeRecord], pool: str) -> list[JobRecord]:
    """The jobs of ``pool``, one record at a time: those placed on one of its hosts (every
    job when the fleet has one pool). The reference of :func:`pool_slice`'s query."""
    hosts, several = _pool_hosts(nodes, pool)
    if several and any(not j.placement for j in records if j.gpus > 0):
        raise InputError(NO_PLACEMENTS)
    return [j for j in records if not several or set(j.placement) & hosts]


def pool_slice(
    con: duckdb.DuckDBPyConnection, nodes: list[NodeRecord], pool: str
) -> tuple[list[NodeRecord], JobTable]:
    """The nodes of ``pool`` and its jobs as columns, queried from the ``jobs`` view of
    ``con``: the jobs with a host of the pool in their placement (a semi-join of the
    placements' rows), as :func:`pool_records` selects them."""
    hosts, several = _pool_hosts(nodes, pool)
    relation = "jobs"
    if several:
        con.execute(f"CREATE OR REPLACE TEMP TABLE pool_placed AS {placements_sql()}")
        unplaced = con.execute(
            "SELECT count(*) FROM jobs ANTI JOIN pool_placed USING (source, job_id) WHERE gpus > 0"
        ).fetchall()[0][0]
        if unplaced:
            raise InputError(NO_PLACEMENTS)
        con.execute("CREATE OR REPLACE TEMP TABLE pool_hosts (name VARCHAR)")
        con.executemany("INSERT INTO pool_hosts VALUES (?)", [(h,) for h in sorted(hosts)])
        con.execute(
            "CREATE OR REPLACE TEMP TABLE pool_jobs AS SELECT * FROM jobs SEMI JOIN ("
            "SELECT DISTINCT source, job_id FROM pool_placed JOIN pool_hosts "
            "ON pool_placed.host = pool_hosts.name) USING (source, job_id)"
        )
        relation = "pool_jobs"
    sources = [s for (s,) in con.execute(f"SELECT DISTINCT source FROM {relation}").fetchall()]
    table = JobTable.from_sql(con, source=f"jobs:{_sources(sources)}", relation=relation)
    return [n for n in nodes if n.name in hosts], table


def pools_of(inputs: LedgerInputs) -> list[str]:
    return sorted({n.model or "unknown" for n in latest_nodes(inputs.nodes).values() if n.gpus})


def months_of(period: Period) -> list[Period]:
    out: list[Period] = []
    cur = period.start
    while cur < period.end:
        first = datetime(cur.year, cur.month, 1, tzinfo=UTC)
        nxt = (first + timedelta(days=32)).replace(day=1)
        out.append(Period(cur, min(nxt, period.end), first.strftime("%Y-%m")))
        cur = min(nxt, period.end)
    return out


def claims_of(inputs: LedgerInputs, ledger: Ledger, profile: FleetProfile) -> ClaimSet:
    return claims_for(inputs.subjects, ledger, profile)


# -- the ledger as every surface shows it ------------------------------------------------------
BY = ("team", "month", "pool")


@dataclass(frozen=True)
class BucketLine:
    """One bucket as every face shows it: GPU-hours over the period and a year, share of
    capacity, dollars a year at the profile's price, confidence and evidence."""

    bucket: str
    label: str
    gpu_hours: float
    share: float
    gpu_hours_per_year: float
    usd_per_year: float
    confidence: str
    evidence: list[str]


@dataclass
class LedgerView:
    """One ledger with its claims, its rows (by team, month or pool) and the assumptions
    it used: what ``fleetwise ledger``, the briefing and the dashboard all show."""

    ledger: Ledger
    period: Period
    profile: FleetProfile
    claims: ClaimSet
    by: str | None
    #: Row name -> (ledger of that slice, $/GPU-hour of that slice).
    rows: dict[str, Ledger]
    notes: list[str]

    @property
    def per_year(self) -> float:
        return self.ledger.per_year(self.profile.hours_per_year)

    def usd_per_year(self, gpu_hours: float) -> float:
        return gpu_hours * self.per_year * self.profile.price()

    def lines(self) -> list[BucketLine]:
        """The buckets in reading order, from capacity down to productive."""
        from fleetwise.analyze.ledger import BUCKETS, LABELS

        lg = self.ledger
        return [
            BucketLine(
                bucket=b,
                label=LABELS[b],
                gpu_hours=lg.buckets[b],
                share=lg.share(b),
                gpu_hours_per_year=lg.buckets[b] * self.per_year,
                usd_per_year=self.usd_per_year(lg.buckets[b]),
                confidence=lg.confidence.get(b, ""),
                evidence=lg.evidence.get(b, []),
            )
            for b in BUCKETS
        ]

    def document(self) -> dict[str, object]:
        lg = self.ledger
        price = self.profile.price()
        buckets = [asdict(line) for line in self.lines()]
        rows = [
            {"name": name, "capacity_gpu_hours": r.capacity, "buckets": dict(r.buckets)}
            for name, r in self.rows.items()
        ]
        if self.by == "team":
            rows = [
                {"name": name, "capacity_gpu_hours": None, "buckets": vals}
                for name, vals in lg.by_team.items()
            ]
        c = self.claims
        return {
            "schema_version": 1,
            "period": {
                "start": self.period.start.isoformat(),
                "end": self.period.end.isoformat(),
                "label": self.period.label,
                "hours": lg.hours,
            },
            "capacity_gpu_hours": lg.capacity,
            "capacity_gpu_hours_per_year": lg.capacity * self.per_year,
            "inventory": {
                "gpus": lg.inventory.gpus if lg.inventory else None,
                "basis": lg.inventory.basis if lg.inventory else None,
                "source": lg.inventory.source if lg.inventory else None,
            },
            "usd_per_gpu_hour": price,
            "buckets": buckets,
            "badput": dict(lg.badput),
            "goodput": dict(lg.goodput),
            "ettr": list(lg.ettr),
            "over_allocated_gpu_hours": lg.over_allocated,
            "by": self.by,
            "rows": rows,
            "claims": {
                "gpu_hours_per_year": c.gpu_hours,
                "gpu_usd_per_year": c.gpu_usd,
                "people_usd_per_year": c.people_usd,
                "items": [
                    {
                        "finding_id": x.finding.id,
                        "kind": x.finding.kind,
                        "title": x.finding.title,
                        "scope": x.scope,
                        "scope_label": x.scope_label,
                        "bucket": x.bucket,
                        "asked_gpu_hours_per_year": x.asked_gpu_hours,
                        "gpu_hours_per_year": x.gpu_hours,
                        "usd_per_year": x.usd,
                        "severity": x.severity.value,
                        "note": x.note,
                    }
                    for x in c.claims
                ],
                "buckets": [
                    {
                        "group": u.group,
                        "bucket": u.bucket,
                        "available_gpu_hours_per_year": u.available_gpu_hours,
                        "asked_gpu_hours_per_year": u.asked_gpu_hours,
                        "combined_gpu_hours_per_year": u.combined_gpu_hours,
                        "overlap_gpu_hours_per_year": u.overlap_gpu_hours,
                        "claims": u.claims,
                    }
                    for u in c.buckets
                ],
            },
            "notes": self.notes,
            "assumptions": self.profile.assumptions(),
        }


def ledger_for(
    store: Store,
    profile: FleetProfile,
    period: str | None = None,
    by: str | None = None,
    *,
    now: datetime | None = None,
) -> LedgerView:
    """The store's ledger over ``period`` (text as ``--period`` takes it), with every
    current finding's claim on it, split ``by`` team, month or pool."""
    if by is not None and by not in BY:
        raise InputError(f"--by {by!r}: expected one of {', '.join(BY)}")
    inputs = gather_inputs(store)
    chosen = parse_period(period) if period else None
    ledger, used = ledger_of(inputs, profile, chosen, now=now)
    rows: dict[str, Ledger] = {}
    if by == "month":
        for m in months_of(used):
            rows[m.label] = ledger_of(inputs, profile, m, now=now)[0]
    elif by == "pool":
        for name in pools_of(inputs) or [p.name for p in profile.pools]:
            if inputs.nodes:
                rows[name] = ledger_of(inputs, profile, used, now=now, pool=name)[0]
    notes = list(ledger.notes)
    inv = ledger.inventory
    if inv is not None and inv.basis == "nodes" and round(inv.gpus) != profile.total_gpus:
        notes.append(
            f"the stored nodes hold {inv.gpus:,.0f} GPUs, the fleet profile "
            f"{profile.total_gpus:,}: the ledger counts the nodes; prices and years come from "
            "the profile (fleetwise fleet init --from-store drafts one that matches)"
        )
    return LedgerView(
        ledger=ledger,
        period=used,
        profile=profile,
        claims=claims_of(inputs, ledger, profile),
        by=by,
        rows=rows,
        notes=notes,
    )
