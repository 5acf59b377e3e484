"""Cluster jobs in the store: rows to records and back (used by the Store facade)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from fleetwise.models import JobRecord, JobState
from fleetwise.store.schema import JobRow


def _aware(value: datetime | None) -> datetime | None:
    # SQLite returns naive datetimes even for timezone=True columns; they were stored as UTC.
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


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
    )


def job_record(row: JobRow) -> JobRecord:
    return JobRecord(
        id=row.id,
        job_id=row.job_id,
        user=row.user,
        team=row.team,
        submit_time=_aware(row.submit_time) or datetime.fromtimestamp(0, UTC),
        start_time=_aware(row.start_time),
        end_time=_aware(row.end_time),
        gpus=row.gpus,
        nodes=row.nodes,
        state=JobState(row.state),
        source=row.source,
    )


def add_jobs(s: Session, records: Sequence[JobRecord], source: str) -> int:
    """Insert the jobs of ``source`` not stored yet; return how many were new."""
    known = set(s.execute(select(JobRow.job_id).where(JobRow.source == source)).scalars())
    fresh: dict[str, JobRecord] = {}
    for r in records:
        if r.job_id not in known:
            fresh.setdefault(r.job_id, r)
    s.add_all(job_row(r, source) for r in fresh.values())
    s.flush()
    return len(fresh)


def query_jobs(
    s: Session,
    source: str | None,
    team: str | None,
    since: datetime | None,
    until: datetime | None,
) -> list[JobRecord]:
    stmt = select(JobRow).order_by(JobRow.submit_time, JobRow.id)
    if source is not None:
        stmt = stmt.where(JobRow.source == source)
    if team is not None:
        stmt = stmt.where(JobRow.team == team)
    if since is not None:
        stmt = stmt.where(JobRow.submit_time >= since)
    if until is not None:
        stmt = stmt.where(JobRow.submit_time < until)
    return [job_record(r) for r in s.execute(stmt).scalars()]
