"""What the reports and the dashboard show, read from the store once per report.

Each figure comes from the same library call the CLI makes (``plan.scoring.rank`` as
``fleetwise plan rank``, ``plan.capacity.forecast_daily`` as ``fleetwise capacity
forecast``, ``plan.invest.compare`` as ``fleetwise invest compare``...), with the CLI's
defaults, so a report's numbers equal the ``--json`` output of those commands.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TypeVar

from fleetwise.errors import FleetwiseError
from fleetwise.models import (
    Action,
    AnalysisRecord,
    Decision,
    Experiment,
    Finding,
    ResultRecord,
    Retrospective,
    RunRecord,
    RunStatus,
    Series,
)
from fleetwise.plan.capacity import Forecast
from fleetwise.plan.claims import Claim
from fleetwise.plan.fleet import FleetProfile
from fleetwise.plan.invest import InvestResult, compare, load_scenario, scenario_inputs
from fleetwise.plan.kpis import KPIState, Reading, kpi_state, readings
from fleetwise.plan.rollout import ScheduledItem, schedule
from fleetwise.plan.scoring import Ranked
from fleetwise.store import Store
from fleetwise.usecases.alignment import AlignmentView, alignment_view
from fleetwise.usecases.capacity import Outlook, stored_demand, stored_outlook
from fleetwise.usecases.ledger import LedgerView, current_findings
from fleetwise.usecases.plan import Recoverable, plan_totals
from fleetwise.usecases.provenance import Input
from fleetwise.usecases.provenance import inputs as input_list

T = TypeVar("T")

#: Scenarios for "what if demand grows faster" (growth per year, plan efficiency gain),
#: the same as ``fleetwise capacity forecast --growth G``.
GROWTH_CASES = (("growth 50%/yr", 0.5, 0.0), ("growth 100%/yr", 1.0, 0.0))


@dataclass
class Facts:
    """Everything a report reads, gathered once; ``problems`` says what could not be."""

    today: date
    store_url: str
    analyses: list[AnalysisRecord]
    findings: list[Finding]
    analysis_kind: dict[int, str]
    actions: list[Action]
    ranked: list[Ranked]
    kpis: list[tuple[KPIState, list[Reading]]]
    decisions: list[Decision]
    experiments: list[Experiment]
    retros: list[Retrospective]
    runs: list[RunRecord]
    #: Results of the newest completed run (efficiency vs peak, performance report).
    latest_results: list[ResultRecord]
    series: list[Series]
    forecast: Forecast | None
    #: The forecast with how old its data is and what was left out of the fit.
    outlook: Outlook | None
    invest: InvestResult
    invest_source: str
    timeline: list[ScheduledItem]
    #: The fleet profile every dollar used, the ledger and what the backlog may promise.
    profile: FleetProfile
    #: Every input behind the figures, with where it comes from.
    inputs: list[Input]
    scenario: Path | None
    ledger: LedgerView
    recoverable: Recoverable
    #: The stakeholder register, meetings and communication plan (None when unreadable).
    alignment: AlignmentView | None = None
    problems: dict[str, str] = field(default_factory=dict)
    #: Parts left out on purpose (``with_forecast=False``), not failures.
    skipped: dict[str, str] = field(default_factory=dict)

    def why_absent(self, key: str, default: str) -> str:
        """Why a part has no data: its failure, its being skipped, else ``default``."""
        return self.problems.get(key) or self.skipped.get(key) or default

    def latest(self, kind: str) -> AnalysisRecord | None:
        found = [a for a in self.analyses if a.kind == kind]
        return found[-1] if found else None

    def claim(self, f: Finding) -> Claim | None:
        """The finding's bounded claim on the ledger."""
        return self.ledger.claims.of(f.id)

    def finding_source(self, f: Finding) -> str:
        kind = self.analysis_kind.get(f.analysis_id or -1, "?")
        return f"finding {f.id}, {kind} analysis {f.analysis_id}"


def _attempt(problems: dict[str, str], key: str, call: Callable[[], T]) -> T | None:
    try:
        return call()
    except FleetwiseError as exc:
        problems[key] = str(exc)
        return None


def _kpi_states(
    store: Store, today: date, series: list[Series], analyses: list[AnalysisRecord]
) -> list[tuple[KPIState, list[Reading]]]:
    out = []
    for k in store.kpis():
        found = readings(k, series, analyses)
        out.append((kpi_state(k, found, today), found))
    return out


def _forecast(store: Store, today: date) -> Outlook | None:
    demand = stored_demand(store)
    if not demand.jobs:
        return None
    return stored_outlook(demand, today)


def gather(
    store: Store,
    today: date,
    scenario: Path | None = None,
    *,
    with_forecast: bool = True,
    profile: FleetProfile | None = None,
) -> Facts:
    """Read the store and run the plan functions as the CLI does, priced with the fleet
    ``profile`` (default: the one in force); the forecast, the slowest of them, only
    ``with_forecast``."""
    from fleetwise.usecases.fleet import profile_for

    problems: dict[str, str] = {}
    skipped: dict[str, str] = {}
    prof = profile or profile_for()
    if scenario is None and prof.invest_scenario:
        scenario = Path(prof.invest_scenario)  # the scenario of record, named by the profile
    analyses = store.analyses()
    series = store.series()
    totals = plan_totals(store, prof)
    actions = totals.actions
    kpis = _attempt(problems, "kpis", lambda: _kpi_states(store, today, series, analyses))
    forecast = None
    outlook_: Outlook | None = None
    if with_forecast:
        found = _attempt(problems, "capacity", lambda: _forecast(store, today))
        forecast = found.forecast if found else None
        outlook_ = found
    else:
        skipped["capacity"] = "forecast not computed here: fleetwise capacity forecast"
    if scenario is not None:
        inputs, overridden = load_scenario(scenario)
        invest, source = compare(inputs, overridden), f"invest compare {scenario}"
    else:
        invest, source = compare(scenario_inputs({})), "invest compare (defaults)"
    runs = store.list_runs(limit=1000)
    done = [r for r in runs if r.status is RunStatus.COMPLETED]
    timeline = _attempt(problems, "rollout", lambda: schedule(actions, today, today))
    people = _attempt(problems, "alignment", lambda: alignment_view(store, today))
    return Facts(
        today=today,
        store_url=store.display_url,
        analyses=analyses,
        findings=current_findings(analyses),
        analysis_kind={a.id: a.kind for a in analyses},
        actions=actions,
        ranked=totals.ranked_open,
        kpis=kpis or [],
        decisions=store.decisions(),
        experiments=store.experiments(),
        retros=store.retrospectives(),
        runs=runs,
        latest_results=store.results(done[0].id) if done else [],
        series=series,
        forecast=forecast,
        outlook=outlook_,
        invest=invest,
        invest_source=source,
        timeline=timeline or [],
        profile=prof,
        inputs=input_list(store, prof, scenario),
        scenario=scenario,
        ledger=totals.view,
        recoverable=totals.recoverable,
        alignment=people,
        problems=problems,
        skipped=skipped,
    )
