"""The jobs a fleetwise before the columnar store kept in the database (moved to
``store/columnar.py`` on first use; used by the Store facade). Nodes moved the same way
(``store/columnar_nodes.py``)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from fleetwise.models import JobRecord, JobState
from fleetwise.store.schema import JobRow
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
