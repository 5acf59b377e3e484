"""Tables for ``fleetwise process map``. Pure: maps in, renderables out."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from fleetwise.analyze.valuestream import ValueStream
from fleetwise.plan.valuestream import FutureState
from fleetwise.units import duration, percent, sig


def ladder_table(vs: ValueStream, title: str) -> Table:
    """One row per step: wait, active, %C&A and where it sits on the lead-time ladder."""
    t = Table(title=title, title_justify="left")
    for name in ("step", "wait h", "active h", "%C&A", "ladder h", "owner", ""):
        t.add_column(name, justify="right" if name.endswith(("h", "A")) else "left")
    for r in vs.ladder:
        s = r.step
        owner = " / ".join(x for x in (s.owner, s.team) if x) or "-"
        t.add_row(
            s.name,
            sig(s.wait_hours, 2),
            sig(s.active_hours, 2),
            percent(s.complete_accurate, 0),
            f"{sig(r.wait_start_hours, 3)} -> {sig(r.end_hours, 3)}",
            owner,
            "constraint" if r.constraint else "",
        )
    return t


def totals_line(vs: ValueStream, label: str) -> Text:
    return Text(
        f"{label}: lead time {sig(vs.lead_time_hours, 3)} h ({duration(vs.lead_time_hours)}), "
        f"process time {sig(vs.process_time_hours, 3)} h, flow efficiency "
        f"{percent(vs.flow_efficiency)}, rolled %C&A {percent(vs.rolled_complete_accurate)}, "
        f"constraint {vs.constraint or '-'} (longest wait)"
    )


def effects_table(fs: FutureState) -> Table:
    t = Table(title="open actions behind the future state", title_justify="left")
    for name in ("action", "status", "owner", "KPI", "step figure", "change", "planned end"):
        t.add_column(name, justify="right" if name == "change" else "left")
    for e in fs.effects:
        t.add_row(
            f"#{e.action_id} {e.action}",
            e.status,
            e.owner or "-",
            e.kpi,
            f"{e.step}.{e.figure}",
            f"{e.change:+.0%}",
            str(e.planned_end) if e.planned_end else "-",
        )
    return t


def map_view(fs: FutureState, future: bool) -> Group:
    cur = fs.current
    parts: list[Any] = [
        ladder_table(cur, f"value stream: {cur.name} ({cur.source})"),
        totals_line(cur, "current"),
    ]
    if not future:
        return Group(*parts)
    if not fs.effects:
        parts.append(
            Text(
                "future state: no open action has an effect on a KPI bound to a step "
                "(KPI source analysis:process:steps.<step>.<wait_hours|active_hours|"
                "complete_accurate>)"
            )
        )
        return Group(*parts)
    parts += [
        ladder_table(fs.future, "future state"),
        totals_line(fs.future, "future"),
        Text(
            f"lead time saved: {sig(fs.lead_time_saved_hours, 3)} h"
            + (f", ready by {fs.ready_by}" if fs.ready_by else ", not all actions scheduled")
        ),
        effects_table(fs),
    ]
    return Group(*parts)
