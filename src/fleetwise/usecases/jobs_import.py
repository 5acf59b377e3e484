"""Importing a cluster job log into the store: streamed by DuckDB straight into the columnar
files where the SQL can vouch for the file (``collect/importers/jobs_stream.py``), else read
by the record parser, whose errors name the file, line and column.

The store is opened only once the file has been judged (``open_store``): a log the record
parser refuses leaves no database behind.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from fleetwise.collect.importers.jobs import read_jobs
from fleetwise.collect.importers.jobs_stream import stage, streaming_plan
from fleetwise.errors import InputError
from fleetwise.store import Store
from fleetwise.store.columnar import connect

OpenStore = Callable[[], AbstractContextManager[Store]]


@dataclass(frozen=True)
class JobImport:
    """What an import read and stored."""

    fmt: str
    jobs: int
    gpu_jobs: int
    #: Jobs new to the store (re-importing a log adds none).
    added: int
    #: Rows left out, by reason.
    skipped: dict[str, int]


def import_job_log(
    file: Path,
    fmt: str,
    mapping: Mapping[str, str],
    epoch: datetime | None,
    open_store: OpenStore,
) -> JobImport:
    """Import ``file`` (``fmt`` as ``jobs.read_jobs`` takes it) under the source
    ``FORMAT:/absolute/path``; jobs already stored from it are skipped."""
    done = _streamed(file, fmt, mapping, epoch, open_store)
    if done is not None:
        return done
    read = read_jobs(file, fmt, dict(mapping), epoch)
    if not read.jobs and read.skipped:
        raise InputError(f"{file}: no jobs to import (every row was skipped)")
    with open_store() as store:
        added = store.add_jobs(read.jobs, f"{read.fmt}:{file.resolve()}")
    gpu_jobs = sum(1 for j in read.jobs if j.gpus > 0)
    return JobImport(read.fmt, len(read.jobs), gpu_jobs, added, dict(read.skipped))


def _streamed(
    file: Path,
    fmt: str,
    mapping: Mapping[str, str],
    epoch: datetime | None,
    open_store: OpenStore,
) -> JobImport | None:
    """The import by DuckDB; None when the record parser must read the file."""
    if not file.is_file():
        return None
    plan = streaming_plan(file, fmt, mapping, epoch)
    if plan is None:
        return None
    found, select = plan
    with open_store() as store:
        staged = store.jobs_data().staging_file()
        con = connect()
        try:
            counts = stage(select, staged, con)
        finally:
            con.close()
        if counts is None:
            return None
        if not counts.jobs and counts.skipped:
            staged.unlink(missing_ok=True)
            raise InputError(f"{file}: no jobs to import (every row was skipped)")
        added = store.adopt_jobs(staged, f"{found}:{file.resolve()}")
    return JobImport(found, counts.jobs, counts.gpu_jobs, added, dict(counts.skipped))
