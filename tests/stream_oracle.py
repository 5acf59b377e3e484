"""A job log imported both ways, streamed (``jobs_stream``) and through the record parser
(the oracle), into one columnar store: the streamed tests compare the stored rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from fleetwise.collect.importers.jobs import JobImport, read_jobs
from fleetwise.collect.importers.jobs_stream import Staged, stage, streaming_plan
from fleetwise.errors import InputError
from fleetwise.store.columnar import FleetData, connect


@dataclass
class Both:
    """A log imported both ways into one columnar store."""

    #: The streamed counts (None: handed to the record parser).
    done: Staged | None
    #: The stored rows of each path, in their stored order (placement as stored text).
    got: list[tuple[Any, ...]]
    want: list[tuple[Any, ...]]
    #: The record parser's jobs (repeats included) and skipped rows; None: it refused.
    parsed: JobImport | None


def both_ways(path: Path, fmt: str = "auto", epoch: datetime | None = None) -> Both:
    data = FleetData.temporary()
    con = connect()
    try:
        plan = streaming_plan(path, fmt, {}, epoch)
        assert plan is not None
        staged = data.staging_file()
        done = stage(plan[1], staged, con)
        if done is not None:
            data.adopt(staged, "stream", con)
        try:
            parsed = read_jobs(path, fmt, {}, epoch)
        except InputError:
            return Both(done, [], [], None)
        data.add_records(parsed.jobs, "records")
        with data.connect() as view:

            def rows(source: str) -> list[tuple[Any, ...]]:
                return view.execute(
                    "SELECT * EXCLUDE (source, batch) FROM jobs WHERE source = ? ORDER BY seq",
                    [source],
                ).fetchall()

            return Both(done, rows("stream"), rows("records"), parsed)
    finally:
        con.close()
        data.close()
