"""Cluster telemetry read in bounded memory: a file streamed into sample columns
(``collect/importers/telemetry_stream.py``), stored per source
(``store/columnar_telemetry.py``), and its figures computed with SQL
(``analyze/cluster_telemetry_sql.py``), for ``cluster analyze`` and ``cluster telemetry``.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import duckdb

from fleetwise.analyze.cluster_telemetry_sql import health_sql, series_sql
from fleetwise.analyze.node_health import GpuHealth
from fleetwise.collect.importers.telemetry import ClusterSeries
from fleetwise.collect.importers.telemetry_stream import lit, stage_telemetry, telemetry_format
from fleetwise.errors import InputError
from fleetwise.store import Store
from fleetwise.store.columnar import connect
from fleetwise.store.columnar_telemetry import (
    TelemetrySource,
    telemetry_sources,
    telemetry_sql,
    write_telemetry,
)


@dataclass(frozen=True)
class Telemetry:
    """A telemetry file's figures: its series and, for DCGM, its GPUs' health."""

    series: ClusterSeries
    health: list[GpuHealth]
    #: The file's name (an analysis of it is tagged ``telemetry:<name>``).
    name: str


def _connect(scratch: Path) -> duckdb.DuckDBPyConnection:
    """A bounded connection that spills to ``scratch`` (not the working folder)."""
    con = connect()
    con.execute(f"SET temp_directory = {lit(str(scratch / 'spill'))}")
    return con


def _figures(con: duckdb.DuckDBPyConnection, fmt: str, name: str) -> Telemetry:
    series = series_sql(con, "samples", fmt, name)
    health = health_sql(con, "samples") if fmt == "dcgm" else []
    return Telemetry(series, health, name)


def read_telemetry(path: Path, fmt: str = "auto") -> Telemetry:
    """A telemetry file's figures, streamed through a scratch folder (nothing stored).
    Raises ``InputError`` as ``telemetry.import_telemetry`` does."""
    with tempfile.TemporaryDirectory(prefix="fleetwise-telemetry-") as tmp:
        con = _connect(Path(tmp))
        try:
            staged = stage_telemetry(
                path, fmt, f"{fmt}:{path.resolve()}", Path(tmp) / "staged.parquet", con
            )
            con.execute(f"CREATE TEMP VIEW samples AS {staged.select}")
            return _figures(con, staged.fmt, path.name)
        finally:
            con.close()


@dataclass(frozen=True)
class TelemetryImport:
    source: str
    fmt: str
    samples: int
    #: True when an earlier import of the same file was replaced.
    replaced: bool


def import_telemetry_file(store: Store, path: Path, fmt: str = "auto") -> TelemetryImport:
    """Store ``path``'s samples as its source's file (``FORMAT:/absolute/path``); an
    earlier import of the same file is replaced, never added to."""
    found = telemetry_format(path, fmt)
    source = f"{found}:{path.resolve()}"
    data = store.jobs_data()
    work = data.staging_file("telemetry")
    with tempfile.TemporaryDirectory(prefix="fleetwise-telemetry-") as tmp:
        con = data.attach(_connect(Path(tmp)))
        try:
            before = {s.source for s in telemetry_sources(data, con)}
            staged = stage_telemetry(path, found, source, work, con)
            samples = write_telemetry(data, staged, source, con)
        finally:
            con.close()
            work.unlink(missing_ok=True)
    return TelemetryImport(source, found, samples, source in before)


def stored_sources(store: Store) -> list[TelemetrySource]:
    data = store.jobs_data()
    con = connect()
    try:
        return telemetry_sources(data, con)
    finally:
        con.close()


def stored_telemetry(store: Store, source: str) -> Telemetry:
    """The figures of a stored source (as ``cluster telemetry list`` names it)."""
    data = store.jobs_data()
    with tempfile.TemporaryDirectory(prefix="fleetwise-telemetry-") as tmp:
        con = data.attach(_connect(Path(tmp)))
        try:
            found = next((s for s in telemetry_sources(data, con) if s.source == source), None)
            if found is None:
                raise InputError(
                    f"no telemetry from {source!r} in {store.display_url} "
                    "(fleetwise cluster telemetry list)"
                )
            con.execute(f"CREATE TEMP VIEW samples AS {telemetry_sql(data, source)}")
            return _figures(con, found.format, found.name)
        finally:
            con.close()
