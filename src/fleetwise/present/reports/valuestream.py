"""The briefing's process map: the stored value-stream map (``fleetwise process map``)
beside the future state of today's backlog, its ladder chart and the step table."""

from __future__ import annotations

from fleetwise.analyze.valuestream import ValueStream
from fleetwise.plan.valuestream import FutureState
from fleetwise.present import charts
from fleetwise.present.reports.facts import Facts
from fleetwise.present.reports.model import ChartSpec, Figure, Section, Table, absent
from fleetwise.units import duration, percent, sig
from fleetwise.usecases.valuestream import NO_MAP, stored_state

TITLE = "Process map (value stream)"


def _figures(vs: ValueStream, state: str, source: str) -> list[Figure]:
    return [
        Figure(
            key=f"value_stream.{state}.lead_time_hours",
            label=f"{state} lead time",
            value=vs.lead_time_hours,
            text=f"{sig(vs.lead_time_hours, 3)} h ({duration(vs.lead_time_hours)})",
            source=source,
        ),
        Figure(
            key=f"value_stream.{state}.process_time_hours",
            label=f"{state} process time",
            value=vs.process_time_hours,
            text=f"{sig(vs.process_time_hours, 3)} h",
            source=source,
        ),
        Figure(
            key=f"value_stream.{state}.flow_efficiency",
            label=f"{state} flow efficiency",
            value=vs.flow_efficiency,
            text=percent(vs.flow_efficiency),
            source=source,
        ),
        Figure(
            key=f"value_stream.{state}.rolled_complete_accurate",
            label=f"{state} rolled %C&A",
            value=vs.rolled_complete_accurate,
            text=percent(vs.rolled_complete_accurate),
            source=source,
        ),
    ]


def _table(fs: FutureState, source: str) -> Table:
    rows = []
    for now, later in zip(fs.current.ladder, fs.future.ladder, strict=True):
        s, t = now.step, later.step
        rows.append(
            [
                s.name + (" (constraint)" if now.constraint else ""),
                sig(s.wait_hours, 3),
                sig(s.active_hours, 3),
                percent(s.complete_accurate, 0),
                sig(t.wait_hours, 3),
                sig(t.active_hours, 3),
                percent(t.complete_accurate, 0),
                s.owner or "-",
            ]
        )
    return Table(
        title="steps: wait and active hours, %C&A, now and in the future state",
        columns=[
            "step",
            "wait h",
            "active h",
            "%C&A",
            "future wait",
            "future active",
            "fut. %C&A",
            "owner",
        ],
        rows=rows,
        source=source,
    )


def section(facts: Facts) -> Section:
    """The latest stored map and its future state; absent (with the command) without one."""
    found = stored_state(
        facts.analyses, facts.actions, [s.kpi for s, _ in facts.kpis], facts.timeline
    )
    if found is None:
        return absent("value_stream", TITLE, NO_MAP)
    record, fs = found
    source = f"process analysis {record.id} (fleetwise process map, {fs.current.source})"
    cur, fut = fs.current, fs.future
    paragraphs = [
        f"{cur.name}: a change waits {sig(cur.lead_time_hours - cur.process_time_hours, 3)} h "
        f"of its {sig(cur.lead_time_hours, 3)} h lead time; the constraint is {cur.constraint} "
        "(the longest wait); "
        f"{percent(cur.rolled_complete_accurate)} of changes pass every step without rework.",
    ]
    figures = _figures(cur, "current", source)
    if fs.effects:
        actions = sorted({f"#{e.action_id}" for e in fs.effects})
        paragraphs.append(
            f"Future state with {len(actions)} open actions ({', '.join(actions)}): lead time "
            f"{sig(fut.lead_time_hours, 3)} h ({sig(fs.lead_time_saved_hours, 3)} h less), flow "
            f"efficiency {percent(fut.flow_efficiency)}, rolled %C&A "
            f"{percent(fut.rolled_complete_accurate)}; the constraint moves to {fut.constraint}"
            + (f"; ready by {fs.ready_by}." if fs.ready_by else "; not every action is scheduled.")
        )
        figures += _figures(fut, "future", source + " with the open actions' expected effects")
    else:
        paragraphs.append(
            "No open action moves a KPI bound to a step "
            "(analysis:process:steps.STEP.wait_hours...): the future state is the current one."
        )
    chart = charts.value_stream_map(cur, fut if fs.effects else None)
    return Section(
        key="value_stream",
        title=TITLE,
        paragraphs=paragraphs,
        figures=figures,
        tables=[_table(fs, source)],
        charts=[ChartSpec(name="valuestream", title="lead-time ladder", spec=charts.spec(chart))],
    )
