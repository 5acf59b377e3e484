"""Telemetry samples as Parquet, one file per imported source under ``<data>/telemetry/``
beside the jobs (``store/columnar.py``), in the columns of
``collect/importers/telemetry_stream.py`` (``SAMPLE_COLUMNS``).

Importing a file again replaces its source's file (published whole, so a failed import
leaves the earlier one); analyses read one source's samples with SQL
(``analyze/cluster_telemetry_sql.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb

from fleetwise.collect.importers.telemetry_stream import SAMPLE_COLUMNS, Staged
from fleetwise.store.columnar import FleetData, files_sql, sql_text
from fleetwise.timeutil import as_utc

KIND = "telemetry"


@dataclass(frozen=True)
class TelemetrySource:
    """A stored telemetry source: its format, samples and the span they cover (UTC)."""

    source: str
    format: str
    samples: int
    first: datetime
    last: datetime

    @property
    def name(self) -> str:
        """The imported file's name (the source is ``format:/absolute/path``)."""
        return self.source.split(":", 1)[-1].replace("\\", "/").rsplit("/", 1)[-1]


def write_telemetry(
    data: FleetData, staged: Staged, source: str, con: duckdb.DuckDBPyConnection
) -> int:
    """Replace ``source``'s samples with the staged ones; returns how many were stored."""
    data.write_kind(KIND, source, staged.select, con)
    row = con.execute(f"SELECT count(*) FROM ({telemetry_sql(data, source)})").fetchall()[0]
    return int(row[0])


def telemetry_sql(data: FleetData, source: str | None = None) -> str:
    """A SELECT of the stored samples (all ``SAMPLE_COLUMNS``) of ``source``, or of all."""
    where = [] if source is None else [f"source = {sql_text(source)}"]
    return files_sql(data.kind_files(KIND), SAMPLE_COLUMNS, where)


def telemetry_sources(data: FleetData, con: duckdb.DuckDBPyConnection) -> list[TelemetrySource]:
    """The stored sources, by name (``con`` may read the data's files: ``data.attach``)."""
    data.attach(con)
    rows = con.execute(
        "SELECT source, any_value(format), count(*), min(time), max(time) "
        f"FROM ({telemetry_sql(data)}) GROUP BY source ORDER BY source"
    ).fetchall()
    return [
        TelemetrySource(str(s), str(f), int(n), as_utc(first), as_utc(last))
        for s, f, n, first, last in rows
    ]
