"""The decision log: who approved, rejected or deferred an action, when and why; and who
removed an action, a KPI or an analysis (``plan remove``, ``kpi remove``, ``analysis remove``).

A decision moves the action's status: approve -> approved, reject -> rejected, defer ->
proposed (it goes back to the queue, with the reason on record). Work already under way
or finished is not re-decided: an action in progress or done keeps its status, so the log
cannot silently undo delivered work.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from fleetwise.errors import InputError
from fleetwise.models import Action, ActionStatus, Decision, DecisionKind

_TARGET = {
    DecisionKind.APPROVE: ActionStatus.APPROVED,
    DecisionKind.REJECT: ActionStatus.REJECTED,
    DecisionKind.DEFER: ActionStatus.PROPOSED,
}
_EPOCH = datetime.min.replace(tzinfo=UTC)
_CLOSED = {ActionStatus.IN_PROGRESS, ActionStatus.DONE}


def status_after(action: Action, decision: DecisionKind) -> ActionStatus:
    """The action's status once ``decision`` is taken; InputError when it cannot be."""
    if decision is DecisionKind.REMOVE:
        raise InputError(
            f"to remove action {action.id}, use: fleetwise plan remove {action.id} --why TEXT"
        )
    if action.status in _CLOSED:
        raise InputError(
            f"action {action.id} is {action.status.value.replace('_', ' ')}: "
            f"it cannot be {decision.value}d now"
        )
    return _TARGET[decision]


@dataclass(frozen=True)
class LogEntry:
    """One decision with the action's title (as it was, for a removed action; empty for a
    KPI or an analysis) and its subject in words, for the briefing."""

    decision: Decision
    action_title: str
    subject: str


def decision_subject(d: Decision, titles: Mapping[int | None, str] | None = None) -> str:
    """What a decision was about, in words: ``#3 workers``, ``KPI gpu_util``,
    ``analysis #4 (cluster logs/jobs.csv)``; an action's current title from ``titles``."""
    if d.subject == "kpi":
        return f"KPI {d.subject_name}"
    if d.subject == "analysis":
        return f"analysis #{d.subject_id} ({d.subject_name})"
    title = (titles or {}).get(d.action_id) if d.action_id is not None else None
    gone = "" if d.action_id is not None else " (removed)"
    return f"#{d.subject_id} {title or d.subject_name or '(untitled)'}{gone}"


def decision_log(
    decisions: Sequence[Decision], actions: Sequence[Action], since: datetime | None = None
) -> list[LogEntry]:
    """Decisions oldest first, each with what it was about (the stakeholder alignment log)."""
    titles: dict[int | None, str] = {a.id: a.title for a in actions}
    out = [
        LogEntry(
            decision=d,
            action_title=(
                (titles.get(d.action_id) or d.subject_name) if d.subject == "action" else ""
            ),
            subject=decision_subject(d, titles),
        )
        for d in decisions
        if since is None or (d.decided_at is not None and d.decided_at >= since)
    ]
    return sorted(out, key=lambda e: (e.decision.decided_at or _EPOCH, e.decision.id or 0))
