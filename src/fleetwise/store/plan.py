"""The plan in the store: actions, KPIs, experiments, decisions, retrospectives (used by Store).

Each row keeps the fields a query filters on as columns and the rest of the record as one
JSON document, so a record field added later needs no migration of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fleetwise.errors import InputError
from fleetwise.models import (
    KPI,
    Action,
    ActionStatus,
    Decision,
    DecisionKind,
    Experiment,
    Retrospective,
)
from fleetwise.store.schema import (
    ActionRow,
    DecisionRow,
    ExperimentRow,
    KPIRow,
    RetrospectiveRow,
)
from fleetwise.timeutil import as_utc

_ACTION_COLUMNS = {"id", "title", "status", "owner", "finding_kind", "source", "created_at"}


def _now() -> datetime:
    return datetime.now(UTC)


# -- actions ---------------------------------------------------------------------------------
def _action_data(a: Action) -> dict[str, Any]:
    return a.model_dump(mode="json", exclude=_ACTION_COLUMNS)


def action_record(row: ActionRow) -> Action:
    return Action.model_validate(
        {
            **row.data,
            "id": row.id,
            "title": row.title,
            "status": row.status,
            "owner": row.owner,
            "finding_kind": row.finding_kind,
            "source": row.source,
            "created_at": as_utc(row.created_at),
        }
    )


def fill_action_row(row: ActionRow, a: Action) -> None:
    row.title, row.status, row.owner = a.title, a.status.value, a.owner
    row.finding_kind, row.source = a.finding_kind, a.source
    row.data = _action_data(a)


def add_actions(
    s: Session, actions: Sequence[Action], local_deps: Sequence[Sequence[int]] = ()
) -> list[int]:
    """Insert actions; ``local_deps[i]`` are indexes of ``actions`` that action i waits for."""
    rows = []
    for a in actions:
        row = ActionRow(created_at=_now())
        fill_action_row(row, a)
        rows.append(row)
    s.add_all(rows)
    s.flush()
    ids = [r.id for r in rows]
    for i, deps in enumerate(local_deps):
        if deps:
            linked = actions[i].model_copy(
                update={"depends_on": [*actions[i].depends_on, *(ids[j] for j in deps)]}
            )
            rows[i].data = _action_data(linked)
    s.flush()
    return ids


def query_actions(s: Session, status: str | None = None) -> list[Action]:
    stmt = select(ActionRow).order_by(ActionRow.id)
    if status is not None:
        stmt = stmt.where(ActionRow.status == status)
    return [action_record(r) for r in s.execute(stmt).scalars()]


def _action_row(s: Session, action_id: int) -> ActionRow:
    row = s.get(ActionRow, action_id)
    if row is None:
        raise InputError(f"no action {action_id} in the backlog (fleetwise plan list)")
    return row


def get_action(s: Session, action_id: int) -> Action:
    return action_record(_action_row(s, action_id))


def update_action(s: Session, action: Action) -> None:
    if action.id is None:
        raise InputError("an action must be stored before it can be updated")
    fill_action_row(_action_row(s, action.id), action)


# -- KPIs ------------------------------------------------------------------------------------
def kpi_record(row: KPIRow) -> KPI:
    return KPI.model_validate(
        {
            **row.data,
            "id": row.id,
            "name": row.name,
            "source": row.source,
            "created_at": as_utc(row.created_at),
        }
    )


def add_kpi(s: Session, kpi: KPI) -> int:
    if s.execute(select(KPIRow.id).where(KPIRow.name == kpi.name)).first() is not None:
        raise InputError(f"a KPI named {kpi.name!r} exists already")
    data = kpi.model_dump(mode="json", exclude={"id", "name", "source", "created_at"})
    row = KPIRow(name=kpi.name, source=kpi.source, created_at=_now(), data=data)
    s.add(row)
    s.flush()
    return row.id


def query_kpis(s: Session) -> list[KPI]:
    return [kpi_record(r) for r in s.execute(select(KPIRow).order_by(KPIRow.id)).scalars()]


# -- experiments -----------------------------------------------------------------------------
_EXPERIMENT_COLUMNS = {"id", "name", "status", "action_id", "created_at", "finished_at"}


def experiment_record(row: ExperimentRow) -> Experiment:
    return Experiment.model_validate(
        {
            **row.data,
            "id": row.id,
            "name": row.name,
            "status": row.status,
            "action_id": row.action_id,
            "created_at": as_utc(row.created_at),
            "finished_at": as_utc(row.finished_at) if row.finished_at else None,
        }
    )


def save_experiment(s: Session, exp: Experiment) -> int:
    """Insert ``exp`` (no id) or update the stored one (with its id)."""
    if exp.action_id is not None:
        _action_row(s, exp.action_id)
    row = s.get(ExperimentRow, exp.id) if exp.id is not None else None
    if exp.id is not None and row is None:
        raise InputError(f"no experiment {exp.id}")
    if row is None:
        row = ExperimentRow(created_at=_now())
    row.name, row.status, row.action_id = exp.name, exp.status, exp.action_id
    row.finished_at = exp.finished_at
    row.data = exp.model_dump(mode="json", exclude=_EXPERIMENT_COLUMNS)
    s.add(row)
    s.flush()
    return row.id


def query_experiments(s: Session, action_id: int | None = None) -> list[Experiment]:
    stmt = select(ExperimentRow).order_by(ExperimentRow.id)
    if action_id is not None:
        stmt = stmt.where(ExperimentRow.action_id == action_id)
    return [experiment_record(r) for r in s.execute(stmt).scalars()]


def get_experiment(s: Session, experiment_id: int) -> Experiment:
    row = s.get(ExperimentRow, experiment_id)
    if row is None:
        raise InputError(f"no experiment {experiment_id} (fleetwise experiment list)")
    return experiment_record(row)


# -- decisions -------------------------------------------------------------------------------
def add_decision(s: Session, decision: Decision, new_status: ActionStatus) -> int:
    """Log the decision and set the action's status in the same transaction."""
    if decision.action_id is None:
        raise InputError("a decision that moves an action's status needs the action")
    action_row = _action_row(s, decision.action_id)
    action = action_record(action_row).model_copy(update={"status": new_status})
    fill_action_row(action_row, action)
    return log_decision(
        s, decision.model_copy(update={"subject_name": decision.subject_name or action.title})
    )


def log_decision(s: Session, decision: Decision) -> int:
    """Add one entry to the decision log (its subject's changes are the caller's)."""
    row = DecisionRow(
        subject=decision.subject,
        subject_id=decision.subject_id,
        subject_name=decision.subject_name,
        action_id=decision.action_id,
        decision=decision.decision.value,
        decided_by=decision.by,
        note=decision.note,
        decided_at=decision.decided_at or _now(),
    )
    s.add(row)
    s.flush()
    return row.id


def query_decisions(s: Session, action_id: int | None = None) -> list[Decision]:
    stmt = select(DecisionRow).order_by(DecisionRow.decided_at, DecisionRow.id)
    if action_id is not None:
        stmt = stmt.where(DecisionRow.action_id == action_id)
    return [
        Decision(
            id=r.id,
            subject=r.subject,  # type: ignore[arg-type]  # validated by pydantic
            subject_id=r.subject_id,
            subject_name=r.subject_name,
            action_id=r.action_id,
            decision=DecisionKind(r.decision),
            by=r.decided_by,
            note=r.note,
            decided_at=as_utc(r.decided_at),
        )
        for r in s.execute(stmt).scalars()
    ]


# -- retrospectives --------------------------------------------------------------------------
def add_retrospective(
    s: Session,
    retro: Retrospective,
    actions: Sequence[Action],
    local_deps: Sequence[Sequence[int]] = (),
) -> int:
    """Store a retrospective and the actions it created, in one transaction."""
    row = RetrospectiveRow(
        held_on=datetime.combine(retro.date, time(), UTC),
        team=retro.team,
        created_at=_now(),
        data={},
    )
    s.add(row)
    s.flush()
    tagged = [a.model_copy(update={"source": f"retro:{row.id}"}) for a in actions]
    ids = add_actions(s, tagged, local_deps)
    done = retro.model_copy(update={"action_ids": [*retro.action_ids, *ids]})
    row.data = done.model_dump(mode="json", exclude={"id", "date", "team", "created_at"})
    s.flush()
    return row.id


def query_retrospectives(s: Session, team: str | None = None) -> list[Retrospective]:
    stmt = select(RetrospectiveRow).order_by(RetrospectiveRow.held_on, RetrospectiveRow.id)
    if team is not None:
        stmt = stmt.where(RetrospectiveRow.team == team)
    return [
        Retrospective.model_validate(
            {
                **r.data,
                "id": r.id,
                "date": _day(r.held_on),
                "team": r.team,
                "created_at": as_utc(r.created_at),
            }
        )
        for r in s.execute(stmt).scalars()
    ]


def _day(value: datetime) -> date:
    return as_utc(value).date()
