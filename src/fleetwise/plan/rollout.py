"""The rollout plan: approved actions on a calendar, dependencies first, milestones vs today.

Scheduling rules (simple on purpose, so a steering committee can check them by hand):

- approved, in-progress and done actions are scheduled; proposed and rejected ones are not;
- an action's duration is its effort in working days (one owner, full time), rounded up;
- it starts on its stated ``start``, else on the plan's start date, and never before the
  working day after every action it depends on ends;
- a stated ``end`` is kept (and flagged when a dependency ends after the stated start);
- an action that depends on one not scheduled (proposed, rejected, unknown) is blocked.

Owners are not levelled: two actions of one owner may overlap; the table shows it.
Milestone status against today: done, late (end passed, not done), due (today within its
dates), upcoming, or blocked.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

import numpy as np

from fleetwise.errors import InputError
from fleetwise.models import Action, ActionStatus
from fleetwise.plan.backlog import find_cycle

MilestoneStatus = Literal["done", "late", "due", "upcoming", "blocked"]
_SCHEDULED = {ActionStatus.APPROVED, ActionStatus.IN_PROGRESS, ActionStatus.DONE}


@dataclass(frozen=True)
class ScheduledItem:
    action: Action
    start: date | None
    end: date | None
    working_days: int
    milestone: MilestoneStatus
    waits_for: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _busday(d: date, offset: int) -> date:
    day = np.busday_offset(np.datetime64(d, "D"), offset, roll="forward")
    return date.fromisoformat(str(day))


def _milestone(a: Action, start: date, end: date, today: date) -> MilestoneStatus:
    if a.status is ActionStatus.DONE:
        return "done"
    if end < today:
        return "late"
    return "due" if start <= today else "upcoming"


def schedule(actions: Sequence[Action], plan_start: date, today: date) -> list[ScheduledItem]:
    """Schedule the approved work; items in start order (blocked ones last)."""
    chosen: dict[int, Action] = {}
    for a in actions:
        if a.status in _SCHEDULED and a.id is not None:
            chosen[a.id] = a
    graph = {i: [d for d in a.depends_on if d in chosen] for i, a in chosen.items()}
    cycle = find_cycle(graph)
    if cycle:
        raise InputError("dependencies form a cycle: " + " -> ".join(f"#{i}" for i in cycle))
    done: dict[int, ScheduledItem] = {}

    def place(action_id: int) -> ScheduledItem:
        if action_id in done:
            return done[action_id]
        a = chosen[action_id]
        days = max(1, math.ceil(a.effort_days))
        missing = [d for d in a.depends_on if d not in chosen]
        deps = [place(d) for d in a.depends_on if d in chosen]
        notes = [f"waits for #{d}, which is not approved" for d in missing]
        if missing or any(d.milestone == "blocked" for d in deps):
            if not missing:
                notes.append("a dependency is blocked")
            item = ScheduledItem(a, None, None, days, "blocked", list(a.depends_on), notes)
        else:
            earliest = a.start or plan_start
            for d in deps:
                assert d.end is not None
                after = _busday(d.end, 1)
                if after > earliest:
                    if a.start is not None:
                        notes.append(f"stated start {a.start} is before #{d.action.id} ends")
                    earliest = after
            start = _busday(earliest, 0)
            end = a.end or _busday(start, days - 1)
            if end < start:
                notes.append(f"stated end {end} is before the start {start}")
                end = start
            item = ScheduledItem(
                a, start, end, days, _milestone(a, start, end, today), list(a.depends_on), notes
            )
        done[action_id] = item
        return item

    items = [place(i) for i in sorted(chosen)]
    return sorted(items, key=lambda it: (it.start is None, it.start or plan_start, it.action.id))
