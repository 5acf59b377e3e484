"""Import benchmark history written for Apache Otava: its CSV format and its histostats logs.

CSV (Otava's ``CsvImporter``): a header row, one row per run, a time column (``time`` by
default) and metric columns; other text columns (``commit``...) are attributes carried
along to say what changed around a change point. Otava takes the delimiter and the column
roles from its config file; here the delimiter is sniffed from the header (``,`` ``;`` or
tab) unless given, and a column is a metric when its first non-empty value is a number and
its name is not one of ``ATTRIBUTE_NAMES`` (or when it is listed in ``metrics=``).

Times: epoch seconds, or ``YYYY-MM-DD[ HH:MM[:SS[.ffffff]]][ offset]`` with ``-``, ``.``
or ``/`` between date fields (Otava's samples write ``2024.01.01 3:00:00 +0100``), or any
other ISO 8601 form. A time without an offset is taken as UTC (Otava's ``dateparser``
would take the local zone; UTC keeps results independent of the machine).

Histostats (Otava's ``HistoStatImporter``, the CSV summary logs of HdrHistogram that
nosqlbench writes): ``#[StartTime: <epoch s> ...]`` and a ``#Tag,Interval_Start,...``
comment, then ``Tag=<name>,<start s>,<length s>,<count>,<min>,<p25>,...`` rows. Each tag
and statistic becomes a series ``<tag>.<stat>`` with its own exact times (start time plus
interval start; Otava rounds them to whole seconds and shares one time axis), values kept
in the log's ``TimeUnit`` (Otava only rescales them for display).

Every problem raises ``InputError`` with one line: ``file:line: column 'name': problem``.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from fleetwise.errors import InputError

#: Name under which this importer is known (``--format otava-csv``).
FORMAT = "otava-csv"
#: Text columns that are attributes even when a value looks numeric (a commit "1234567").
ATTRIBUTE_NAMES = frozenset({"commit", "branch", "version", "build", "tag", "sha", "revision"})
#: Otava's histostats columns after Tag, Interval_Start and Interval_Length.
HISTOSTAT_STATS = (
    "count",
    "min",
    *(f"p{q}" for q in (25, 50, 75, 90, 95, 98, 99, 999, 9999)),
    "max",
)
_UNITS = {"NANOSECONDS": "ns", "MICROSECONDS": "us", "MILLISECONDS": "ms", "SECONDS": "s"}
_SNIFF_BYTES = 64 * 1024
_EPOCH = re.compile(r"[+-]?\d+(?:\.\d*)?")
_DATETIME = re.compile(
    r"(\d{4})[-./](\d{1,2})[-./](\d{1,2})"
    r"(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?"
    r"\s*(Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class CsvSeries:
    name: str  # the metric column (``tag.stat`` for histostats)
    times: list[datetime]  # timezone-aware
    values: list[float]
    attributes: dict[str, list[str]]  # non-numeric columns such as commit
    unit: str = field(default="")  # known for histostats only


def parse_time(text: str) -> datetime | None:
    """A timezone-aware time from one of the forms in the module docstring, else None."""
    s = text.strip()
    try:
        if _EPOCH.fullmatch(s):
            return datetime.fromtimestamp(float(s), UTC)
        match = _DATETIME.fullmatch(s)
        if match is None:
            parsed = datetime.fromisoformat(s)
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        y, mo, d, h, mi, sec, frac, zone = match.groups()
        micro = int((frac or "0")[:6].ljust(6, "0"))
        ts = datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(sec or 0), micro)
        return ts.replace(tzinfo=_zone(zone))
    except (ValueError, OverflowError, OSError):
        return None


def _zone(text: str | None) -> timezone:
    if text is None or text.upper() in {"Z", "UTC", "GMT"}:
        return UTC
    digits = text[1:].replace(":", "")
    minutes = int(digits[:2]) * 60 + int(digits[2:4] or 0)
    return timezone(timedelta(minutes=-minutes if text[0] == "-" else minutes))


def sniff(path: Path) -> bool:
    """True when the file looks like Otava CSV (a ``time`` column whose first value is a
    time) or a histostats log; never raises."""
    try:
        with Path(path).open("rb") as fh:
            head = fh.read(_SNIFF_BYTES).decode("utf-8-sig", errors="replace")
    except OSError:
        return False
    lines = [ln for ln in head.splitlines() if ln.strip()]
    if not lines:
        return False
    if lines[0].startswith("#"):
        return any(ln.startswith("Tag=") for ln in lines) and "StartTime" in head
    if len(lines) < 2:
        return False
    sep = _delimiter(lines[0])
    header = [h.strip() for h in lines[0].split(sep)]
    first = lines[1].split(sep)
    if "time" not in header or len(header) < 2 or len(first) != len(header):
        return False
    return parse_time(first[header.index("time")]) is not None


def parse(
    path: Path,
    *,
    delimiter: str | None = None,
    time_column: str = "time",
    metrics: Sequence[str] | None = None,
) -> list[CsvSeries]:
    """Every metric column of an Otava CSV file (or every ``tag.stat`` of a histostats
    log) as a series, in file order. ``metrics`` names the metric columns explicitly."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise InputError(f"{p}: cannot read: {exc.strerror or exc}") from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(f"{p}:{line}: not UTF-8 text") from exc
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    if first.startswith("#"):
        return _histostat(p, text)
    return _csv(p, text, delimiter or _delimiter(first), time_column, metrics)


def _delimiter(header: str) -> str:
    counts = {sep: header.count(sep) for sep in (",", ";", "\t")}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] else ","


def _csv(
    p: Path, text: str, sep: str, time_column: str, metrics: Sequence[str] | None
) -> list[CsvSeries]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    header: list[str] | None = None
    header_line = 1
    rows: list[tuple[int, list[str]]] = []
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue  # blank lines
        if header is None:
            header = [cell.strip() for cell in row]
            header_line = reader.line_num
            continue
        if len(row) != len(header):
            col = header[len(row)] if len(row) < len(header) else f"#{len(header) + 1}"
            raise InputError(
                f"{p}:{reader.line_num}: column {col!r}: "
                f"row has {len(row)} fields, the header has {len(header)}"
            )
        rows.append((reader.line_num, row))
    if header is None:
        raise InputError(f"{p}:1: column {time_column!r}: empty file, expected a header row")
    if time_column not in header:
        raise InputError(
            f"{p}:{header_line}: column {time_column!r}: not in the header "
            f"({', '.join(header)}; delimiter {sep!r})"
        )
    if len(set(header)) != len(header):
        dup = next(h for h in header if header.count(h) > 1)
        raise InputError(f"{p}:{header_line}: column {dup!r}: appears twice in the header")
    if not rows:
        raise InputError(f"{p}:{header_line + 1}: column {time_column!r}: no data rows")
    ti = header.index(time_column)
    roles = _roles(p, header, ti, rows, metrics)
    times: list[datetime] = []
    for line, row in rows:
        ts = parse_time(row[ti])
        if ts is None:
            raise InputError(f"{p}:{line}: column {time_column!r}: not a time: {row[ti]!r}")
        times.append(ts)
    attributes = {header[i]: [row[i].strip() for _, row in rows] for i in roles["attribute"]}
    out = []
    for i in roles["metric"]:
        values = [_number(p, line, header[i], row[i]) for line, row in rows]
        attrs = {k: list(v) for k, v in attributes.items()}
        out.append(CsvSeries(header[i], list(times), values, attrs))
    return out


def _roles(
    p: Path,
    header: list[str],
    ti: int,
    rows: list[tuple[int, list[str]]],
    metrics: Sequence[str] | None,
) -> dict[str, list[int]]:
    if metrics is not None:
        missing = [m for m in metrics if m not in header]
        if missing:
            raise InputError(f"{p}:1: column {missing[0]!r}: not in the header")
        chosen = {header.index(m) for m in metrics}
    else:
        chosen = set()
        for i, name in enumerate(header):
            filled = next((row[i].strip() for _, row in rows if row[i].strip()), "")
            if i != ti and name.lower() not in ATTRIBUTE_NAMES and _is_number(filled):
                chosen.add(i)
    others = [i for i in range(len(header)) if i != ti and i not in chosen]
    return {"metric": sorted(chosen - {ti}), "attribute": others}


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def _number(p: Path, line: int, column: str, text: str) -> float:
    if not text.strip():
        raise InputError(f"{p}:{line}: column {column!r}: empty value")
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"{p}:{line}: column {column!r}: not a number: {text!r}") from None
    if not math.isfinite(value):
        raise InputError(f"{p}:{line}: column {column!r}: not a finite number: {text!r}")
    return value


def _histostat(p: Path, text: str) -> list[CsvSeries]:
    start: float | None = None
    unit, stats = "", list(HISTOSTAT_STATS)
    series: dict[str, tuple[list[datetime], list[float]]] = {}
    for line, raw_line in enumerate(text.splitlines(), start=1):
        ln = raw_line.strip()
        if not ln:
            continue
        if ln.startswith("#"):
            found = re.search(r"StartTime:\s*([0-9.]+)", ln)
            if found:
                start = float(found.group(1))
            unit_found = re.search(r"TimeUnit:\s*(\w+)", ln)
            if unit_found:
                unit = _UNITS.get(unit_found.group(1).upper(), unit_found.group(1).lower())
            if ln.startswith("#Tag,"):
                stats = [c.strip() for c in ln[1:].split(",")[3:]]
            continue
        cells = ln.split(",")
        if not cells[0].startswith("Tag="):
            raise InputError(f"{p}:{line}: column 'Tag': expected 'Tag=<name>', got {cells[0]!r}")
        if start is None:
            raise InputError(f"{p}:{line}: column 'Interval_Start': no StartTime comment before")
        if len(cells) != 3 + len(stats):
            raise InputError(
                f"{p}:{line}: column 'Tag': row has {len(cells)} fields, expected {3 + len(stats)}"
            )
        tag = cells[0][len("Tag=") :]
        at = datetime.fromtimestamp(start + _number(p, line, "Interval_Start", cells[1]), UTC)
        for stat, cell in zip(stats, cells[3:], strict=True):
            times, values = series.setdefault(f"{tag}.{stat}", ([], []))
            times.append(at)
            values.append(_number(p, line, stat, cell))
    if not series:
        raise InputError(f"{p}:1: column 'Tag': no histostats rows")
    return [
        CsvSeries(name, times, values, {}, "" if name.endswith(".count") else unit)
        for name, (times, values) in series.items()
    ]
