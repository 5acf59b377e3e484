"""Import pages from PagerDuty and Opsgenie exports (CSV or JSON) as ``page`` events.

Field names are the vendors' own; each record field is looked up under every name an
export is known to use, first match wins:

- PagerDuty REST ``GET /incidents`` (``{"incidents": [...]}``): ``created_at``,
  ``acknowledgements[].at`` (first), ``resolved_at`` or, for a resolved incident,
  ``last_status_change_at``; ``urgency``; ``service.summary``; ``assignments[].assignee
  .summary``; ``title``. PagerDuty Analytics raw incidents (``{"data": [...]}`` or its CSV):
  ``created_at``, ``seconds_to_first_ack``, ``seconds_to_resolve`` or ``resolved_at``,
  ``urgency``, ``service_name``, ``team_name``, ``escalation_count``, ``assigned_user_names``.
- Opsgenie Alert API (``{"data": [...]}``) or its CSV export: ``createdAt``,
  ``acknowledgedAt`` or ``createdAt`` + ``report.ackTime`` (milliseconds),
  ``closedAt`` or ``createdAt`` + ``report.closeTime`` (milliseconds), ``priority``
  (P1-P5), ``tags``, ``owner``, ``message``, ``alias``, ``teams``, ``escalations``.

A DevLake raw-table dump (CSV with the API's JSON in a ``data`` column) is read through
that JSON; DevLake's own columns (its ``created_at`` is when it collected the row) are not
the incident's. Opsgenie Incident API records (no ``closedAt``) end at ``impactEndDate``,
else at ``updatedAt`` once ``resolved`` or ``closed``.

Times without an offset are taken as UTC. The helpers at the top (reading, times,
errors naming file, row and column) are shared with ``pipeline.py``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fleetwise.errors import InputError
from fleetwise.models import ProcessEvent
from fleetwise.textfile import read_text

Row = Mapping[str, Any]
_SNIFF_BYTES = 64 * 1024


# -- shared helpers ------------------------------------------------------------------------
def head_text(path: Path) -> str:
    """The first bytes of a file for sniffing; empty when it cannot be read."""
    try:
        with path.open("rb") as fh:
            return fh.read(_SNIFF_BYTES).decode("utf-8-sig", errors="replace")
    except OSError:
        return ""


def csv_rows(path: Path, text: str, required: Iterable[str] = ()) -> list[tuple[int, Row]]:
    """Rows of a CSV file with their line numbers; the header must name ``required``."""
    # newline="": the csv module handles line ends itself (quoted fields may hold them).
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        header = [h.strip() for h in reader.fieldnames or []]
    except csv.Error as exc:
        raise InputError(f"{path}:1: malformed CSV header: {exc}") from exc
    if not header:
        raise InputError(f"{path}:1: empty file, expected a CSV header")
    reader.fieldnames = header
    missing = [c for c in required if c not in header]
    if missing:
        raise InputError(f"{path}:1: missing column(s) {', '.join(map(repr, missing))}")
    rows: list[tuple[int, Row]] = []
    try:
        for row in reader:
            if None in row:
                raise InputError(f"{path}:{reader.line_num}: more fields than the header names")
            if any((v or "").strip() for v in row.values()):
                rows.append((reader.line_num, row))
    except csv.Error as exc:
        raise InputError(f"{path}:{reader.line_num}: malformed CSV: {exc}") from exc
    return rows


def json_doc(path: Path, text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}:{exc.lineno}: column {exc.colno}: not JSON: {exc.msg}") from exc


def where(path: Path, row: int | str, column: str) -> str:
    """``file:row: column 'x'`` for messages; JSON rows are ``items[3]``."""
    return f"{path}:{row}: column {column!r}"


def parse_when(value: Any, place: str) -> datetime:
    """A timezone-aware time from ISO 8601 text (``Z``/offset, or UTC when naive) or epoch
    seconds/milliseconds; ``place`` names file, row and column in the error."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = value / 1000 if value > 1e11 else value
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (ValueError, OverflowError, OSError) as exc:
            raise InputError(f"{place}: not a time: {value!r}") from exc
    text = str(value or "").strip()
    if not text:
        raise InputError(f"{place}: missing time")
    try:
        if text.replace(".", "", 1).isdigit():
            return parse_when(float(text), place)
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except (ValueError, OverflowError, OSError) as exc:
        raise InputError(f"{place}: not a time: {text!r}") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def optional_when(value: Any, place: str) -> datetime | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return parse_when(value, place)


def pick(row: Row, *names: str) -> tuple[str, Any]:
    """The first of ``names`` present and non-empty in ``row`` (dotted names go into
    nested objects) as ``(name, value)``; ``(names[0], None)`` when none is."""
    for name in names:
        value: Any = row.get(name)  # a flat CSV column may be named "report.ackTime"
        if value is None:
            value = row
            for part in name.split("."):
                value = value.get(part) if isinstance(value, Mapping) else None
        if value not in (None, "", [], {}):
            return name, value
    return names[0], None


def as_number(value: Any, place: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{place}: not a number: {value!r}") from exc


def check_order(start: datetime, end: datetime | None, place: str) -> None:
    if end is not None and end < start:
        raise InputError(f"{place}: {end.isoformat()} is before {start.isoformat()}")


# -- PagerDuty -----------------------------------------------------------------------------
PAGERDUTY = "pagerduty"
OPSGENIE = "opsgenie"


def _raw_dump(
    path: Path, keys: tuple[str, ...], what: str, marks: tuple[str, ...]
) -> list[tuple[int | str, Row]] | None:
    """The records of a DevLake raw-table dump (API JSON in a ``data`` column), None when
    ``path`` is no such dump. Its ``created_at`` column is DevLake's collection time and
    is never read as the incident's. A record without any of ``marks`` is some other
    table's (a service, a user) and is refused rather than read as an incident."""
    from fleetwise.collect.importers import api_export  # it builds on the helpers above

    if not api_export.is_raw_dump(path):
        return None
    items = api_export.api_items(path, keys, what)
    for at, row in items:
        if not any(m in row for m in marks):
            raise InputError(f"{path}:{at}: column 'data': not {what} (no {' or '.join(marks)})")
    return [(at, row) for at, row in items]


def _pd_items(path: Path, text: str) -> list[tuple[int | str, Row]]:
    raw = _raw_dump(
        path, ("incidents", "data"), "a PagerDuty incident", ("incident_number", "urgency")
    )
    if raw is not None:
        return raw
    if path.suffix.lower() == ".csv" or not text.lstrip().startswith(("{", "[")):
        return [(n, r) for n, r in csv_rows(path, text, ["created_at"])]
    doc = json_doc(path, text)
    for key in ("incidents", "data"):
        if isinstance(doc, dict) and isinstance(doc.get(key), list):
            return [(f"{key}[{i}]", r) for i, r in enumerate(doc[key]) if isinstance(r, dict)]
    if isinstance(doc, list):
        return [(f"[{i}]", r) for i, r in enumerate(doc) if isinstance(r, dict)]
    raise InputError(f"{path}: expected a PagerDuty export with an 'incidents' or 'data' list")


def pagerduty_page(path: Path, at: int | str, row: Row) -> ProcessEvent:
    col, created_raw = pick(row, "created_at", "created_on")
    created = parse_when(created_raw, where(path, at, col))
    ack = _pd_ack(path, at, row, created)
    resolved = _pd_resolved(path, at, row, created)
    check_order(created, ack, where(path, at, "acknowledged"))
    check_order(created, resolved, where(path, at, "resolved"))
    key = pick(row, "id", "incident_number")[1]
    urgency = str(pick(row, "urgency", "priority.summary", "priority_name")[1] or "")
    esc_col, esc = pick(row, "escalation_count", "escalations", "num_escalations")
    assignee = pick(row, "assigned_user_names", "assigned_to", "assignee")[1]
    if assignee is None and isinstance(row.get("assignments"), list):
        names = [pick(a, "assignee.summary")[1] for a in row["assignments"]]
        assignee = ", ".join(str(n) for n in names if n)
    return ProcessEvent(
        kind="page",
        source=f"{PAGERDUTY}:{path.name}",
        key=str(key if key is not None else at),
        time=created,
        acknowledged_at=ack,
        ended_at=resolved,
        team=str(pick(row, "team_name", "team")[1] or _first_summary(row, "teams")),
        service=str(pick(row, "service.summary", "service_name", "service")[1] or ""),
        status=urgency.lower(),
        payload={
            "title": str(pick(row, "title", "description", "summary")[1] or ""),
            "escalations": int(as_number(esc, where(path, at, esc_col))) if esc else 0,
            "assignee": str(assignee or ""),
        },
    )


def _first_summary(row: Row, key: str) -> str:
    items = row.get(key)
    if isinstance(items, list) and items and isinstance(items[0], Mapping):
        return str(items[0].get("summary", ""))
    return ""


def _pd_ack(path: Path, at: int | str, row: Row, created: datetime) -> datetime | None:
    acks = row.get("acknowledgements")
    if isinstance(acks, list) and acks:
        times = [parse_when(a.get("at"), where(path, at, "acknowledgements.at")) for a in acks]
        return min(times)
    col, value = pick(row, "acknowledged_at", "acknowledged_on", "first_ack_at")
    if value is not None:
        return parse_when(value, where(path, at, col))
    col, seconds = pick(row, "seconds_to_first_ack")
    if seconds is not None:
        return created + timedelta(seconds=as_number(seconds, where(path, at, col)))
    return None


def _pd_resolved(path: Path, at: int | str, row: Row, created: datetime) -> datetime | None:
    col, value = pick(row, "resolved_at", "resolved_on")
    if value is not None:
        return parse_when(value, where(path, at, col))
    col, seconds = pick(row, "seconds_to_resolve")
    if seconds is not None:
        return created + timedelta(seconds=as_number(seconds, where(path, at, col)))
    if str(row.get("status", "")) == "resolved":
        col, value = pick(row, "last_status_change_at")
        return optional_when(value, where(path, at, col))
    return None


def parse_pagerduty(path: Path) -> list[ProcessEvent]:
    """Every incident of a PagerDuty export as a ``page`` event."""
    text = read_text(path)
    return [pagerduty_page(path, at, row) for at, row in _pd_items(path, text)]


def sniff_pagerduty(path: Path) -> bool:
    head = head_text(path)  # a raw dump's doubled quotes do not matter to bare words
    quoted = head.replace('""', '"')
    # The key and the entry type, quoted: an incident's own ``first_trigger_log_entry``
    # (whose ``self`` URL holds ``/log_entries/``) does not match.
    if '"log_entries"' in quoted or '"trigger_log_entry"' in quoted:
        return False  # incidents with their log entries: format pagerduty-log-entries
    return "urgency" in head and ("incident_number" in head or "escalation_count" in head)


# -- Opsgenie ------------------------------------------------------------------------------
def _og_items(path: Path, text: str) -> list[tuple[int | str, Row]]:
    raw = _raw_dump(path, ("data",), "an Opsgenie alert", ("tinyId", "alias", "priority"))
    if raw is not None:
        return raw
    if path.suffix.lower() == ".csv" or not text.lstrip().startswith(("{", "[")):
        return [(n, r) for n, r in csv_rows(path, text, ["createdAt"])]
    doc = json_doc(path, text)
    items = doc.get("data") if isinstance(doc, dict) else doc
    if not isinstance(items, list):
        raise InputError(f"{path}: expected an Opsgenie export with a 'data' list of alerts")
    return [(f"data[{i}]", r) for i, r in enumerate(items) if isinstance(r, dict)]


def _og_offset(
    path: Path, at: int | str, row: Row, created: datetime, absolute: str, report: str
) -> datetime | None:
    col, value = pick(row, absolute)
    if value is not None:
        return parse_when(value, where(path, at, col))
    # report.ackTime and report.closeTime are milliseconds after createdAt.
    col, millis = pick(row, report, report.replace(".", "_"), report.split(".")[-1])
    if millis is None:
        return None
    return created + timedelta(milliseconds=as_number(millis, where(path, at, col)))


def _og_page(path: Path, at: int | str, row: Row) -> ProcessEvent:
    created = parse_when(row.get("createdAt"), where(path, at, "createdAt"))
    ack = _og_offset(path, at, row, created, "acknowledgedAt", "report.ackTime")
    closed = _og_offset(path, at, row, created, "closedAt", "report.closeTime")
    if closed is None and str(row.get("status") or "").lower() in {"resolved", "closed"}:
        # The Incident API has no closedAt: its end is impactEndDate, else the update
        # that resolved it (as opsgenie-incidents reads it).
        col, value = pick(row, "impactEndDate", "updatedAt")
        closed = optional_when(value, where(path, at, col))
    check_order(created, ack, where(path, at, "acknowledgedAt"))
    check_order(created, closed, where(path, at, "closedAt"))
    priority = str(row.get("priority") or "P3").upper()
    if priority not in {"P1", "P2", "P3", "P4", "P5"}:
        raise InputError(f"{where(path, at, 'priority')}: expected P1-P5, got {priority!r}")
    tags = row.get("tags") or []
    if isinstance(tags, str):
        tags = [t.strip() for t in tags.replace(";", ",").split(",") if t.strip()]
    esc_col, esc = pick(row, "escalations", "escalationCount")
    service = pick(row, "service", "details.service", "entity")[1]
    return ProcessEvent(
        kind="page",
        source=f"{OPSGENIE}:{path.name}",
        key=str(pick(row, "id", "tinyId", "alias")[1] or at),
        time=created,
        acknowledged_at=ack,
        ended_at=closed,
        team=str(pick(row, "team")[1] or _first_name(row)),
        service=str(service or ""),
        status=priority,
        payload={
            "title": str(pick(row, "message", "alias")[1] or ""),
            "escalations": int(as_number(esc, where(path, at, esc_col))) if esc else 0,
            "assignee": str(pick(row, "owner", "report.acknowledgedBy")[1] or ""),
            "tags": [str(t) for t in tags],
        },
    )


def _first_name(row: Row) -> str:
    teams = row.get("teams")
    if isinstance(teams, list) and teams and isinstance(teams[0], Mapping):
        return str(teams[0].get("name", teams[0].get("id", "")))
    return ""


def parse_opsgenie(path: Path) -> list[ProcessEvent]:
    """Every alert of an Opsgenie export as a ``page`` event."""
    text = read_text(path)
    return [_og_page(path, at, row) for at, row in _og_items(path, text)]


def sniff_opsgenie(path: Path) -> bool:
    head = head_text(path)
    if "impactedServices" in head:
        return False  # the Incident API: format opsgenie-incidents
    return "createdAt" in head and ("tinyId" in head or "priority" in head)


#: format name -> (sniff, parse); ``pipeline.py`` adds the delivery formats.
PAGE_FORMATS: dict[str, tuple[Callable[[Path], bool], Callable[[Path], list[ProcessEvent]]]] = {
    PAGERDUTY: (sniff_pagerduty, parse_pagerduty),
    OPSGENIE: (sniff_opsgenie, parse_opsgenie),
}
