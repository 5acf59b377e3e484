"""The decision log: who approved, rejected or deferred an action, when and why.

A decision moves the action's status: approve -> approved, reject -> rejected, defer ->
proposed (it goes back to the queue, with the reason on record). Work already under way
or finished is not re-decided: an action in progress or done keeps its status, so the log
cannot silently undo delivered work.
"""

from __future__ import annotations

from collections.abc import Sequence
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
    if action.status in _CLOSED:
        raise InputError(
            f"action {action.id} is {action.status.value.replace('_', ' ')}: "
            f"it cannot be {decision.value}d now"
        )
    return _TARGET[decision]


@dataclass(frozen=True)
class LogEntry:
    """One decision with the action's title, for the briefing."""

    decision: Decision
    action_title: str


def decision_log(
    decisions: Sequence[Decision], actions: Sequence[Action], since: datetime | None = None
) -> list[LogEntry]:
    """Decisions oldest first, each with its action's title (the stakeholder alignment log)."""
    titles = {a.id: a.title for a in actions}
    out = [
        LogEntry(decision=d, action_title=titles.get(d.action_id, "(deleted)"))
        for d in decisions
        if since is None or (d.decided_at is not None and d.decided_at >= since)
    ]
    return sorted(out, key=lambda e: (e.decision.decided_at or _EPOCH, e.decision.id or 0))
