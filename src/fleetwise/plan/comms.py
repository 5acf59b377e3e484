"""The communication plan: who hears what, when, on which channel, owned by whom; made
from the rollout schedule (``plan.rollout.schedule``) and each action's RACI.

Rules (one place, so a reader can check any line of the plan by hand):

- **consult**: the C of an action are consulted 5 working days before it starts, in a
  review session (sooner is not possible when the start is nearer: then today, noted late);
- **kickoff**: the A and R hear the kickoff on the start day, in a kickoff meeting;
- **review**: on the end day, A, R and C review the measured effect against the expected
  one (go / no-go), in a review meeting;
- **announce**: the working day after the end, the I and the C hear what changed, on the
  channel of their grid quadrant (below), owned by the first R (else the A);
- **steering**: every second week from the first start to the last announcement, the
  high-influence stakeholders (manage closely, keep satisfied) get a steering update
  of the work starting, in flight and ending, owned by the programme lead (the register's
  ``programme_lead``, else whoever is accountable for the most actions).

Channels by quadrant: manage closely -> 1:1 briefing, keep satisfied -> email brief,
keep informed -> team channel post, monitor -> newsletter. A per-action message is owned
by the action's A unless said otherwise. Actions without a RACI get no per-action
messages: the plan lists them so someone assigns one. Blocked actions have no dates and
no messages.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Literal

import numpy as np

from fleetwise.models import Raci, Stakeholder
from fleetwise.plan.alignment import Quadrant, quadrant
from fleetwise.plan.rollout import ScheduledItem

EventKind = Literal["consult", "kickoff", "review", "announce", "steering"]
CHANNEL: dict[Quadrant, str] = {
    "manage closely": "1:1 briefing",
    "keep satisfied": "email brief",
    "keep informed": "team channel post",
    "monitor": "newsletter",
}
STEERING_CHANNEL: dict[Quadrant, str] = {
    "manage closely": "steering meeting",
    "keep satisfied": "steering email brief",
}
#: Working days between consulting the C and the start: enough to change the plan.
CONSULT_LEAD_DAYS = 5
STEERING_EVERY_DAYS = 14


@dataclass(frozen=True)
class CommsEvent:
    day: date
    kind: EventKind
    #: The action's title ("" for a steering update, which covers them all).
    action: str
    audience: tuple[str, ...]
    channel: str
    owner: str
    message: str
    note: str = ""


@dataclass(frozen=True)
class CommsPlan:
    events: list[CommsEvent]
    #: Scheduled actions with no RACI (no one to tell): assign one.
    without_raci: list[str] = field(default_factory=list)
    #: Blocked actions: no dates, so no messages yet.
    blocked: list[str] = field(default_factory=list)
    programme_lead: str = ""

    def between(self, start: date, end: date | None = None) -> list[CommsEvent]:
        return [e for e in self.events if e.day >= start and (end is None or e.day <= end)]


def _busday(d: date, offset: int) -> date:
    day = np.busday_offset(
        np.datetime64(d, "D"), offset, roll="forward" if offset >= 0 else "backward"
    )
    return date.fromisoformat(str(day))


def _lead(racis: Sequence[Raci], named: str) -> str:
    if named:
        return named
    count: dict[str, int] = {}
    for r in racis:
        count[r.accountable] = count.get(r.accountable, 0) + 1
    return max(sorted(count), key=lambda n: count[n]) if count else ""


def _action_events(
    it: ScheduledItem, raci: Raci, people: Mapping[str, Stakeholder], today: date
) -> list[CommsEvent]:
    assert it.start is not None and it.end is not None
    title, a = it.action.title, raci.accountable
    span = f"{it.start} to {it.end} ({it.working_days} working days)"
    out: list[CommsEvent] = []
    if raci.consulted:
        day, note = _busday(it.start, -CONSULT_LEAD_DAYS), ""
        if day < today <= it.start:
            day, note = today, f"late: fewer than {CONSULT_LEAD_DAYS} working days before start"
        out.append(
            CommsEvent(
                day,
                "consult",
                title,
                raci.consulted,
                "review session",
                a,
                f"Review the plan for '{title}' before it starts ({span}): scope, risks, "
                "what it needs from your team.",
                note,
            )
        )
    doers = tuple(dict.fromkeys([a, *raci.responsible]))
    out.append(
        CommsEvent(
            it.start,
            "kickoff",
            title,
            doers,
            "kickoff meeting",
            a,
            f"Kick off '{title}': {span}; accountable {a}.",
        )
    )
    out.append(
        CommsEvent(
            it.end,
            "review",
            title,
            tuple(dict.fromkeys([*doers, *raci.consulted])),
            "review meeting",
            a,
            f"'{title}' ends: measured effect against the expected one; go / no-go.",
        )
    )
    hear = list(dict.fromkeys([*raci.informed, *raci.consulted]))
    by_channel: dict[str, list[str]] = {}
    for name in hear:
        p = people.get(name)
        channel = CHANNEL[quadrant(p)] if p is not None else CHANNEL["monitor"]
        by_channel.setdefault(channel, []).append(name)
    owner = raci.responsible[0] if raci.responsible else a
    for channel in sorted(by_channel):
        out.append(
            CommsEvent(
                _busday(it.end, 1),
                "announce",
                title,
                tuple(by_channel[channel]),
                channel,
                owner,
                f"'{title}' is live: what changes for you, and whom to ask ({owner}).",
            )
        )
    return out


def _steering(
    items: Sequence[ScheduledItem],
    people: Sequence[Stakeholder],
    lead: str,
    first: date,
    last: date,
) -> list[CommsEvent]:
    high = [p for p in people if quadrant(p) in STEERING_CHANNEL]
    if not high:
        return []
    out = []
    day = first
    while day <= last:
        until = day + timedelta(days=STEERING_EVERY_DAYS - 1)
        work = [
            f"{i.action.title} ({i.start} to {i.end})"
            for i in items
            if i.start and i.end and i.start <= until and i.end >= day
        ]
        parts = ["; ".join(work)] if work else []
        if parts:
            for quad in ("manage closely", "keep satisfied"):
                names = tuple(p.name for p in high if quadrant(p) == quad)
                if names:
                    out.append(
                        CommsEvent(
                            day,
                            "steering",
                            "",
                            names,
                            STEERING_CHANNEL[quad],
                            lead,
                            f"Steering update for {day} to {until}, work in flight: {parts[0]}.",
                        )
                    )
        day += timedelta(days=STEERING_EVERY_DAYS)
    return out


_ORDER = {"steering": 0, "consult": 1, "kickoff": 2, "review": 3, "announce": 4}


def comms_plan(
    items: Sequence[ScheduledItem],
    racis: Mapping[int, Raci],
    stakeholders: Sequence[Stakeholder],
    today: date,
    programme_lead: str = "",
) -> CommsPlan:
    """Every message of the rollout (past ones included), by day; see the module's rules."""
    people = {p.name: p for p in stakeholders}
    events: list[CommsEvent] = []
    without, blocked = [], []
    dated = [i for i in items if i.start is not None and i.end is not None]
    for it in items:
        if it.start is None:
            blocked.append(it.action.title)
            continue
        raci = racis.get(it.action.id or -1)
        if raci is None:
            without.append(it.action.title)
            continue
        events.extend(_action_events(it, raci, people, today))
    lead = _lead(list(racis.values()), programme_lead)
    if dated and lead:
        first = min(i.start for i in dated if i.start is not None)
        last = _busday(max(i.end for i in dated if i.end is not None), 1)
        events.extend(_steering(dated, stakeholders, lead, first, last))
    events.sort(key=lambda e: (e.day, _ORDER[e.kind], e.action, e.channel))
    return CommsPlan(events, without, blocked, lead)
