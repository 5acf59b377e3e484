"""Delivery and on-call events in the store: rows to records and back (used by Store)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from fleetwise.models import ProcessEvent
from fleetwise.store.schema import ProcessEventRow
from fleetwise.timeutil import as_utc

#: Identity look-ups are batched so a large import stays under SQLite's variable limit.
_BATCH = 400


def _utc(value: datetime | None) -> datetime | None:
    return value.astimezone(UTC) if value is not None else None


def event_row(ev: ProcessEvent) -> ProcessEventRow:
    return ProcessEventRow(
        kind=ev.kind,
        source=ev.source,
        key=ev.key,
        time=ev.time.astimezone(UTC),
        started_at=_utc(ev.started_at),
        acknowledged_at=_utc(ev.acknowledged_at),
        ended_at=_utc(ev.ended_at),
        team=ev.team,
        service=ev.service,
        group_key=ev.group,
        status=ev.status,
        links=list(ev.links),
        payload=dict(ev.payload),
    )


def event_record(row: ProcessEventRow) -> ProcessEvent:
    return ProcessEvent.model_validate(
        {
            "id": row.id,
            "kind": row.kind,
            "source": row.source,
            "key": row.key,
            "time": as_utc(row.time),
            "started_at": as_utc(row.started_at),
            "acknowledged_at": as_utc(row.acknowledged_at),
            "ended_at": as_utc(row.ended_at),
            "team": row.team,
            "service": row.service,
            "group": row.group_key,
            "status": row.status,
            "links": [str(x) for x in row.links or []],
            "payload": row.payload or {},
        }
    )


def add_events(s: Session, events: Sequence[ProcessEvent]) -> tuple[int, int]:
    """Insert events not stored yet (by kind, source and key); return (added, skipped)."""
    unique: dict[tuple[str, str, str], ProcessEvent] = {}
    for ev in events:
        unique.setdefault((ev.kind, ev.source, ev.key), ev)
    identities = list(unique)
    existing: set[tuple[str, str, str]] = set()
    cols = tuple_(ProcessEventRow.kind, ProcessEventRow.source, ProcessEventRow.key)
    for i in range(0, len(identities), _BATCH):
        batch = identities[i : i + _BATCH]
        stmt = select(ProcessEventRow.kind, ProcessEventRow.source, ProcessEventRow.key)
        existing.update((k, src, key) for k, src, key in s.execute(stmt.where(cols.in_(batch))))
    new = [ev for ident, ev in unique.items() if ident not in existing]
    s.add_all([event_row(ev) for ev in new])
    s.flush()
    return len(new), len(events) - len(new)


def query_events(
    s: Session,
    kinds: Sequence[str] = (),
    *,
    team: str | None = None,
    service: str | None = None,
) -> list[ProcessEvent]:
    stmt = select(ProcessEventRow).order_by(ProcessEventRow.time, ProcessEventRow.id)
    if kinds:
        stmt = stmt.where(ProcessEventRow.kind.in_(list(kinds)))
    if team is not None:
        stmt = stmt.where(ProcessEventRow.team == team)
    if service is not None:
        stmt = stmt.where(ProcessEventRow.service == service)
    return [event_record(r) for r in s.execute(stmt).scalars()]
