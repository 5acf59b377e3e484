"""Recording a stakeholder decision: the one use case the CLI (``fleetwise decide``) and
the dashboard (``POST /plan/decisions``) share."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from fleetwise.errors import InputError
from fleetwise.models import Action, ActionStatus, Decision, DecisionKind
from fleetwise.plan.decisions import status_after
from fleetwise.store import Store


@dataclass(frozen=True)
class Recorded:
    decision: Decision
    action: Action
    before: ActionStatus
    after: ActionStatus
    #: False when the same decision (kind, who, note) was already the action's latest
    #: entry: recording it again adds nothing to the log.
    new: bool


def record_decision(
    store: Store,
    action_id: int,
    kind: DecisionKind,
    by: str,
    note: str = "",
    *,
    now: datetime | None = None,
) -> Recorded:
    """Log ``kind`` on the action by ``by`` and move its status (``status_after``), in one
    transaction; the same decision repeated (a re-run script) is logged once."""
    who = by.strip()
    if not who:
        raise InputError("--by: say who decided (a name or a role)")
    action = store.get_action(action_id)
    mine = [d for d in store.decisions() if d.action_id == action_id]
    last = mine[-1] if mine else None
    if last is not None and (last.decision, last.by, last.note) == (kind, who, note):
        return Recorded(last, action, action.status, action.status, new=False)
    after = status_after(action, kind)
    entry = Decision(
        action_id=action_id,
        decision=kind,
        by=who,
        note=note,
        decided_at=now or datetime.now(UTC),
    )
    entry.id = store.record_decision(entry, after)
    return Recorded(entry, action, action.status, after, new=True)
