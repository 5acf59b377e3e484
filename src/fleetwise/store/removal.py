"""Removing a backlog action, a KPI or an analysis (used by the Store facade).

Each removal is one transaction: the row goes, the links other records kept to it are cut
(so nothing points at a row that is gone, or at a later row that reuses its id), and the
decision log gets an entry saying who removed what, when and why. Actions are never removed
as a side effect: an action that loses its findings or its KPI stays in the backlog, and
the caller is told, because a person decided to take it on.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from fleetwise.errors import InputError
from fleetwise.models import (
    Action,
    AffectedAction,
    Decision,
    DecisionKind,
    DecisionSubject,
    Removal,
)
from fleetwise.store.plan import action_record, fill_action_row, log_decision
from fleetwise.store.schema import (
    ActionRow,
    AnalysisRow,
    DecisionRow,
    ExperimentRow,
    KPIRow,
)

#: Given an action, the action with its links to the removed record cut and a note saying
#: what changed; None when it had no link.
_Cut = Callable[[Action], tuple[Action, str] | None]


def _ids(ids: list[int]) -> str:
    return ", ".join(str(i) for i in ids)


def _cut_links(s: Session, cut: _Cut) -> list[AffectedAction]:
    affected = []
    for row in s.execute(select(ActionRow).order_by(ActionRow.id)).scalars():
        changed = cut(action_record(row))
        if changed is None:
            continue
        action, note = changed
        fill_action_row(row, action)
        affected.append(
            AffectedAction(id=row.id, title=action.title, note=note, finding_ids=action.finding_ids)
        )
    return affected


def _log(
    s: Session, subject: DecisionSubject, subject_id: int, name: str, by: str, why: str
) -> Decision:
    entry = Decision(
        subject=subject,
        subject_id=subject_id,
        subject_name=name,
        decision=DecisionKind.REMOVE,
        by=by,
        note=why,
        decided_at=datetime.now(UTC),
    )
    entry.id = log_decision(s, entry)
    return entry


def remove_action(s: Session, action_id: int, by: str, why: str) -> Removal:
    """Delete an action; actions waiting for it stop waiting, its experiments and past
    decisions stay (unlinked)."""
    row = s.get(ActionRow, action_id)
    if row is None:
        raise InputError(f"no action {action_id} in the backlog (fleetwise plan list)")
    title = row.title
    s.execute(update(DecisionRow).where(DecisionRow.action_id == action_id).values(action_id=None))
    s.execute(
        update(ExperimentRow).where(ExperimentRow.action_id == action_id).values(action_id=None)
    )
    s.delete(row)
    s.flush()

    def cut(a: Action) -> tuple[Action, str] | None:
        if action_id not in a.depends_on:
            return None
        left = [d for d in a.depends_on if d != action_id]
        return a.model_copy(update={"depends_on": left}), f"no longer waits for #{action_id}"

    affected = _cut_links(s, cut)
    return Removal(decision=_log(s, "action", action_id, title, by, why), affected=affected)


def remove_kpi(s: Session, name: str, by: str, why: str) -> Removal:
    """Delete a KPI; actions expecting an effect on it lose that effect (an effect names a
    stored KPI, or it could never be measured)."""
    row = s.execute(select(KPIRow).where(KPIRow.name == name)).scalar_one_or_none()
    if row is None:
        raise InputError(f"no KPI named {name!r} (fleetwise kpi list)")
    kpi_id = row.id
    s.delete(row)
    s.flush()

    def cut(a: Action) -> tuple[Action, str] | None:
        dropped = [e for e in a.effects if e.kpi == name]
        if not dropped:
            return None
        left = [e for e in a.effects if e.kpi != name]
        change = ", ".join(f"{e.change:+.0%}" for e in dropped)
        return (
            a.model_copy(update={"effects": left}),
            f"no longer expects {name} {change} (no KPI measures it)",
        )

    affected = _cut_links(s, cut)
    return Removal(decision=_log(s, "kpi", kpi_id, name, by, why), affected=affected)


def remove_analysis(s: Session, analysis_id: int, by: str, why: str) -> Removal:
    """Delete an analysis and its findings; actions answering those findings lose the link
    and stay in the backlog, even with no finding left."""
    row = s.get(AnalysisRow, analysis_id)
    if row is None:
        raise InputError(f"no analysis {analysis_id} in the store (fleetwise analysis list)")
    name = f"{row.kind} {row.source}"
    gone = sorted(f.id for f in row.findings)
    s.delete(row)
    s.flush()

    def cut(a: Action) -> tuple[Action, str] | None:
        lost = [f for f in a.finding_ids if f in gone]
        if not lost:
            return None
        left = [f for f in a.finding_ids if f not in gone]
        word = "finding" if len(lost) == 1 else "findings"
        if left:
            note = f"loses {word} {_ids(lost)}; still answers {_ids(left)}"
        else:
            note = (
                f"loses {word} {_ids(lost)}; no finding left: it stays in the backlog "
                f"(fleetwise plan remove {a.id} if it no longer stands)"
            )
        return a.model_copy(update={"finding_ids": left}), note

    affected = _cut_links(s, cut)
    return Removal(
        decision=_log(s, "analysis", analysis_id, name, by, why),
        finding_ids=gone,
        affected=affected,
    )
