"""Cluster nodes in the store, and the jobs a fleetwise before the columnar store kept in
the database (moved to ``store/columnar.py`` on first use; used by the Store facade)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from fleetwise.models import JobRecord, JobState, NodeRecord
from fleetwise.store.schema import JobRow, NodeRow
from fleetwise.timeutil import as_utc


def job_row(r: JobRecord, source: str) -> JobRow:
    return JobRow(
        source=source,
        job_id=r.job_id,
        user=r.user,
        team=r.team,
        submit_time=r.submit_time,
        start_time=r.start_time,
        end_time=r.end_time,
        gpus=r.gpus,
        nodes=r.nodes,
        state=r.state.value,
        placement=dict(r.placement) or None,
    )


def job_record(row: JobRow) -> JobRecord:
    return JobRecord(
        id=row.id,
        job_id=row.job_id,
        user=row.user,
        team=row.team,
        submit_time=as_utc(row.submit_time) or datetime.fromtimestamp(0, UTC),
        start_time=as_utc(row.start_time),
        end_time=as_utc(row.end_time),
        gpus=row.gpus,
        nodes=row.nodes,
        state=JobState(row.state),
        source=row.source,
        placement={str(k): int(v) for k, v in (row.placement or {}).items()},
    )


def legacy_jobs(s: Session) -> dict[str, list[JobRecord]]:
    """Jobs still in the database table (stored before the columnar store), by source."""
    found: dict[str, list[JobRecord]] = {}
    if s.execute(select(JobRow.id).limit(1)).first() is None:
        return found
    for row in s.execute(select(JobRow).order_by(JobRow.submit_time, JobRow.id)).scalars():
        found.setdefault(row.source, []).append(job_record(row))
    return found


def drop_legacy_jobs(s: Session, source: str) -> None:
    s.execute(delete(JobRow).where(JobRow.source == source))
    s.flush()


def replace_nodes(s: Session, records: Sequence[NodeRecord], source: str) -> int:
    """Replace the nodes stored from ``source`` with ``records``; return how many."""
    s.execute(delete(NodeRow).where(NodeRow.source == source))
    s.add_all(
        NodeRow(
            source=source,
            name=r.name,
            gpus=r.gpus,
            model=r.model,
            partition=r.partition,
            gpus_used=r.gpus_used,
            available=r.available,
            state=r.state,
            captured_at=r.captured_at,
        )
        for r in records
    )
    s.flush()
    return len(records)


def query_nodes(s: Session, source: str | None) -> list[NodeRecord]:
    stmt = select(NodeRow).order_by(NodeRow.id)
    if source is not None:
        stmt = stmt.where(NodeRow.source == source)
    return [
        NodeRecord(
            name=row.name,
            gpus=row.gpus,
            model=row.model,
            partition=row.partition,
            gpus_used=row.gpus_used,
            available=row.available,
            state=row.state,
            captured_at=as_utc(row.captured_at),
            source=row.source,
        )
        for row in s.execute(stmt).scalars()
    ]
