"""Incidents from Jira and Opsgenie, and PagerDuty's log entries.

- **Jira** search results (``GET /rest/api/2/search``, ``/rest/api/3/search`` or
  ``/rest/api/3/search/jql``: ``{"issues": [...]}``, paged): each issue is an ``incident``
  created at ``fields.created`` and resolved at ``fields.resolutiondate``; service = its
  first component (``fields.components[0].name``), status = ``fields.priority.name``.
  Which issues are incidents is chosen by issue type (``fields.issuetype.name``) with
  ``process import --incident-type`` (default ``Incident``), applied by ``delivery_rules``.
- **Opsgenie Incident API** (``GET /v1/incidents``: ``{"data": [...]}``, paged): each
  incident is an ``incident`` created at ``createdAt`` (``impactStartDate`` kept in the
  payload); resolved at ``impactEndDate``, else - for ``status`` ``resolved`` or ``closed``
  - at ``updatedAt`` (the API has no resolution time of its own); service = the first of
  ``impactedServices``; status = ``priority``.
- **PagerDuty log entries** (``GET /log_entries``: ``{"log_entries": [...]}``, paged):
  entries are grouped by ``incident.id`` into one ``page`` each: created at its
  ``trigger_log_entry``, acknowledged at the first ``acknowledge_log_entry`` (by whom:
  ``agent.summary``), resolved at the last ``resolve_log_entry``; ``escalate_log_entry``
  entries counted. An incident whose trigger is not in the export (it started before the
  export's window) is left out rather than dated at a later entry. ``GET /incidents`` pages
  in the same file are read as the ``pagerduty`` format reads them, with the acknowledgement
  and resolution their log entries add (the REST incident lists only *current*
  acknowledgements: none once it is resolved, which loses MTTA); one page per incident.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from fleetwise.collect.importers.api_export import api_items, sniff_text, text_of
from fleetwise.collect.importers.incidents import (
    Row,
    check_order,
    optional_when,
    pagerduty_page,
    parse_when,
    where,
)
from fleetwise.errors import InputError
from fleetwise.models import ProcessEvent

JIRA = "jira"
OPSGENIE_INCIDENTS = "opsgenie-incidents"
PAGERDUTY_LOG_ENTRIES = "pagerduty-log-entries"


def _names(row: Row, key: str) -> list[str]:
    items = row.get(key)
    if not isinstance(items, list):
        return []
    return [text_of(i, "name") if isinstance(i, dict) else str(i) for i in items]


def parse_jira(path: Path) -> list[ProcessEvent]:
    """Every issue of a Jira search export as an ``incident`` (filtered by type later)."""
    events: list[ProcessEvent] = []
    for at, issue in api_items(path, ("issues",), "Jira search results with 'issues'"):
        fields = issue.get("fields")
        key = str(issue.get("key") or "").strip()
        if not isinstance(fields, dict) or not key:
            raise InputError(f"{path}:{at}: not a Jira issue (no 'key' and 'fields')")
        created = parse_when(fields.get("created"), where(path, at, "fields.created"))
        resolved = optional_when(
            fields.get("resolutiondate"), where(path, at, "fields.resolutiondate")
        )
        check_order(created, resolved, where(path, at, "fields.resolutiondate"))
        components = [c for c in _names(fields, "components") if c]
        events.append(
            ProcessEvent(
                kind="incident",
                source=f"{JIRA}:{path.name}",
                key=key,
                time=created,
                ended_at=resolved,
                service=components[0] if components else "",
                status=text_of(fields, "priority.name"),
                payload={
                    "issue_type": text_of(fields, "issuetype.name"),
                    "title": str(fields.get("summary") or ""),
                    "state": text_of(fields, "status.name"),
                    "project": text_of(fields, "project.key"),
                    "components": components,
                    "labels": [str(x) for x in fields.get("labels") or [] if x],
                },
            )
        )
    return events


def sniff_jira(path: Path) -> bool:
    head = sniff_text(path)
    return '"issuetype"' in head and '"fields"' in head


def parse_opsgenie_incidents(path: Path) -> list[ProcessEvent]:
    """Every incident of an Opsgenie Incident API export as an ``incident``."""
    events: list[ProcessEvent] = []
    for at, inc in api_items(path, ("data",), "Opsgenie Incident API JSON with 'data'"):
        created = parse_when(inc.get("createdAt"), where(path, at, "createdAt"))
        ended = resolved_at(path, at, inc)
        check_order(created, ended, where(path, at, "impactEndDate"))
        impact = optional_when(inc.get("impactStartDate"), where(path, at, "impactStartDate"))
        services = [s for s in _names(inc, "impactedServices") if s]
        events.append(
            ProcessEvent(
                kind="incident",
                source=f"{OPSGENIE_INCIDENTS}:{path.name}",
                key=text_of(inc, "id", "tinyId") or at,
                time=created,
                ended_at=ended,
                team=text_of(inc, "ownerTeam"),
                service=services[0] if services else "",
                status=text_of(inc, "priority").upper(),
                payload={
                    "title": str(inc.get("message") or ""),
                    "state": str(inc.get("status") or ""),
                    "impact_start": impact.isoformat() if impact else "",
                    "tags": [str(t) for t in inc.get("tags") or []],
                },
            )
        )
    return events


def resolved_at(path: Path, at: int | str, row: Row) -> datetime | None:
    """An Opsgenie incident's end: ``impactEndDate``, else ``updatedAt`` once resolved."""
    end = optional_when(row.get("impactEndDate"), where(path, at, "impactEndDate"))
    if end is None and str(row.get("status") or "").lower() in {"resolved", "closed"}:
        end = optional_when(row.get("updatedAt"), where(path, at, "updatedAt"))
    return end


def sniff_opsgenie_incidents(path: Path) -> bool:
    head = sniff_text(path)
    return '"createdAt"' in head and '"impactedServices"' in head


_ENTRY_TYPES = {"trigger", "acknowledge", "resolve", "escalate"}


def _is_log_entry(item: Row) -> bool:
    return str(item.get("type") or "").endswith("_log_entry")


def parse_pagerduty_log_entries(path: Path) -> list[ProcessEvent]:
    """PagerDuty log entries grouped into one ``page`` per incident; incidents in the same
    file (``GET /incidents`` pages) get their acknowledgement and resolution from them."""
    items = api_items(path, ("log_entries", "incidents"), "PagerDuty log entries JSON")
    by_incident: dict[str, list[tuple[datetime, str, Row]]] = {}
    incidents: list[tuple[str, Row]] = []
    for at, entry in items:
        if not _is_log_entry(entry):
            if "incident_number" not in entry:
                raise InputError(f"{path}:{at}: neither a log entry nor an incident")
            incidents.append((at, entry))
            continue
        kind = str(entry.get("type")).removesuffix("_log_entry")
        incident = text_of(entry, "incident.id")
        if not incident:
            raise InputError(f"{where(path, at, 'incident.id')}: a log entry names its incident")
        when = parse_when(entry.get("created_at"), where(path, at, "created_at"))
        if kind in _ENTRY_TYPES:
            by_incident.setdefault(incident, []).append((when, kind, entry))
    for entries in by_incident.values():
        entries.sort(key=lambda e: e[0])
    events = [_completed(path, at, row, by_incident) for at, row in incidents]
    listed = {e.key for e in events}
    for incident, entries in by_incident.items():
        if incident not in listed:
            page = _from_entries(path, incident, entries)
            if page is not None:
                events.append(page)
    return events


def _completed(
    path: Path, at: str, row: Row, by_incident: dict[str, list[tuple[datetime, str, Row]]]
) -> ProcessEvent:
    """An incident's page with what its log entries add: the REST incident keeps only
    current acknowledgements (none once resolved), its log keeps them all."""
    page = pagerduty_page(path, at, row)
    entries = by_incident.get(page.key, [])
    acks = [e for e in entries if e[1] == "acknowledge"]
    resolves = [e for e in entries if e[1] == "resolve"]
    payload = dict(page.payload)
    escalations = sum(1 for e in entries if e[1] == "escalate")
    payload["escalations"] = max(int(payload.get("escalations") or 0), escalations)
    update: dict[str, object] = {"source": f"{PAGERDUTY_LOG_ENTRIES}:{path.name}"}
    if page.acknowledged_at is None and acks:
        update["acknowledged_at"] = acks[0][0]
        payload["assignee"] = payload.get("assignee") or text_of(acks[0][2], "agent.summary")
    if page.ended_at is None and resolves:
        update["ended_at"] = resolves[-1][0]
    for field in ("acknowledged_at", "ended_at"):
        when = update.get(field)
        if isinstance(when, datetime):
            check_order(page.time, when, f"{path}:{at}: log entry of {page.key}")
    return page.model_copy(update={**update, "payload": payload})


def _from_entries(
    path: Path, incident: str, entries: list[tuple[datetime, str, Row]]
) -> ProcessEvent | None:
    triggers = [e for e in entries if e[1] == "trigger"]
    if not triggers:
        return None  # it started before the export's window: no creation time
    created, _, first = triggers[0]
    acks = [e for e in entries if e[1] == "acknowledge"]
    resolves = [e for e in entries if e[1] == "resolve"]
    return ProcessEvent(
        kind="page",
        source=f"{PAGERDUTY_LOG_ENTRIES}:{path.name}",
        key=incident,
        time=created,
        acknowledged_at=acks[0][0] if acks else None,
        ended_at=resolves[-1][0] if resolves else None,
        service=text_of(first, "service.summary"),
        team=_first_team(first),
        payload={
            "title": text_of(first, "incident.summary", "summary"),
            "escalations": sum(1 for e in entries if e[1] == "escalate"),
            "assignee": text_of(acks[0][2], "agent.summary") if acks else "",
        },
    )


def _first_team(entry: Row) -> str:
    teams = entry.get("teams")
    if isinstance(teams, list) and teams and isinstance(teams[0], dict):
        return str(teams[0].get("summary") or "")
    return ""


def sniff_pagerduty_log_entries(path: Path) -> bool:
    head = sniff_text(path)
    # '"trigger_log_entry"' with both quotes: an incident's ``first_trigger_log_entry`` key
    # and its ``trigger_log_entry_reference`` type do not match.
    kinds = ('"trigger_log_entry"', '"acknowledge_log_entry"', '"resolve_log_entry"')
    return '"log_entries"' in head or any(k in head for k in kinds)
