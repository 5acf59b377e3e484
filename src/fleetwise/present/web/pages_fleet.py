"""Data of the diagnosis, capacity, process and retros pages.

They read what the analyses stored (the ``process``, ``trace``, ``cluster`` commands save
their summaries and findings) and call the plan's forecast and investment functions; a
page whose data is absent says what to run instead of failing.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from fleetwise.errors import InputError
from fleetwise.models import SCHEMA_VERSION, AnalysisRecord
from fleetwise.plan.capacity import Forecast, forecast_daily, scenarios
from fleetwise.plan.invest import InvestResult, compare, load_scenario, scenario_inputs
from fleetwise.plan.kpis import readings
from fleetwise.plan.retro import improvement_report
from fleetwise.present.charts import dora_trends, forecast_fan, tornado, value_stream_map
from fleetwise.present.web.page import Page, add_chart
from fleetwise.present.web.pages_plan import FindingRow, costliest_findings, finding_row
from fleetwise.present.web.reader import StoreReader
from fleetwise.store.schema import AnalysisRow as AnalysisTable
from fleetwise.store.schema import JobRow, NoteRow
from fleetwise.usecases.capacity import stored_demand
from fleetwise.usecases.people import evidence_line, qualitative_evidence
from fleetwise.usecases.valuestream import latest_state, state_doc

#: Analyses the diagnosis page lists (newest first); their findings are all counted.
RECENT_ANALYSES = 50


class AnalysisRow(BaseModel):
    id: int
    kind: str
    source: str
    created_at: datetime
    tags: list[str]
    findings: int


class LayerFindings(BaseModel):
    layer: str
    usd_per_year: float
    findings: list[FindingRow]


class DiagnosisPage(BaseModel):
    schema_version: int = SCHEMA_VERSION
    analyses_total: int
    analyses: list[AnalysisRow]
    layers: list[LayerFindings]


class CapacityPage(BaseModel):
    schema_version: int = SCHEMA_VERSION
    jobs: int
    forecast: dict[str, Any] | None
    forecast_note: str
    investment: dict[str, Any]


class ProcessPage(BaseModel):
    schema_version: int = SCHEMA_VERSION
    dora: dict[str, Any] | None
    pipeline: dict[str, Any] | None
    oncall: dict[str, Any] | None
    #: The latest process map with the future state of today's backlog (``process map``).
    value_stream: dict[str, Any] | None = None
    findings: list[FindingRow]


class RetroRow(BaseModel):
    id: int | None
    date: date
    team: str
    sprint: str
    went_well: list[str]
    to_improve: list[str]
    action_ids: list[int]


class ImprovementDoc(BaseModel):
    retro_id: int | None
    team: str
    sprint: str
    action_id: int | None
    action: str
    kpi: str
    expected_change: float
    before: float | None
    after: float | None
    change: float | None


class RetrosPage(BaseModel):
    schema_version: int = SCHEMA_VERSION
    retrospectives: list[RetroRow]
    improvement: list[ImprovementDoc]


def diagnosis_page(reader: StoreReader) -> Page[DiagnosisPage]:
    analyses = reader.analyses()
    layers: dict[str, list[FindingRow]] = {}
    # Interview and shadowing notes linked to a finding's kind: "2 interviews, 2 teams".
    people = reader.cached(
        "people:evidence", (NoteRow,), lambda: qualitative_evidence(reader.store)
    )
    for f in costliest_findings(reader):
        row = finding_row(f)
        line = evidence_line(people, f"finding:{f.kind}")
        row.evidence.extend([line] if line else [])
        layers.setdefault(f.layer, []).append(row)
    grouped = [
        LayerFindings(
            layer=name, usd_per_year=sum(r.usd_per_year or 0.0 for r in rows), findings=rows
        )
        for name, rows in layers.items()
    ]
    data = DiagnosisPage(
        analyses_total=len(analyses),
        analyses=[
            AnalysisRow(
                id=a.id,
                kind=a.kind,
                source=a.source,
                created_at=a.created_at,
                tags=a.tags,
                findings=len(a.findings),
            )
            for a in reversed(analyses[-RECENT_ANALYSES:])
        ],
        layers=sorted(grouped, key=lambda g: -g.usd_per_year),
    )
    return Page(data)


def _forecast(reader: StoreReader) -> tuple[int, Forecast | None, str]:
    demand = stored_demand(reader.store)
    if not demand.jobs:
        return 0, None, "no cluster jobs stored: fleetwise cluster import LOG"
    try:
        f = forecast_daily(demand.days, demand.hours, horizon=30)
    except InputError as exc:
        return demand.jobs, None, f"no forecast: {exc}"
    return demand.jobs, f, ""


def _investment(reader: StoreReader) -> tuple[InvestResult, str]:
    path = reader.profile.invest_scenario
    if path:
        inputs, overridden = load_scenario(Path(path))
        return compare(inputs, overridden), f"invest compare {path}"
    return compare(scenario_inputs({}, "defaults")), "invest compare (defaults)"


def capacity_page(reader: StoreReader, charts: bool = False) -> Page[CapacityPage]:
    # The forecast fits several models with a backtest: seconds, so it is kept until the
    # stored jobs change.
    jobs, forecast, note = reader.cached("forecast", (JobRow,), lambda: _forecast(reader))
    # The fleet profile's scenario of record (else the shipped defaults), as the briefing.
    result, scenario = reader.cached("investment", (), lambda: _investment(reader))
    data = CapacityPage(
        jobs=jobs,
        forecast=(
            {**asdict(forecast), "scenarios": [asdict(x) for x in scenarios(forecast)]}
            if forecast is not None
            else None
        ),
        forecast_note=note,
        investment={
            "scenario": scenario,
            "gpus": result.gpus,
            "capex_usd": result.capex_usd,
            "yearly_cost_usd": result.yearly_cost_usd,
            "usd_per_gpu_hour_full": result.usd_per_gpu_hour_full,
            "usd_per_used_gpu_hour": result.usd_per_used_gpu_hour,
            "npv_usd": result.npv_usd,
            "irr": result.irr,
            "payback_years": result.payback_years,
            "rent": [asdict(r) for r in result.rent],
            "tornado": [asdict(b) for b in result.tornado],
        },
    )
    page = Page(data)
    if forecast is not None:
        shown = forecast
        add_chart(
            page,
            "forecast",
            lambda: forecast_fan(shown),
            charts,
            lambda f: reader.cached("chart:forecast", (JobRow,), f),
        )
    # The investment uses the shipped defaults only: its chart never changes.
    add_chart(
        page,
        "tornado",
        lambda: tornado(result.tornado, result.npv_usd),
        charts,
        lambda f: reader.cached("chart:tornado", (), f),
    )
    return page


def _latest(analyses: list[AnalysisRecord], tag: str) -> AnalysisRecord | None:
    found = [a for a in analyses if a.kind == "process" and tag in a.tags]
    return found[-1] if found else None


def process_page(reader: StoreReader, charts: bool = False) -> Page[ProcessPage]:
    analyses = reader.analyses()
    latest = {tag: _latest(analyses, tag) for tag in ("dora", "pipeline", "oncall")}
    findings = [f for a in latest.values() if a is not None for f in a.findings]
    data = ProcessPage(
        dora=latest["dora"].summary if latest["dora"] else None,
        pipeline=latest["pipeline"].summary if latest["pipeline"] else None,
        oncall=latest["oncall"].summary if latest["oncall"] else None,
        findings=[finding_row(f) for f in findings],
    )
    vsm = latest_state(reader.store, analyses, datetime.now(UTC).date())
    page = Page(data)
    if vsm is not None:
        record, state = vsm
        data.value_stream = {"analysis_id": record.id, **state_doc(state)}
        future = state.future if state.effects else None
        add_chart(page, "valuestream", lambda: value_stream_map(state.current, future), charts)
    weeks = (data.dora or {}).get("weeks") or []
    add_chart(
        page,
        "dora",
        lambda: dora_trends(weeks),
        charts and bool(weeks),
        lambda f: reader.cached("chart:dora", (AnalysisTable,), f),
    )
    return page


def retros_page(reader: StoreReader) -> Page[RetrosPage]:
    store = reader.store
    retros = store.retrospectives()
    kpis = store.kpis()
    series, analyses = reader.series(), reader.analyses()
    found = {k.name: readings(k, series, analyses) for k in kpis}
    rows = improvement_report(retros, store.actions(), kpis, found)
    data = RetrosPage(
        retrospectives=[
            RetroRow(
                id=r.id,
                date=r.date,
                team=r.team,
                sprint=r.sprint,
                went_well=r.went_well,
                to_improve=r.to_improve,
                action_ids=r.action_ids,
            )
            for r in sorted(retros, key=lambda r: (r.date, r.id or 0), reverse=True)
        ],
        improvement=[
            ImprovementDoc(
                retro_id=x.retro.id,
                team=x.retro.team,
                sprint=x.retro.sprint,
                action_id=x.action.id,
                action=x.action.title,
                kpi=x.kpi,
                expected_change=x.expected_change,
                before=x.before,
                after=x.after,
                change=x.change,
            )
            for x in rows
        ],
    )
    return Page(data)
