"""Streaming import of telemetry: DCGM samples (text exposition, ``query_range`` JSON, CSV)
and Helios / Philly per-minute sequences read by DuckDB into sample columns (Parquet).

The record parsers (``importers/dcgm.py``, ``importers/telemetry.py``) build a Python object
per sample; this path never does. DuckDB reads the file (the exposition as lines, matched
with the parser's regular expression; the CSV with its reader; the JSON with its JSON
functions) and a SQL projection applies the same rules, writing one row per sample:

- ``time`` (UTC, microseconds: epoch seconds or milliseconds rounded as Python's
  ``datetime.fromtimestamp``, or ISO 8601), ``field`` (the DCGM field; for a sequence
  ``total``, ``busy`` or ``pending``), ``host`` and ``gpu`` (``dcgm._identity``'s rules),
  ``value`` (as in the file: GPU_UTIL in percent), ``allocated`` (a pod label said so;
  NULL when none) and ``seq`` (the sample's place in the file: the later of two samples of
  one GPU, field and time wins, as in the record parser).

The staging copy runs on one DuckDB thread so the staged rows keep the file's order (the
parallel CSV reader reorders chunks); ``seq`` comes from the staged file's row numbers.

What this path cannot vouch for sends the file to the record parser, whose
``file:line: column`` message is the one the user sees, or whose samples are staged (in
chunks): a byte outside printable ASCII (Python's ``strip``, ``\\s`` and ``\\w`` are
Unicode-aware, DuckDB's are not), a value or time it cannot read alike, a duplicated label
or CSV column, a JSON value that is not the usual string, a row DuckDB rejects.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path
from typing import Any

import duckdb

from fleetwise.collect.importers import dcgm
from fleetwise.collect.importers.dcgm import (
    _EXPOSITION,
    _GPU_LABELS,
    _HOST_LABELS,
    _LABEL,
    _POD_LABELS,
    _VOLATILE,
)
from fleetwise.collect.importers.tabular import head
from fleetwise.collect.importers.telemetry import IMPORTERS, ClusterSeries, parse_dcgm
from fleetwise.collect.importers.telemetry import telemetry_format as resolve_format
from fleetwise.errors import InputError

#: The stored columns of a telemetry source, in order.
SAMPLE_COLUMNS = (
    ("source", "VARCHAR"),
    ("format", "VARCHAR"),
    ("time", "TIMESTAMP"),
    ("field", "VARCHAR"),
    ("host", "VARCHAR"),
    ("gpu", "VARCHAR"),
    ("value", "DOUBLE"),
    ("allocated", "BOOLEAN"),
    ("seq", "BIGINT"),
)
#: The unit of each format's counts.
UNITS = {"dcgm": "GPUs", "helios": "GPUs", "philly": "nodes"}
#: A sequence's columns (our field -> the file's column) and those it must have.
SEQUENCES: dict[str, tuple[dict[str, str], set[str]]] = {
    "helios": (
        {"total": "total_gpu_num", "busy": "running_gpu_num", "pending": "pending_gpu_num"},
        {"time", "total_gpu_num", "running_gpu_num"},
    ),
    "philly": ({"busy": "active", "total": "total"}, {"time", "active", "total"}),
}
RECORD_CHUNK = 100_000
_SCAN = 16 * 1024 * 1024
#: Printable ASCII, tab and newline: the bytes both readers treat alike.
_PLAIN = bytes(range(0x20, 0x7F)) + b"\t\n"
_WS = "' ' || chr(9) || chr(10) || chr(13)"
_NUMBER = r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?"
#: The ISO 8601 forms DuckDB and Python's ``datetime.fromisoformat`` read alike.
_ISO = (
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}([T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?)?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})?"
)
#: Epoch seconds past this are beyond ``datetime`` (year 9999).
_LAST_EPOCH = 253402300799


@dataclass(frozen=True)
class Staged:
    """A file staged for storing: its format and the SELECT of its sample columns."""

    fmt: str
    select: str


def lit(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def _in(values: Sequence[str]) -> str:
    return ", ".join(lit(v) for v in values)


def _trim(col: str) -> str:
    return f"trim(coalesce({col}, ''), {_WS})"


def telemetry_format(path: Path, fmt: str = "auto") -> str:
    """``telemetry.telemetry_format``, with undecodable text worded as ``import_telemetry``
    words it."""
    try:
        return resolve_format(path, fmt)
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text (byte {exc.start} of a line)") from exc


def plain_text(path: Path) -> bool:
    """True when every byte is printable ASCII, a tab or a newline (``\\r`` only before
    ``\\n``), read in chunks."""
    previous = b""
    with path.open("rb") as f:
        while chunk := f.read(_SCAN):
            if chunk.translate(None, _PLAIN).replace(b"\r", b""):
                return False
            joined = previous + chunk
            if joined.count(b"\r") != joined.count(b"\r\n") + joined.endswith(b"\r"):
                return False
            previous = chunk[-1:]
    return not previous.endswith(b"\r")


# -- SQL pieces --------------------------------------------------------------------------
def _epoch_time(seconds: str) -> str:
    """Epoch seconds (a DOUBLE >= 0) as a TIMESTAMP, the microseconds rounded half to even
    as ``datetime.fromtimestamp`` does; NULL past year 9999."""
    s = f"(CASE WHEN {seconds} > 1e11 THEN {seconds} / 1000 ELSE {seconds} END)"
    micros = f"(trunc({s})::BIGINT * 1000000 + round_even(({s} - trunc({s})) * 1e6, 0)::BIGINT)"
    return f"(CASE WHEN {s} <= {_LAST_EPOCH} THEN make_timestamp({micros}) END)"


def _time(text: str) -> str:
    """``dcgm.sample_time`` in SQL (NULL where it is not vouched for)."""
    t = _trim(text)
    return (
        f"(CASE WHEN regexp_full_match({t}, '[0-9]+(\\.[0-9]*)?') "
        f"THEN {_epoch_time(f'try_cast({t} AS DOUBLE)')} "
        f"WHEN regexp_full_match({t}, {lit(_ISO)}) "
        f"THEN try_cast(try_cast({t} AS TIMESTAMPTZ) AS TIMESTAMP) END)"
    )


def _number(text: str) -> str:
    t = _trim(text)
    return f"(CASE WHEN regexp_full_match({t}, {lit(_NUMBER)}) THEN try_cast({t} AS DOUBLE) END)"


def _in_range(field: str, value: str) -> str:
    """``dcgm.checked_value``'s range of ``field`` (a SQL expression) for ``value``."""
    return (
        f"(coalesce(isfinite({value}), false) AND CASE WHEN {field} = {lit(dcgm.UTIL)} "
        f"THEN {value} BETWEEN 0 AND 100 WHEN {field} IN ({_in(dcgm.RATIOS)}) "
        f"THEN {value} BETWEEN 0 AND 1 ELSE {value} >= 0 AND {value} = trunc({value}) END)"
    )


def _csv_reader(path: Path, names: Sequence[str]) -> str:
    columns = ", ".join(f"{lit(n)}: 'VARCHAR'" for n in names)
    return (
        f"read_csv({lit(str(path))}, header = true, columns = {{{columns}}}, delim = ',', "
        "quote = '\"', escape = '\"', auto_detect = false, strict_mode = true)"
    )


def _header(path: Path, *, strip: bool) -> list[str] | None:
    """The CSV's header as the csv module reads it; None when names repeat."""
    try:
        with path.open(newline="", encoding="utf-8") as f:
            names = next(csv.reader(f), [])
    except csv.Error:  # the record parser words it
        return None
    names = [n.strip() for n in names] if strip else names
    return names if len(set(names)) == len(names) else None


def _identity(
    label: dict[str, str], others: str, pod_labelled: str = "true"
) -> tuple[str, str, str]:
    """host, gpu and allocated (SQL) from label expressions (``dcgm._identity``);
    ``others`` names a GPU without host and index labels (``k=v,...``, sorted)."""

    def first(keys: Sequence[str]) -> str:
        found = [f"nullif({label[k]}, '')" for k in keys if k in label]
        return f"coalesce({', '.join(found)}, '')" if found else "''"

    host, gpu = first(_HOST_LABELS), first(_GPU_LABELS)
    gpu = f"(CASE WHEN {host} = '' AND {gpu} = '' THEN {others} ELSE {gpu} END)"
    pods = [f"{_trim(label[k])} <> ''" for k in _POD_LABELS if k in label]
    allocated = (
        f"(CASE WHEN {pod_labelled} THEN {' OR '.join(pods)} END)" if pods else "NULL::BOOLEAN"
    )
    return host, gpu, allocated


def _listed_identity(keys: str, vals: str) -> tuple[str, str, str]:
    """:func:`_identity` of labels given as a list of names and one of values (SQL)."""
    known = sorted({*_HOST_LABELS, *_GPU_LABELS, *_POD_LABELS})
    label = {k: f"coalesce({vals}[list_position({keys}, {lit(k)})], '')" for k in known}
    volatile = f"[{_in(sorted(_VOLATILE))}]"
    kept = f"list_sort(list_filter({keys}, lambda n: NOT list_contains({volatile}, n)))"
    others = (
        f"array_to_string(list_transform({kept}, "
        f"lambda n: n || '=' || {vals}[list_position({keys}, n)]), ',')"
    )
    return _identity(label, others, f"list_has_any({keys}, [{_in(_POD_LABELS)}])")


# -- the shapes --------------------------------------------------------------------------
def _dcgm_csv(path: Path, wide: Path, con: duckdb.DuckDBPyConnection) -> str | None:
    header = _header(path, strip=True)
    if header is None:
        return None
    tcol = "timestamp" if "timestamp" in header else "time"
    if tcol not in header:
        return None
    names = [f"c{i}" for i in range(len(header))]
    col = dict(zip(header, names, strict=True))
    fields = [c for c in header if c in dcgm.FIELDS]
    labels = [c for c in header if c != tcol and not c.startswith(dcgm.PREFIX)]
    kept = sorted(n for n in labels if n not in _VOLATILE)
    others = " || ',' || ".join(f"{lit(n + '=')} || {_trim(col[n])}" for n in kept) or "''"
    host, gpu, allocated = _identity({n: _trim(col[n]) for n in labels}, others)
    values = [_number(col[f]) for f in fields]
    bad = " OR ".join(
        f"({_trim(col[f])} <> '' AND NOT coalesce({_in_range(lit(f), v)}, false))"
        for f, v in zip(fields, values, strict=True)
    )
    select = (
        f"SELECT {_time(col[tcol])} AS time, {host} AS host, {gpu} AS gpu, "
        f"{allocated} AS allocated, "
        + "".join(
            f"CASE WHEN {_trim(col[f])} <> '' THEN {v} END AS v{i}, "
            for i, (f, v) in enumerate(zip(fields, values, strict=True))
        )
        + f"time IS NULL {('OR ' + bad) if bad else ''} AS bad FROM {_csv_reader(path, names)}"
    )
    if not _copy(select, wide, con):
        return None
    rows = f"read_parquet({lit(str(wide))}, file_row_number = true)"
    return (
        " UNION ALL ".join(
            f"SELECT time, {lit(f)} AS field, host, gpu, v{i} AS value, allocated, "
            f"file_row_number * {len(fields)} + {i} AS seq FROM {rows} WHERE v{i} IS NOT NULL"
            for i, f in enumerate(fields)
        )
        or _none()
    )


def _dcgm_text(path: Path, wide: Path, con: duckdb.DuckDBPyConnection) -> str | None:
    line = f"trim(line, {_WS})"
    lines = (
        f"read_csv({lit(str(path))}, columns = {{'line': 'VARCHAR'}}, delim = {lit(chr(1))}, "
        "quote = '', escape = '', header = false, auto_detect = false, strict_mode = true)"
    )
    parts = "['name', 'labels', 'value', 'ts']"
    matched = (
        f"SELECT line, regexp_extract(line, {lit(_EXPOSITION.pattern)}, "
        f"{parts}) AS m FROM (SELECT {line} AS line FROM {lines}) "
        f"WHERE starts_with(line, {lit(dcgm.PREFIX)})"
    )
    named = (
        "SELECT *, CASE WHEN m.name <> '' THEN m.name "
        "ELSE split_part(split_part(line, '{', 1), ' ', 1) END AS field, "
        f"regexp_extract_all(m.labels, {lit(_LABEL.pattern)}, 1) AS keys, "
        f"regexp_extract_all(m.labels, {lit(_LABEL.pattern)}, 2) AS vals FROM ({matched})"
    )
    host, gpu, allocated = _listed_identity("keys", "vals")
    value = _number("m.value")
    select = (
        f"SELECT CASE WHEN m.ts <> '' THEN {_time('m.ts')} END AS time, field, "
        f"{host} AS host, {gpu} AS gpu, {value} AS value, {allocated} AS allocated, "
        f"(m.name = '' OR m.ts = '' OR time IS NULL OR NOT coalesce({_in_range('field', value)}, "
        "false) OR len(keys) <> len(list_distinct(keys))) AS bad "
        f"FROM ({named}) WHERE field IN ({_in(dcgm.FIELDS)})"
    )
    if not _copy(select, wide, con):
        return None
    return (
        "SELECT time, field, host, gpu, value, allocated, file_row_number AS seq "
        f"FROM read_parquet({lit(str(wide))}, file_row_number = true)"
    )


def _dcgm_json(path: Path, wide: Path, con: duckdb.DuckDBPyConnection) -> str | None:
    result = "(j->'$.data.result')"
    series = (
        f"SELECT unnest(from_json({result}, '[\"JSON\"]')) AS s, "
        f"unnest(range(json_array_length({result})::BIGINT)) AS k "
        f"FROM (SELECT content::JSON AS j FROM read_text({lit(str(path))})) "
        f"WHERE json_type({result}) = 'ARRAY'"
    )
    name = "(s->'$.metric.__name__')"
    shaped = (
        "SELECT k, s, json_type(s) = 'OBJECT' "
        "AND coalesce(json_type(s->'$.metric'), 'NULL') IN ('NULL', 'OBJECT') "
        "AND coalesce(json_type(s->'$.values'), 'NULL') IN ('NULL', 'ARRAY') "
        f"AND coalesce(json_type({name}), 'NULL') IN ('NULL', 'VARCHAR') AS ok, "
        f"CASE WHEN coalesce({name}->>'$', '') = '' THEN {lit(dcgm.UTIL)} "
        f"ELSE {name}->>'$' END AS field, "
        "CASE WHEN json_type(s->'$.metric') = 'OBJECT' "
        "THEN (s->'$.metric')::MAP(VARCHAR, JSON) ELSE MAP {}::MAP(VARCHAR, JSON) END AS metric "
        f"FROM ({series})"
    )
    points = (
        "SELECT k, field, metric, unnest(from_json(s->'$.values', '[\"JSON\"]')) AS p, "
        "unnest(range(coalesce(json_array_length(s->'$.values'), 0)::BIGINT)) AS i "
        f"FROM ({shaped}) WHERE ok AND field IN ({_in(dcgm.FIELDS)})"
    )
    keys = "map_keys(metric)"
    vals = "list_transform(map_values(metric), lambda x: x->>'$')"
    host, gpu, allocated = _listed_identity(keys, vals)
    ts, v = "(p->'$[0]')", "(p->'$[1]')"
    seconds = (
        f"CASE json_type({ts}) WHEN 'UBIGINT' THEN {_epoch_time(f'{ts}::UBIGINT::DOUBLE')} "
        f"WHEN 'DOUBLE' THEN CASE WHEN {ts}::DOUBLE BETWEEN 1e-4 AND 1e15 "
        f"THEN {_epoch_time(f'{ts}::DOUBLE')} END "
        f"WHEN 'VARCHAR' THEN {_time(f'{ts}->>' + lit('$'))} END"
    )
    value = (
        f"CASE json_type({v}) WHEN 'VARCHAR' THEN {_number(f'{v}->>' + lit('$'))} "
        f"WHEN 'UBIGINT' THEN {v}::UBIGINT::DOUBLE WHEN 'DOUBLE' THEN {v}::DOUBLE END"
    )
    select = (
        f"SELECT k, i, {seconds} AS time, field, {host} AS host, {gpu} AS gpu, "
        f"{value} AS value, {allocated} AS allocated, "
        f"(json_type(p) <> 'ARRAY' OR json_array_length(p) <> 2 OR time IS NULL "
        f"OR NOT coalesce({_in_range('field', 'value')}, false) "
        f"OR NOT coalesce(list_bool_and(list_transform(map_values(metric), "
        "lambda x: json_type(x) = 'VARCHAR')), true)) AS bad "
        f"FROM ({points}) UNION ALL SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
        f"true FROM ({shaped}) WHERE NOT ok UNION ALL SELECT NULL, NULL, NULL, NULL, NULL, "
        "NULL, NULL, NULL, true FROM (SELECT content::JSON AS j "
        f"FROM read_text({lit(str(path))})) WHERE coalesce(json_type({result}), '') <> 'ARRAY'"
    )
    if not _copy(select, wide, con):
        return None
    return (
        "SELECT time, field, host, gpu, value, allocated, (k << 32) + i AS seq "
        f"FROM read_parquet({lit(str(wide))})"
    )


def _sequence(fmt: str, path: Path, wide: Path, con: duckdb.DuckDBPyConnection) -> str | None:
    header = _header(path, strip=False)
    columns, required = SEQUENCES[fmt]
    if header is None or not required <= set(header):
        return None
    names = [f"c{i}" for i in range(len(header))]
    col = dict(zip(header, names, strict=True))
    present = {ours: theirs for ours, theirs in columns.items() if theirs in col}
    values = {ours: _number(col[theirs]) for ours, theirs in present.items()}
    bad = " OR ".join(f"NOT coalesce(isfinite({v}), false)" for v in values.values())
    select = (
        f"SELECT {_time(col['time'])} AS time, "
        + "".join(f"{v} AS {ours}, " for ours, v in values.items())
        + f"(time IS NULL OR {bad}) AS bad FROM {_csv_reader(path, names)}"
    )
    if not _copy(select, wide, con):
        return None
    rows = f"read_parquet({lit(str(wide))}, file_row_number = true)"
    return " UNION ALL ".join(
        f"SELECT time, {lit(ours)} AS field, '' AS host, '' AS gpu, {ours} AS value, "
        f"NULL::BOOLEAN AS allocated, file_row_number AS seq FROM {rows}"
        for ours in values
    )


def _none() -> str:
    return (
        "SELECT NULL::TIMESTAMP AS time, NULL AS field, NULL AS host, NULL AS gpu, "
        "NULL::DOUBLE AS value, NULL::BOOLEAN AS allocated, NULL::BIGINT AS seq WHERE false"
    )


def _copy(select: str, out: Path, con: duckdb.DuckDBPyConnection) -> bool:
    """Copy ``select`` to ``out`` on one thread (the file's order kept); False (no file)
    when DuckDB cannot read the file, or a row is ``bad`` or none is read."""
    threads = int(con.execute("SELECT current_setting('threads')").fetchall()[0][0])
    try:
        con.execute("SET threads = 1")
        try:
            con.execute(f"COPY ({select}) TO {lit(str(out))} (FORMAT parquet)")
        finally:
            con.execute(f"SET threads = {threads}")
        row = con.execute(
            f"SELECT count(*), coalesce(bool_or(bad), false) FROM read_parquet({lit(str(out))})"
        ).fetchall()[0]
    except duckdb.Error:
        out.unlink(missing_ok=True)
        return False
    if not row[0] or row[1]:
        out.unlink(missing_ok=True)
        return False
    return True


def _shape(path: Path) -> str:
    """``dcgm.samples``' choice: ``json``, ``csv`` or ``text``."""
    text = head(path).lstrip("\ufeff").lstrip()
    if text.startswith("{"):
        return "json"
    first = text.splitlines()[0] if text else ""
    columns = [c.strip() for c in first.split(",")]
    return "csv" if "," in first and any(c in dcgm.FIELDS for c in columns) else "text"


def stage_stream(
    path: Path, fmt: str, source: str, work: Path, con: duckdb.DuckDBPyConnection
) -> Staged | None:
    """Stage ``path`` (read as ``fmt``, resolved) under ``work`` (a scratch file path) and
    return the SELECT of its sample columns; None when the record parser must read it.
    ``con`` must run in UTC (ISO times with an offset are converted)."""
    if not plain_text(path):
        return None
    if fmt == "dcgm":
        reader = {"json": _dcgm_json, "csv": _dcgm_csv, "text": _dcgm_text}[_shape(path)]
        rows = reader(path, work, con)
    else:
        rows = _sequence(fmt, path, work, con)
    if rows is None:
        return None
    return Staged(fmt, _with_source(rows, source, fmt))


def stage_telemetry(
    path: Path, fmt: str, source: str, work: Path, con: duckdb.DuckDBPyConnection
) -> Staged:
    """Stage ``path``'s samples under ``work`` (a scratch file path): streamed by DuckDB
    when it can vouch for every row, else read by the record parser (whose errors are
    raised). ``fmt`` is resolved as ``import_telemetry`` does."""
    fmt = telemetry_format(path, fmt)
    staged = stage_stream(path, fmt, source, work, con)
    if staged is not None:
        row = con.execute(f"SELECT count(*) FROM ({staged.select})").fetchall()[0]
        if row[0]:
            return staged
    work.unlink(missing_ok=True)
    return stage_records(path, fmt, source, work)


def _with_source(rows: str, source: str, fmt: str) -> str:
    return (
        f"SELECT {lit(source)} AS source, {lit(fmt)} AS format, time, field, host, gpu, "
        f"value::DOUBLE AS value, allocated, seq::BIGINT AS seq FROM ({rows})"
    )


# -- the record parser's samples, for what the stream cannot vouch for ---------------------
def stage_records(path: Path, fmt: str, source: str, work: Path) -> Staged:
    """Parse ``path`` with the record parser (its errors raised) and stage its samples
    in chunks; a sequence is staged from its parsed points."""
    import pyarrow as pa  # type: ignore[import-untyped]
    import pyarrow.parquet as pq  # type: ignore[import-untyped]

    schema = pa.schema(
        [
            ("time", pa.timestamp("us")),
            ("field", pa.string()),
            ("host", pa.string()),
            ("gpu", pa.string()),
            ("value", pa.float64()),
            ("allocated", pa.bool_()),
            ("seq", pa.int64()),
        ]
    )
    with pq.ParquetWriter(work, schema) as writer:
        for chunk in _record_chunks(path, fmt):
            writer.write_table(pa.table(chunk, schema=schema))
    return Staged(fmt, _with_source(f"SELECT * FROM read_parquet({lit(str(work))})", source, fmt))


def _record_chunks(path: Path, fmt: str) -> Iterator[dict[str, list[Any]]]:
    try:
        if fmt == "dcgm":
            found = dcgm.samples(path)
            if not found:
                parse_dcgm(path)  # raises its "no samples" error
            for lo in range(0, len(found), RECORD_CHUNK):
                part = found[lo : lo + RECORD_CHUNK]
                yield {
                    "time": [s.time.astimezone(UTC).replace(tzinfo=None) for s in part],
                    "field": [s.field for s in part],
                    "host": [s.host for s in part],
                    "gpu": [s.gpu for s in part],
                    "value": [s.value for s in part],
                    "allocated": [s.allocated for s in part],
                    "seq": list(range(lo, lo + len(part))),
                }
            return
        series = IMPORTERS[fmt].parse(path)
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text (byte {exc.start} of a line)") from exc
    yield from _series_chunks(series)


def _series_chunks(series: ClusterSeries) -> Iterator[dict[str, list[Any]]]:
    times = series.times.astype("datetime64[us]").tolist()
    for name in ("total", "busy", "pending"):
        values = getattr(series, name).tolist()
        keep = [k for k, v in enumerate(values) if not math.isnan(v)]
        yield {
            "time": [times[k] for k in keep],
            "field": [name] * len(keep),
            "host": [""] * len(keep),
            "gpu": [""] * len(keep),
            "value": [values[k] for k in keep],
            "allocated": [None] * len(keep),
            "seq": keep,
        }
