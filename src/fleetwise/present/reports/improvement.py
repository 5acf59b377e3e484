"""The improvement report: each sprint's retro actions with their KPIs before and after
(``plan.retro.improvement_report``, as ``fleetwise retro report``), and the KPIs now."""

from __future__ import annotations

from datetime import UTC, date, datetime

from fleetwise.plan.retro import ImprovementRow, improvement_report
from fleetwise.present.reports import areas, sustain
from fleetwise.present.reports.facts import gather
from fleetwise.present.reports.model import Figure, Item, Report, Section, Table, absent
from fleetwise.store import Store
from fleetwise.units import sig

NO_RETROS = "no retrospectives stored: fleetwise retro add FILE"


IMPROVEMENT_COLUMNS = (
    "sprint",
    "team",
    "action",
    "status",
    "KPI",
    "expected",
    "before",
    "after",
    "change",
)


def _num(x: float | None) -> str:
    return "-" if x is None else sig(x)


def improvement_cells(r: ImprovementRow) -> list[str]:
    """One row of the before/after table, as the report and ``fleetwise retro report`` show it."""
    return [
        f"{r.retro.date} {r.retro.sprint}".strip(),
        r.retro.team,
        f"#{r.action.id} {r.action.title}",
        r.action.status.value,
        r.kpi,
        f"{r.expected_change:+.0%}",
        _num(r.before),
        _num(r.after),
        "-" if r.change is None else f"{r.change:+.1%}",
    ]


def build_improvement(store: Store, *, today: date | None = None) -> Report:
    """Before/after KPIs per sprint, the retrospectives' observations, KPIs now."""
    day = today or datetime.now(UTC).date()
    facts = gather(store, day, with_forecast=False)
    report = Report(
        kind="improvement",
        title="Improvement report",
        subtitle=f"as of {day}",
        generated_at=datetime.now(UTC),
        store=facts.store_url,
    )
    if not facts.retros:
        report.summary = [absent("sprints", "Sprints", NO_RETROS)]
        report.sections = [*sustain.sections(facts), areas.kpis(facts)]
        return report
    rows = improvement_report(
        facts.retros,
        facts.actions,
        [s.kpi for s, _ in facts.kpis],
        {s.kpi.name: found for s, found in facts.kpis},
    )
    figures = [
        Figure(
            key=f"improvement.{r.retro.id}.{r.action.id}.{r.kpi}.change",
            label=f"{r.kpi} after #{r.action.id} {r.action.title}",
            value=r.change,
            text="-" if r.change is None else f"{r.change:+.1%}",
            source=f"retro {r.retro.id}: {r.before_ref or '-'} -> {r.after_ref or '-'}",
        )
        for r in rows
    ]
    table = Table(
        title="before and after, per sprint",
        columns=list(IMPROVEMENT_COLUMNS),
        rows=[improvement_cells(r) for r in rows],
        source="fleetwise retro report",
    )
    report.summary = [Section(key="sprints", title="Sprints", figures=figures, tables=[table])]
    retros = Section(
        key="retros",
        title="Retrospectives",
        items=[
            Item(
                title=f"{r.date} {r.team} {r.sprint}".strip(),
                lines=[
                    *(f"went well: {w}" for w in r.went_well),
                    *(f"to improve: {w}" for w in r.to_improve),
                    "actions: " + (", ".join(f"#{i}" for i in r.action_ids) or "-"),
                ],
                source=f"retro {r.id}",
            )
            for r in facts.retros
        ],
    )
    report.sections = [retros, *sustain.sections(facts), areas.kpis(facts)]
    return report
