"""Data of the overview and plan pages: KPIs with status, top findings, the ranked backlog.

Each function returns a pydantic model; the HTML page and its JSON twin both render it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel

from fleetwise.models import SCHEMA_VERSION, Finding
from fleetwise.plan.decisions import decision_log
from fleetwise.plan.kpis import KPIState, kpi_state, readings
from fleetwise.plan.scoring import Assumptions, ScoreName, rank
from fleetwise.present.charts import kpi_progress
from fleetwise.present.web.page import Page, add_chart
from fleetwise.present.web.reader import SERIES_TABLES, StoreReader
from fleetwise.store.schema import AnalysisRow, KPIRow
from fleetwise.units import amount
from fleetwise.usecases import story
from fleetwise.usecases.ledger import current_findings
from fleetwise.usecases.plan import OPEN, PlanTotals, plan_totals

#: What a KPI's state is computed from.
KPI_TABLES: tuple[type[Any], ...] = (*SERIES_TABLES, AnalysisRow, KPIRow)

#: Findings and actions the overview lists; the diagnosis and plan pages list all.
TOP = 5


class KpiRow(BaseModel):
    name: str
    unit: str
    direction: str
    source: str
    baseline: float | None
    current: float | None
    goal: float
    goal_date: date
    projected: float | None
    progress: float | None
    status: str
    note: str


class FindingRow(BaseModel):
    id: int | None
    kind: str
    layer: str
    title: str
    detail: str
    severity: str
    usd_per_year: float | None
    gpu_hours_per_year: float | None
    evidence: list[str]
    recommendations: list[str]


class RankRow(BaseModel):
    position: int
    id: int | None
    title: str
    status: str
    owner: str
    savings_usd_per_year: float
    investment_usd: float
    roi: float | None
    npv: float
    payback_months: float | None
    wsjf: float
    rice: float
    tie: str


class DecisionRow(BaseModel):
    id: int | None
    #: The action while it is in the backlog (None for a KPI, an analysis, a removed action).
    action_id: int | None
    action_title: str
    #: What the decision was about, in words (``#3 workers``, ``KPI gpu_util``...).
    about: str
    decision: str
    by: str
    note: str
    decided_at: datetime | None


class PlanSummary(BaseModel):
    actions: int
    by_status: dict[str, int]
    savings_usd_per_year: float
    #: Savings typed by hand on actions no finding backs: shown apart, never in the total.
    hand_written_usd_per_year: float = 0.0
    investment_usd: float
    awaiting_decision: int
    top: list[RankRow]


class LedgerSummary(BaseModel):
    """The ledger's headline, as the briefing's first page gives it."""

    headline: str
    capacity_gpu_hours_per_year: float
    productive_share: float
    claims_usd_per_year: float
    people_usd_per_year: float


class OverviewPage(BaseModel):
    schema_version: int = SCHEMA_VERSION
    today: date
    ledger: LedgerSummary
    #: Proposed actions waiting for a decision, best NPV first.
    decisions_waiting: list[RankRow]
    runs: int
    kpis: list[KpiRow]
    findings_total: int
    top_findings: list[FindingRow]
    plan: PlanSummary


class PlanPage(BaseModel):
    schema_version: int = SCHEMA_VERSION
    by: Literal["roi", "npv", "payback", "wsjf", "rice"]
    assumptions: dict[str, float]
    ranking: list[RankRow]
    decisions: list[DecisionRow]


def kpi_states(reader: StoreReader, today: date) -> list[KPIState]:
    series, analyses = reader.series(), reader.analyses()
    return [kpi_state(k, readings(k, series, analyses), today) for k in reader.store.kpis()]


def kpi_rows(states: list[KPIState]) -> list[KpiRow]:
    out = []
    for s in states:
        k = s.kpi
        out.append(
            KpiRow(
                name=k.name,
                unit=k.unit,
                direction=k.direction,
                source=k.source,
                baseline=s.baseline,
                current=s.current,
                goal=k.goal_value,
                goal_date=k.goal_date,
                projected=s.projected,
                progress=s.progress,
                status=s.status,
                note=s.note,
            )
        )
    return out


def finding_row(f: Finding) -> FindingRow:
    return FindingRow(
        id=f.id,
        kind=f.kind,
        layer=f.layer,
        title=f.title,
        detail=f.detail,
        severity=f.severity.value,
        usd_per_year=f.cost.usd_per_year if f.cost else None,
        gpu_hours_per_year=f.cost.gpu_hours_per_year if f.cost else None,
        evidence=[
            f"{e.label}: {amount(e.value, e.unit)}" + (f" ({e.source})" if e.source else "")
            for e in f.evidence
        ],
        recommendations=list(f.recommendations),
    )


def costliest_findings(reader: StoreReader) -> list[Finding]:
    """The current findings (the latest analysis of each input, as the briefing counts
    them), the costliest per year first (uncosted ones last)."""
    found = current_findings(reader.analyses())
    return sorted(found, key=lambda f: -(f.cost.usd_per_year if f.cost else -1.0))


def ranking(
    reader: StoreReader, by: ScoreName, only_open: bool = False, totals: PlanTotals | None = None
) -> list[RankRow]:
    """The backlog ranked as ``fleetwise plan rank`` ranks it (seeded actions' savings
    drawn from the fleet ledger, the profile's horizon, rate and person-day)."""
    totals = totals or plan_totals(reader.store, reader.profile, by, reader.ledger())
    actions = totals.actions
    if only_open:
        actions = [a for a in actions if a.status in OPEN]
    return [
        RankRow(
            position=r.position,
            id=r.action.id,
            title=r.action.title,
            status=r.action.status.value,
            owner=r.action.owner,
            savings_usd_per_year=r.action.savings_usd_per_year,
            investment_usd=r.scores.investment_usd,
            roi=r.scores.roi,
            npv=r.scores.npv,
            payback_months=r.scores.payback_months,
            wsjf=r.scores.wsjf,
            rice=r.scores.rice,
            tie=r.tie,
        )
        for r in rank(actions, by, totals.assumptions)
    ]


def overview_page(reader: StoreReader, today: date, charts: bool = False) -> Page[OverviewPage]:
    states = kpi_states(reader, today)
    findings = costliest_findings(reader)
    # Open actions by NPV, as the briefing's "top actions".
    totals = plan_totals(reader.store, reader.profile, view=reader.ledger())
    open_rows = ranking(reader, "npv", only_open=True, totals=totals)
    by_status: dict[str, int] = {}
    for a in totals.actions:
        by_status[a.status.value] = by_status.get(a.status.value, 0) + 1
    plan = PlanSummary(
        actions=sum(by_status.values()),
        by_status=by_status,
        # The briefing's figure: open actions' ledger-backed savings, overlaps combined.
        savings_usd_per_year=totals.recoverable.ledger_backed_usd,
        hand_written_usd_per_year=totals.recoverable.hand_written_usd,
        investment_usd=sum(r.investment_usd for r in open_rows),
        awaiting_decision=by_status.get("proposed", 0),
        top=open_rows[:TOP],
    )
    lg = totals.view.ledger
    page = Page(
        OverviewPage(
            today=today,
            ledger=LedgerSummary(
                headline=story.headline(totals.view, totals.recoverable, totals.ranked_open),
                capacity_gpu_hours_per_year=lg.capacity * totals.view.per_year,
                productive_share=lg.share("productive"),
                claims_usd_per_year=totals.view.claims.gpu_usd,
                people_usd_per_year=totals.view.claims.people_usd,
            ),
            decisions_waiting=[r for r in open_rows if r.status == "proposed"][:TOP],
            runs=reader.runs_total(),
            kpis=kpi_rows(states),
            findings_total=len(findings),
            top_findings=[finding_row(f) for f in findings[:TOP]],
            plan=plan,
        )
    )
    measured = [s for s in states if s.baseline is not None and s.current is not None]
    add_chart(
        page,
        "kpis",
        lambda: kpi_progress(measured),
        charts and bool(measured),
        lambda f: reader.cached(f"chart:kpis:{today}", KPI_TABLES, f),
    )
    return page


def plan_page(reader: StoreReader, by: ScoreName) -> Page[PlanPage]:
    a = Assumptions.of(reader.profile)
    store = reader.store
    log = decision_log(store.decisions(), store.actions())
    data = PlanPage(
        by=by,
        assumptions={
            "horizon_years": a.horizon_years,
            "discount_rate": a.discount_rate,
            "usd_per_person_day": a.usd_per_person_day,
        },
        ranking=ranking(reader, by),
        decisions=[
            DecisionRow(
                id=e.decision.id,
                action_id=e.decision.action_id,
                action_title=e.action_title,
                about=e.subject,
                decision=e.decision.decision.value,
                by=e.decision.by,
                note=e.decision.note,
                decided_at=e.decision.decided_at,
            )
            for e in reversed(log)
        ],
    )
    return Page(data)
