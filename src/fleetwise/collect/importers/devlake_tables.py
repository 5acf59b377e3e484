"""Read Apache DevLake's domain-layer tables from a database (read-only) or CSV dumps.

A source is either a DevLake database URL (``postgresql://...``, ``mysql://...``) or a
folder holding one ``<table>.csv`` per table, as ``SELECT * ... INTO OUTFILE`` or a
client's CSV export writes them. Either way a table comes back as rows of text/datetime
values keyed by column name; a missing table or column is one line naming both.

Times without an offset are UTC (DevLake writes UTC; its MySQL columns carry no zone).
"""

from __future__ import annotations

import csv
import importlib
import io
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fleetwise.collect.importers.incidents import csv_rows, parse_when
from fleetwise.errors import InputError
from fleetwise.textfile import read_text

Row = dict[str, Any]
_URL = re.compile(r"^[a-z][a-z0-9+]*://", re.IGNORECASE)
#: URL options passed on to PyMySQL; any other (Go's parseTime, loc...) is dropped.
_MYSQL_OPTIONS = {"charset", "unix_socket", "ssl_ca", "ssl_cert", "ssl_key", "connect_timeout"}


def is_database_url(text: str) -> bool:
    return bool(_URL.match(text.strip()))


@dataclass(frozen=True)
class Want:
    """The columns read from one table: ``required`` must exist, ``optional`` may."""

    table: str
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()


class TableSource:
    """Rows of DevLake tables; ``name`` is what messages and event sources call it."""

    name: str

    def has(self, table: str) -> bool:
        raise NotImplementedError

    def rows(self, want: Want) -> list[Row]:
        raise NotImplementedError


class CsvFolder(TableSource):
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.name = folder.name or str(folder)

    def has(self, table: str) -> bool:
        return (self.folder / f"{table}.csv").is_file()

    def rows(self, want: Want) -> list[Row]:
        path = self.folder / f"{want.table}.csv"
        if not path.is_file():
            raise InputError(f"{self.folder}: no {want.table}.csv (DevLake table {want.table!r})")
        text = read_text(path)
        header = [h.strip() for h in next(csv.reader(io.StringIO(text)), [])]
        for col in want.required:
            if col not in header:
                raise InputError(f"{path}:1: table {want.table!r} has no column {col!r}")
        out: list[Row] = []
        for line, row in csv_rows(path, text):
            item: Row = {"_at": f"{path}:{line}"}
            for col in (*want.required, *want.optional):
                value = row.get(col)
                item[col] = None if value is None or value == "" or value == r"\N" else value
            out.append(item)
        return out


class Database(TableSource):
    """A DevLake database opened read-only through SQLAlchemy."""

    def __init__(self, url: str) -> None:
        from sqlalchemy import create_engine
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            parsed = make_url(url.strip())
        except ArgumentError as exc:
            raise InputError(f"{url}: not a database URL ({exc})") from exc
        self.name = parsed.database or parsed.host or "devlake"
        self.shown = parsed.render_as_string(hide_password=True)
        backend = parsed.get_backend_name()
        connect_args: dict[str, Any] = {}
        if backend in ("postgresql", "postgres"):
            parsed = parsed.set(drivername="postgresql+psycopg")
            # The server refuses every write in this session, whatever the SQL.
            connect_args = {"options": "-c default_transaction_read_only=on"}
        elif backend in ("mysql", "mariadb"):
            try:
                importlib.import_module("pymysql")
            except ImportError as exc:
                raise InputError(
                    f"{self.shown}: reading a MySQL DevLake database needs the PyMySQL driver: "
                    "pip install 'fleetwise[mysql]' (or dump the tables to CSV)"
                ) from exc
            # DevLake's DB_URL carries Go driver options (parseTime=True&loc=UTC) that
            # PyMySQL does not take; times are read as UTC anyway.
            query = {k: v for k, v in parsed.query.items() if k in _MYSQL_OPTIONS}
            parsed = parsed.set(drivername="mysql+pymysql", query=query)
            connect_args = {"init_command": "SET SESSION TRANSACTION READ ONLY"}
        else:
            raise InputError(
                f"{self.shown}: a DevLake database is mysql://... or postgresql://..., "
                f"not {backend!r}"
            )
        self.engine = create_engine(parsed, connect_args=connect_args)
        self._tables: dict[str, set[str]] = {}

    @contextmanager
    def _errors(self) -> Iterator[None]:
        from sqlalchemy.exc import SQLAlchemyError

        try:
            yield
        except SQLAlchemyError as exc:
            cause = getattr(exc, "orig", None) or exc
            first = str(cause).strip().split("\n")[0]
            raise InputError(f"{self.shown}: cannot read the database: {first}") from exc

    def _columns(self, table: str) -> set[str] | None:
        from sqlalchemy import inspect

        if not self._tables:
            with self._errors():
                inspector = inspect(self.engine)
                for name in inspector.get_table_names():
                    self._tables[name] = {c["name"] for c in inspector.get_columns(name)}
        return self._tables.get(table)

    def has(self, table: str) -> bool:
        return self._columns(table) is not None

    def rows(self, want: Want) -> list[Row]:
        from sqlalchemy import column, select, table

        present = self._columns(want.table)
        if present is None:
            raise InputError(f"{self.shown}: no table {want.table!r} (a DevLake domain table)")
        for col in want.required:
            if col not in present:
                raise InputError(f"{self.shown}: table {want.table!r} has no column {col!r}")
        cols = [c for c in (*want.required, *want.optional) if c in present]
        query: Any = select(*[column(c) for c in cols]).select_from(table(want.table))
        out: list[Row] = []
        with self._errors(), self.engine.connect() as conn:
            for i, rec in enumerate(conn.execute(query)):
                item: Row = {"_at": f"{want.table} row {i + 1}"}
                item.update({c: None for c in want.optional})
                item.update(zip(cols, rec, strict=True))
                out.append(item)
        return out

    def close(self) -> None:
        self.engine.dispose()


def text(row: Mapping[str, Any], col: str) -> str:
    value = row.get(col)
    return "" if value is None else str(value).strip()


def when(row: Mapping[str, Any], col: str) -> datetime | None:
    """A column's time (aware, UTC when naive), None when empty."""
    value = row.get(col)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return parse_when(str(value).replace(" ", "T", 1), f"{row['_at']}: column {col!r}")


def number(row: Mapping[str, Any], col: str) -> float | None:
    value = row.get(col)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        parsed = float(value)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{row['_at']}: column {col!r}: not a number: {value!r}") from exc
    if not math.isfinite(parsed):
        raise InputError(f"{row['_at']}: column {col!r}: not a finite number: {value!r}")
    return parsed


def open_source(source: str | Path) -> TableSource:
    """A CSV folder or a database URL."""
    if isinstance(source, str) and is_database_url(source):
        return Database(source)
    path = Path(source)
    if not path.is_dir():
        raise InputError(
            f"{path}: a DevLake source is a folder of CSV dumps or a database URL "
            "(postgresql://... or mysql://...)"
        )
    return CsvFolder(path)


def read_all(src: TableSource, wants: Iterable[Want]) -> dict[str, list[Row]]:
    return {w.table: src.rows(w) for w in wants}


def shown_source(source: str) -> str:
    """A source for messages: a database URL without its password."""
    if not is_database_url(source):
        return source
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(source.strip()).render_as_string(hide_password=True)
    except ArgumentError:
        return re.sub(r"://[^@/]*@", "://***@", source)
