"""The people side of the plan: the stakeholder register, RACI, meetings (the alignment
log) and the communication plan; what ``fleetwise stakeholder|meeting|alignment|comms``,
the dashboard's Alignment page and the briefing all call.

A meeting's decisions go to the decision log through ``usecases.decisions.record_decision``
dated on the meeting's day; the meeting remembers which it logged, so adding the file again
(or a corrected copy) logs each decision once. The log is history: a decision dropped from
a re-added file stays logged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from pathlib import Path

from pydantic import BaseModel, Field

from fleetwise.errors import InputError
from fleetwise.models import Action, Meeting, MeetingDecision, Raci
from fleetwise.plan.alignment import (
    QUADRANTS,
    Quadrant,
    load_register,
    quadrant,
    raci_from_names,
    resolve_action,
)
from fleetwise.plan.comms import CommsEvent, CommsPlan, comms_plan
from fleetwise.plan.decisions import status_after
from fleetwise.plan.meetings import load_meeting
from fleetwise.plan.rollout import schedule
from fleetwise.store import Store
from fleetwise.usecases.decisions import record_decision

#: Weeks of the communication plan the briefing and the dashboard show.
HORIZON_WEEKS = 6


@dataclass(frozen=True)
class RegisterImported:
    added: int
    updated: int
    raci_actions: list[str]


def import_register(store: Store, path: Path) -> RegisterImported:
    """Check the register file against the backlog, then store it in one transaction."""
    reg = load_register(path, store.actions())
    added, updated = store.save_register(reg.stakeholders, reg.raci, reg.programme_lead)
    titles = {a.id: a.title for a in store.actions()}
    return RegisterImported(added, updated, [titles[r.action_id] for r in reg.raci])


def set_raci(
    store: Store,
    action_ref: str,
    responsible: Sequence[str],
    accountable: Sequence[str],
    consulted: Sequence[str] = (),
    informed: Sequence[str] = (),
) -> tuple[Action, Raci]:
    """Replace one action's RACI (the action named by title, slug or catalog key)."""
    got = resolve_action(action_ref, store.actions())
    if isinstance(got, str):
        raise InputError(got)
    known = {p.name for p in store.stakeholders()}
    raci = raci_from_names(got, responsible, accountable, consulted, informed, known)
    store.save_raci(raci)
    return got, raci


@dataclass(frozen=True)
class MeetingAdded:
    meeting: Meeting
    replaced: bool
    #: Decisions this call added to the decision log, and those logged before.
    logged: int
    already: int


def _decision_key(d: MeetingDecision) -> str:
    return f"{d.action_id}|{d.decision.value}|{d.by}|{d.note}"


def add_meeting(store: Store, path: Path) -> MeetingAdded:
    """Check a meeting file, log its new decisions, store it (replacing its earlier copy)."""
    people = {p.name for p in store.stakeholders()}
    if not people:
        raise InputError(
            f"{path}: the stakeholder register is empty (fleetwise stakeholder import FILE)"
        )
    actions = store.actions()
    stored = store.meetings()
    raised = {
        o.key: (s.meeting.key, s.meeting.date)
        for s in stored
        for o in s.meeting.objections
        if o.key
    }
    m = load_meeting(path, stakeholders=people, actions=actions, raised=raised)
    prev = next((s for s in stored if s.meeting.key == m.key), None)
    logged = dict(prev.logged) if prev else {}
    by_id = {a.id: a for a in actions}
    todo = [d for d in m.decisions if _decision_key(d) not in logged]
    for d in todo:  # every decision checked before any is logged
        try:
            status_after(by_id[d.action_id], d.decision)
        except InputError as exc:
            raise InputError(f"{path}: decision on {d.action_title!r}: {exc}") from exc
    when = datetime.combine(m.date, time(12), UTC)
    for d in todo:
        assert d.action_id is not None
        note = (
            f"{d.note} (meeting {m.date}: {m.title})" if d.note else f"meeting {m.date}: {m.title}"
        )
        rec = record_decision(store, d.action_id, d.decision, d.by, note, now=when)
        logged[_decision_key(d)] = rec.decision.id or 0
    store.save_meeting(m, str(path), logged)
    return MeetingAdded(m, prev is not None, len(todo), len(m.decisions) - len(todo))


# -- the alignment view ----------------------------------------------------------------------
class StancePoint(BaseModel):
    day: date | None
    stance: str
    #: The meeting that recorded it ("register" for the stance at import).
    source: str
    note: str = ""


class Asked(BaseModel):
    day: date
    meeting: str
    text: str
    action: str = ""
    answer: str = ""
    answered_by: str = ""
    answered_on: date | None = None
    #: Raised and not answered (in its meeting or a later one).
    open: bool = True


class Decided(BaseModel):
    day: date
    meeting: str
    action: str
    decision: str
    note: str = ""


class StakeholderView(BaseModel):
    name: str
    role: str
    team: str
    influence: int
    interest: int
    quadrant: Quadrant
    stance: str | None
    history: list[StancePoint] = Field(default_factory=list)
    asked: list[Asked] = Field(default_factory=list)
    decided: list[Decided] = Field(default_factory=list)
    #: Action title -> RACI letters ("A", "RA", "C"...).
    raci: dict[str, str] = Field(default_factory=dict)
    meetings_attended: int = 0
    #: Times the stance changed (register -> meetings, meeting -> meeting).
    moves: int = 0


class OpenObjection(BaseModel):
    by: str
    day: date
    meeting: str
    text: str
    action: str = ""


class CommsRow(BaseModel):
    day: date
    kind: str
    action: str
    audience: list[str]
    channel: str
    owner: str
    message: str
    note: str = ""


class AlignmentView(BaseModel):
    today: date
    stakeholders: list[StakeholderView]
    grid: dict[str, list[str]]
    stance_counts: dict[str, int]
    stance_moves: int
    meetings: list[dict[str, object]]
    open_objections: list[OpenObjection]
    objections_total: int
    #: Every message of the communication plan from today on.
    comms: list[CommsRow]
    comms_first: date | None
    comms_last: date | None
    programme_lead: str
    without_raci: list[str]
    blocked: list[str]
    #: Actions with a RACI, by title -> letter -> names.
    raci: dict[str, dict[str, list[str]]]

    def comms_within(self, weeks: int = HORIZON_WEEKS) -> list[CommsRow]:
        end = self.today + timedelta(weeks=weeks)
        return [c for c in self.comms if c.day <= end]


def _row(e: CommsEvent) -> CommsRow:
    return CommsRow(
        day=e.day,
        kind=e.kind,
        action=e.action,
        audience=list(e.audience),
        channel=e.channel,
        owner=e.owner,
        message=e.message,
        note=e.note,
    )


def communication_plan(store: Store, today: date) -> CommsPlan:
    """The plan from the rollout the briefing shows (approved work from ``today``)."""
    items = schedule(store.actions(), today, today)
    return comms_plan(items, store.racis(), store.stakeholders(), today, store.programme_lead())


def _asked(meetings: Sequence[Meeting]) -> dict[str, list[Asked]]:
    later: dict[str, tuple[str, str, date]] = {}
    for m in meetings:
        for a in m.answers:
            later.setdefault(a.objection, (a.answer, a.answered_by, m.date))
    out: dict[str, list[Asked]] = {}
    for m in meetings:
        for o in m.objections:
            answer, who, on = o.answer, o.answered_by, m.date if o.answer else None
            if not answer and o.key in later:
                answer, who, on = later[o.key]
            out.setdefault(o.by, []).append(
                Asked(
                    day=m.date,
                    meeting=m.title,
                    text=o.text,
                    action=o.action_title,
                    answer=answer,
                    answered_by=who,
                    answered_on=on,
                    open=not answer,
                )
            )
    return out


def alignment_view(store: Store, today: date) -> AlignmentView:
    """Everything the alignment report, page and briefing section show, as of ``today``."""
    people = store.stakeholders()
    meetings = [s.meeting for s in store.meetings()]
    stances = store.stances()
    racis = store.racis()
    titles = {a.id: a.title for a in store.actions()}
    plan = communication_plan(store, today)
    asked = _asked(meetings)
    views = []
    for p in people:
        history = [StancePoint(day=None, stance=p.stance, source="register")] if p.stance else []
        history += [
            StancePoint(day=s.day, stance=s.stance, source=s.meeting, note=s.note)
            for s in stances
            if s.stakeholder == p.name
        ]
        decided = [
            Decided(
                day=m.date,
                meeting=m.title,
                action=d.action_title,
                decision=d.decision.value,
                note=d.note,
            )
            for m in meetings
            for d in m.decisions
            if d.by == p.name
        ]
        views.append(
            StakeholderView(
                name=p.name,
                role=p.role,
                team=p.team,
                influence=p.influence,
                interest=p.interest,
                quadrant=quadrant(p),
                stance=history[-1].stance if history else None,
                history=history,
                asked=asked.get(p.name, []),
                decided=decided,
                raci={
                    titles.get(aid, "?"): r.roles_of(p.name)
                    for aid, r in racis.items()
                    if r.roles_of(p.name)
                },
                meetings_attended=sum(p.name in m.attendees for m in meetings),
                moves=sum(a.stance != b.stance for a, b in pairwise(history)),
            )
        )
    grid: dict[str, list[str]] = {q: [] for q in QUADRANTS}
    for v in views:
        grid[v.quadrant].append(v.name)
    counts = {s: 0 for s in ("opposed", "neutral", "supportive", "unknown")}
    for v in views:
        counts[v.stance or "unknown"] += 1
    open_ = [
        OpenObjection(by=name, day=a.day, meeting=a.meeting, text=a.text, action=a.action)
        for name, items in asked.items()
        for a in items
        if a.open
    ]
    upcoming = plan.between(today)
    return AlignmentView(
        today=today,
        stakeholders=views,
        grid=grid,
        stance_counts=counts,
        stance_moves=sum(v.moves for v in views),
        meetings=[
            {
                "date": m.date,
                "title": m.title,
                "attendees": len(m.attendees),
                "decisions": len(m.decisions),
                "objections": len(m.objections),
                "stance_changes": len(m.stances),
            }
            for m in meetings
        ],
        open_objections=sorted(open_, key=lambda o: (o.day, o.by)),
        objections_total=sum(len(m.objections) for m in meetings),
        comms=[_row(e) for e in upcoming],
        comms_first=upcoming[0].day if upcoming else None,
        comms_last=upcoming[-1].day if upcoming else None,
        programme_lead=plan.programme_lead,
        without_raci=plan.without_raci,
        blocked=plan.blocked,
        raci={
            titles.get(aid, "?"): {
                "R": list(r.responsible),
                "A": [r.accountable],
                "C": list(r.consulted),
                "I": list(r.informed),
            }
            for aid, r in racis.items()
        },
    )
