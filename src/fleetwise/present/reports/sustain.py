"""Sustainment in the improvement report: the done actions' gains held or eroding at
30/60/90 days after closure (``plan.sustain``), and the owners whose gains were measured."""

from __future__ import annotations

from fleetwise.plan.sustain import CheckpointState, GainWatch, SustainReport, sustain_report
from fleetwise.present.reports.facts import Facts
from fleetwise.present.reports.model import Figure, Item, Section, Table, absent
from fleetwise.units import percent, sig

NO_WATCH = (
    "no done action with a KPI effect: fleetwise plan update ID --status done --end DAY, "
    "then fleetwise kpi watch"
)
WATCH_COLUMNS = (
    "action",
    "owner",
    "KPI",
    "closed",
    "before",
    "measured",
    "latest",
    "kept",
    "30 d",
    "60 d",
    "90 d",
    "verdict",
)


def _num(x: float | None) -> str:
    return "-" if x is None else sig(x, 3)


def checkpoint_text(c: CheckpointState) -> str:
    return c.state if c.kept is None else f"{c.state} ({percent(c.kept, 0)})"


def watch_cells(w: GainWatch) -> list[str]:
    """One row of the watch, as ``fleetwise kpi watch`` and the improvement report show it."""
    marks = {c.days: checkpoint_text(c) for c in w.checkpoints}
    return [
        f"#{w.action.id} {w.action.title}",
        w.action.owner or "-",
        w.kpi.name,
        str(w.closed) if w.closed else "-",
        _num(w.before),
        _num(w.measured),
        _num(w.latest),
        percent(w.kept, 0),
        *(marks.get(d, "-") for d in (30, 60, 90)),
        w.verdict + (f": {w.note}" if w.note else ""),
    ]


def recognition_lines(r: SustainReport) -> list[Item]:
    return [
        Item(
            title=f"{c.owner}: " + ", ".join(f"#{a.id} {a.title}" for a in c.actions),
            lines=[f"measured gain on {', '.join(sorted(set(c.kpis)))}"],
            source="fleetwise kpi watch",
        )
        for c in r.recognition
    ]


def sections(facts: Facts) -> list[Section]:
    """Gains under watch and recognition, from the facts (nothing is stored here)."""
    report = sustain_report(
        facts.actions,
        [s.kpi for s, _ in facts.kpis],
        {s.kpi.name: found for s, found in facts.kpis},
        facts.today,
    )
    if not report.watches:
        return [absent("sustainment", "Sustainment: gains after closure", NO_WATCH)]
    held = sum(w.verdict == "held" for w in report.watches)
    eroding = sum(w.verdict == "eroding" for w in report.watches)
    watch = Section(
        key="sustainment",
        title="Sustainment: gains after closure",
        paragraphs=[
            f"{len(report.watches)} KPI gains of done actions under watch: {held} held, "
            f"{eroding} eroding (guard band: keep {percent(1 - report.guard, 0)} of the gain); "
            "an eroding gain is a finding (fleetwise kpi watch stores it)."
        ],
        figures=[
            Figure(
                key="sustainment.held",
                label="gains held",
                value=held,
                text=str(held),
                source="fleetwise kpi watch",
            ),
            Figure(
                key="sustainment.eroding",
                label="gains eroding",
                value=eroding,
                text=str(eroding),
                source="fleetwise kpi watch",
            ),
        ],
        tables=[
            Table(
                title="gains held after 30/60/90 days",
                columns=list(WATCH_COLUMNS),
                rows=[watch_cells(w) for w in report.watches],
                source="fleetwise kpi watch",
            )
        ],
    )
    credit = Section(
        key="recognition",
        title="Recognition: owners of measured gains",
        items=recognition_lines(report),
        missing="" if report.recognition else "no gain measured after closure yet",
    )
    return [watch, credit]
