"""Columnar fleet data: cluster jobs as Parquet files, queried with DuckDB (DESIGN.md,
"Columnar fleet data").

The SQLAlchemy store keeps runs, results, findings and the plan; the jobs of a cluster's
log (millions of rows) live in one Parquet file per imported source under ``<data>/jobs/``,
beside the database: ``<file>.data/`` for a SQLite file, ``FLEETWISE_DATA_DIR`` (a shared
folder, or an object-store prefix ``s3://bucket/prefix``) for PostgreSQL. Every file is
read and written through a :class:`~fleetwise.store.data_place.DataPlace`, so a folder
and an object store behave alike. Importers stage a source's rows as Parquet in bounded
memory and :meth:`FleetData.adopt` merges them into the source's file (jobs already stored
from the same source are kept, not doubled), published whole (a rename, or one upload to
the final key), so a failed import leaves what was stored intact. Analyses read a ``jobs``
view with SQL (:meth:`FleetData.connect`); callers that need records get them from
:meth:`records`.

Times are stored as UTC timestamps without a zone (microseconds).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import duckdb
import orjson

from fleetwise.collect.importers.hostlist import expand_hostlist, spread
from fleetwise.errors import InputError, StoreError
from fleetwise.models import JobRecord, JobState
from fleetwise.store.data_place import DataPlace, LocalPlace, parse_place, place_for

#: The stored columns, in order (``placement`` is a JSON object of GPUs per host;
#: ``nodelist`` a Slurm host list the job's GPUs are spread over when read).
JOB_COLUMNS = (
    ("source", "VARCHAR"),
    ("job_id", "VARCHAR"),
    ("user", "VARCHAR"),
    ("team", "VARCHAR"),
    ("submit_time", "TIMESTAMP"),
    ("start_time", "TIMESTAMP"),
    ("end_time", "TIMESTAMP"),
    ("gpus", "INTEGER"),
    ("nodes", "INTEGER"),
    ("state", "VARCHAR"),
    ("placement", "VARCHAR"),
    ("nodelist", "VARCHAR"),
    ("batch", "BIGINT"),
    ("seq", "BIGINT"),
)
#: What an importer stages, in the log's order (the store adds ``source``, ``batch`` and
#: ``seq``, the row's place in the staged file).
STAGED = tuple(name for name, _ in JOB_COLUMNS if name not in {"source", "batch", "seq"})
#: DuckDB's memory while importing or analysing: it spills to disk past this.
MEMORY_LIMIT = os.environ.get("FLEETWISE_DUCKDB_MEMORY", "512MB")
RECORD_CHUNK = 50_000


#: Why a server database has no columnar data, in the message of a write.
NO_DATA_DIR = (
    "set FLEETWISE_DATA_DIR to a folder every user of this database shares (a network path) "
    "or an object-store prefix (s3://bucket/prefix) to store cluster jobs, nodes and "
    "telemetry beside a PostgreSQL store"
)


def data_dir_for(url: str, explicit: str | None = None) -> tuple[Path | str | None, bool]:
    """Where a store's columnar data lives, and whether it is a temporary folder:
    ``explicit``, else ``FLEETWISE_DATA_DIR`` (a folder, a ``file://`` URL or an
    ``s3://bucket/prefix`` URL, returned as a string), else ``<file>.data`` beside a SQLite
    file, a temporary folder for an in-memory SQLite store, and none for a server database
    without a data folder (no jobs are read; storing some is an error naming the
    setting: a folder private to one user would hide the jobs from the team)."""
    chosen = explicit or os.environ.get("FLEETWISE_DATA_DIR")
    if chosen:
        try:
            return parse_place(chosen), False
        except InputError as exc:
            raise InputError(f"{'' if explicit else 'FLEETWISE_DATA_DIR='}{exc}") from exc
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None, False
    if not parsed.database or parsed.database == ":memory:":
        return Path(tempfile.mkdtemp(prefix="fleetwise-data-")), True
    db = Path(parsed.database)
    return db.with_name(db.name + ".data"), False


def connect(threads: int | None = None) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with bounded memory, UTC session time and no progress bar."""
    con = duckdb.connect(
        config={
            "memory_limit": MEMORY_LIMIT,
            "threads": threads or min(os.cpu_count() or 1, 4),
        }
    )
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")
    return con


def sql_text(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def files_sql(
    files: Sequence[object], columns: Sequence[tuple[str, str]], where: Sequence[str] = ()
) -> str:
    """A SELECT of every column of the Parquet ``files`` (``columns``: name and SQL type, for
    the empty result when there are none) under the conditions ``where``, joined by AND."""
    if not files:
        nulls = ", ".join(f"NULL::{kind} AS {name}" for name, kind in columns)
        return f"SELECT {nulls} WHERE false"
    listed = ", ".join(sql_text(str(f)) for f in files)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    return f"SELECT * FROM read_parquet([{listed}], union_by_name = true){clause}"


class FleetData:
    """The columnar half of a store (see the module docstring)."""

    def __init__(self, folder: Path | str | None, *, temporary: bool = False) -> None:
        """``folder``: a local folder, or a URL (``s3://bucket/prefix``, ``file://``);
        None: no columnar data (reads find no job; writes are refused)."""
        self.folder = folder
        #: Where the files are read and written (``store/data_place.py``).
        self.place: DataPlace | None = None if folder is None else place_for(folder)
        self._temporary = temporary

    @classmethod
    def temporary(cls) -> FleetData:
        return cls(Path(tempfile.mkdtemp(prefix="fleetwise-data-")), temporary=True)

    def _place(self) -> DataPlace:
        """The place files are written to (a store without one refuses writes)."""
        if self.place is None:
            raise StoreError(NO_DATA_DIR)
        return self.place

    def kind_dir(self, kind: str = "jobs") -> str:
        """The location of a kind's folder (``jobs``, ...): a path or a URL."""
        return self._place().child(kind)

    def close(self) -> None:
        if self._temporary and isinstance(self.place, LocalPlace):
            self.place.remove_all()

    def _file(self, source: str, kind: str = "jobs") -> str:
        name = f"{hashlib.sha256(source.encode()).hexdigest()[:24]}.parquet"
        return self._place().child(kind, name)

    def files(self, kind: str = "jobs") -> list[str]:
        """The stored files of a kind (paths or URLs DuckDB reads on :meth:`attach`-ed
        connections), sorted; none without a data folder."""
        if self.place is None:
            return []
        return self.place.files(self.kind_dir(kind))

    def job_files(self) -> list[str]:
        return self.files("jobs")

    def version(self, kind: str = "jobs") -> tuple[Any, ...]:
        """Changes whenever a source's files of ``kind`` are written or removed (for
        caches)."""
        if self.place is None:
            return ()
        listed = self.place.listing(self.kind_dir(kind))
        return tuple((f.rsplit("/", 1)[-1], mtime, size) for f, mtime, size in listed)

    def staging_file(self, kind: str = "jobs") -> Path:
        """A fresh local path for an importer's staged rows (removed by :meth:`adopt`)."""
        return self._place().scratch(self.kind_dir(kind), ".staged-", ".parquet")

    def attach(self, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
        """Let ``con`` read the stored files (an object store's, registered on it)."""
        if self.place is not None:
            self.place.attach(con)
        return con

    # -- writing ---------------------------------------------------------------------------
    def adopt(self, staged: Path, source: str, con: duckdb.DuckDBPyConnection) -> int:
        """Merge staged rows (:data:`STAGED` columns) into ``source``'s file: rows of a job
        already stored from that source, or repeated in the staged rows, are skipped.
        Returns how many jobs were added; ``staged`` is removed."""
        place = self._place()
        target = self._file(source)
        out = place.scratch(self.kind_dir("jobs"), ".writing-", ".parquet")
        rows = f"read_parquet({sql_text(str(staged))}, file_row_number = true)"
        cols = ", ".join(STAGED)
        try:
            self.attach(con)
            stored = place.exists(target)
            # the staged file keeps the log's order: its row number is the job's place in
            # the log, which picks the row kept of a job listed twice (a window, run only
            # when some job is)
            twice = con.execute(f"SELECT count(*) - count(DISTINCT job_id) FROM {rows}")
            first = (
                "row_number() OVER (PARTITION BY job_id ORDER BY file_row_number)"
                if twice.fetchall()[0][0]
                else "1"
            )
            fresh = (
                "SELECT * EXCLUDE (file_row_number), file_row_number + 1 AS seq, "
                f"{first} AS k FROM {rows}"
            )
            if stored:
                old = f"read_parquet({sql_text(target)})"
                batch, top = con.execute(f"SELECT min(batch), max(seq) FROM {old}").fetchall()[
                    0
                ] or (
                    0,
                    0,
                )
                new = (
                    f"SELECT {sql_text(source)} AS source, {cols}, {int(batch)}::BIGINT AS batch, "
                    f"seq + {int(top or 0)} AS seq FROM ({fresh}) n WHERE k = 1 "
                    f"AND NOT EXISTS (SELECT 1 FROM {old} o WHERE o.job_id = n.job_id)"
                )
                query = f"SELECT * FROM {old} UNION ALL {new}"
            else:
                query = (
                    f"SELECT {sql_text(source)} AS source, {cols}, {time.time_ns()}::BIGINT "
                    f"AS batch, seq FROM ({fresh}) WHERE k = 1"
                )
            before = self._count(con, target) if stored else 0
            con.execute(f"COPY ({query}) TO {sql_text(str(out))} (FORMAT parquet)")
            after = self._count(con, str(out))
            if after != before or not stored:
                place.publish(out, target)
            return after - before
        except duckdb.Error as exc:
            raise StoreError(f"{target}: cannot store the jobs of {source}: {exc}") from exc
        finally:
            out.unlink(missing_ok=True)
            staged.unlink(missing_ok=True)

    @staticmethod
    def _count(con: duckdb.DuckDBPyConnection, location: str) -> int:
        """Rows of a Parquet file that exists (``con`` attached to its place)."""
        row = con.execute(f"SELECT count(*) FROM read_parquet({sql_text(location)})").fetchall()[0]
        return int(row[0]) if row else 0

    def add_records(self, records: Sequence[JobRecord], source: str) -> int:
        """Store parsed records (small logs, the formats without a streaming reader)."""
        import pyarrow as pa  # type: ignore[import-untyped]
        import pyarrow.parquet as pq  # type: ignore[import-untyped]

        staged = self.staging_file()
        schema = pa.schema(
            [
                ("job_id", pa.string()),
                ("user", pa.string()),
                ("team", pa.string()),
                ("submit_time", pa.timestamp("us")),
                ("start_time", pa.timestamp("us")),
                ("end_time", pa.timestamp("us")),
                ("gpus", pa.int32()),
                ("nodes", pa.int32()),
                ("state", pa.string()),
                ("placement", pa.string()),
                ("nodelist", pa.string()),
            ]
        )
        with pq.ParquetWriter(staged, schema) as writer:
            for lo in range(0, max(len(records), 1), RECORD_CHUNK):
                chunk = records[lo : lo + RECORD_CHUNK]
                cols: dict[str, list[Any]] = {
                    "job_id": [r.job_id for r in chunk],
                    "user": [r.user for r in chunk],
                    "team": [r.team for r in chunk],
                    "submit_time": [_naive(r.submit_time) for r in chunk],
                    "start_time": [_naive(r.start_time) for r in chunk],
                    "end_time": [_naive(r.end_time) for r in chunk],
                    "gpus": [r.gpus for r in chunk],
                    "nodes": [r.nodes for r in chunk],
                    "state": [r.state.value for r in chunk],
                    "placement": [
                        orjson.dumps(r.placement).decode() if r.placement else None for r in chunk
                    ],
                    "nodelist": [None] * len(chunk),
                }
                writer.write_table(pa.table(cols, schema=schema))
        con = connect()
        try:
            return self.adopt(staged, source, con)
        finally:
            con.close()

    def remove(self, source: str, kind: str = "jobs") -> bool:
        """Delete ``source``'s file of ``kind``; False when there was none."""
        if self.place is None:
            return False
        return self.place.delete(self._file(source, kind))

    # -- reading ---------------------------------------------------------------------------
    def jobs_sql(
        self,
        source: str | None = None,
        team: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> str:
        """A SELECT of the stored jobs (all :data:`JOB_COLUMNS`) matching the filters."""
        where = []
        if source is not None:
            where.append(f"source = {sql_text(source)}")
        if team is not None:
            where.append(f"team = {sql_text(team)}")
        if since is not None:
            where.append(f"submit_time >= {sql_text(_naive_text(since))}::TIMESTAMP")
        if until is not None:
            where.append(f"submit_time < {sql_text(_naive_text(until))}::TIMESTAMP")
        return files_sql(self.job_files(), JOB_COLUMNS, where)

    @contextmanager
    def connect(
        self, source: str | None = None, *, threads: int | None = None
    ) -> Iterator[duckdb.DuckDBPyConnection]:
        """A DuckDB connection with a ``jobs`` view (of ``source``, or of every source)."""
        con = self.attach(connect(threads))
        try:
            con.execute(f"CREATE TEMP VIEW jobs AS {self.jobs_sql(source)}")
            yield con
        finally:
            con.close()

    def count(self, source: str | None = None) -> int:
        with self.connect(source) as con:
            row = con.execute("SELECT count(*) FROM jobs").fetchall()[0]
        return int(row[0]) if row else 0

    def sources(self) -> list[str]:
        with self.connect() as con:
            return sorted(s for (s,) in con.execute("SELECT DISTINCT source FROM jobs").fetchall())

    def records(
        self,
        source: str | None = None,
        team: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[JobRecord]:
        """Stored jobs as records, by submit time then import order."""
        query = (
            f"SELECT {', '.join(n for n, _ in JOB_COLUMNS)} FROM "
            f"({self.jobs_sql(source, team, since, until)}) ORDER BY submit_time, batch, seq"
        )
        con = self.attach(connect())
        try:
            reader = con.sql(query).to_arrow_reader(RECORD_CHUNK)
            found: list[JobRecord] = []
            for batch in reader:
                found.extend(
                    _record(row, len(found) + k + 1) for k, row in enumerate(batch.to_pylist())
                )
            return found
        finally:
            con.close()

    # -- other kinds of fleet data (node snapshots, ...): one Parquet file per source ------
    def kind_files(self, kind: str) -> list[str]:
        """The files of ``kind`` (``<data>/<kind>/``), one per source: paths or URLs
        (read them on a connection given to :meth:`attach`)."""
        return self.files(kind)

    def kind_version(self, kind: str) -> tuple[Any, ...]:
        """Changes whenever a file of ``kind`` is written or removed (for caches)."""
        return self.version(kind)

    def write_kind(
        self, kind: str, source: str, query: str, con: duckdb.DuckDBPyConnection
    ) -> None:
        """Replace ``source``'s file of ``kind`` with the rows of ``query`` (run on
        ``con``), written locally and published whole (a rename, or one upload): a failed
        write leaves the old file."""
        place = self._place()
        target = self._file(source, kind)
        out = place.scratch(self.kind_dir(kind), ".writing-", ".parquet")
        try:
            self.attach(con)
            con.execute(f"COPY ({query}) TO {sql_text(str(out))} (FORMAT parquet)")
            place.publish(out, target)
        except (duckdb.Error, OSError) as exc:
            raise StoreError(f"{target}: cannot store the {kind} of {source}: {exc}") from exc
        finally:
            out.unlink(missing_ok=True)

    def remove_kind(self, kind: str, source: str) -> bool:
        return self.remove(source, kind)


def _record(row: dict[str, Any], ordinal: int) -> JobRecord:
    """A stored row as a record (host lists expanded once per distinct list)."""
    gpus = int(row["gpus"] or 0)
    if row["placement"]:
        placement = {str(k): int(v) for k, v in orjson.loads(row["placement"]).items()}
    elif row["nodelist"]:
        placement = _spread(gpus, row["nodelist"])
    else:
        placement = {}
    return JobRecord(
        id=ordinal,
        job_id=row["job_id"],
        user=row["user"] or "",
        team=row["team"] or "",
        submit_time=_aware(row["submit_time"]) or datetime.fromtimestamp(0, UTC),
        start_time=_aware(row["start_time"]),
        end_time=_aware(row["end_time"]),
        gpus=gpus,
        nodes=row["nodes"],
        state=JobState(row["state"]),
        source=row["source"],
        placement=placement,
    )


@lru_cache(maxsize=4096)
def _hosts(nodelist: str) -> tuple[str, ...]:
    return tuple(expand_hostlist(nodelist))


def _spread(gpus: int, nodelist: str) -> dict[str, int]:
    return spread(gpus, list(_hosts(nodelist)))


def _naive(t: datetime | None) -> datetime | None:
    return None if t is None else t.astimezone(UTC).replace(tzinfo=None)


def _naive_text(t: datetime) -> str:
    moment = t if t.tzinfo else t.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")


def _aware(t: datetime | None) -> datetime | None:
    return None if t is None else t.replace(tzinfo=UTC)
