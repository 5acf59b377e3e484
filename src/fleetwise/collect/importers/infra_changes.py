"""Import an infrastructure change log (YAML or CSV) as ``infra_change`` events.

Driver, CUDA, NCCL, firmware, kernel and scheduler-configuration rollouts are deployments
of the platform: they fail (an incident, a rollback, a slower benchmark) and are recovered
from like software deployments. The log names each change once::

    infra_changes:
      - id: driver-560-a100          # unique in the file; the event's key
        time: 2026-09-14T10:00:00Z   # when the rollout finished (ISO 8601, or epoch)
        component: driver            # one of COMPONENTS
        from: "550.54.15"            # optional: the version or setting replaced
        to: "560.35.03"
        scope: a100-pool             # fleet | a pool | a host list, e.g. "gpu[01-16]"
        service: gpu-fleet           # incidents of this service are attributed to it
        team: platform               # optional
        rolled_back_at: 2026-09-14T18:30:00Z   # optional: the change was undone
        description: "..."           # optional

or as CSV with those columns (``id, time, component, to`` required). Unknown keys,
unknown components, bad times and duplicate ids are refused with file, row and key.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from fleetwise.collect.importers.incidents import (
    check_order,
    csv_rows,
    head_text,
    optional_when,
    parse_when,
)
from fleetwise.errors import InputError
from fleetwise.models import ProcessEvent
from fleetwise.textfile import read_text

INFRA_CHANGES = "infra-changes"
#: What a platform change can touch (``library`` for the rest of the software stack).
COMPONENTS = (
    "driver",
    "cuda",
    "nccl",
    "firmware",
    "kernel",
    "os",
    "scheduler",
    "framework",
    "library",
    "network",
    "storage",
    "other",
)
_REQUIRED = ("id", "time", "component", "to")
_OPTIONAL = ("from", "scope", "service", "team", "rolled_back_at", "description")
#: The service an incident must name to be attributed to a change that names none.
DEFAULT_SERVICE = "gpu-fleet"


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _event(path: Path, at: str, row: Mapping[str, Any]) -> ProcessEvent:
    unknown = sorted(str(k) for k in row if k not in (*_REQUIRED, *_OPTIONAL))
    if unknown:
        known = ", ".join((*_REQUIRED, *_OPTIONAL))
        raise InputError(f"{path}:{at}: unknown key {unknown[0]!r} (known: {known})")
    for key in _REQUIRED:
        if not _text(row.get(key)):
            raise InputError(f"{path}:{at}: key {key!r}: missing")
    component = _text(row["component"]).lower()
    if component not in COMPONENTS:
        raise InputError(
            f"{path}:{at}: key 'component': {component!r} is not one of {', '.join(COMPONENTS)}"
        )
    when = parse_when(row["time"], f"{path}:{at}: key 'time'")
    back = optional_when(row.get("rolled_back_at"), f"{path}:{at}: key 'rolled_back_at'")
    check_order(when, back, f"{path}:{at}: key 'rolled_back_at'")
    scope = _text(row.get("scope")) or "fleet"
    return ProcessEvent(
        kind="infra_change",
        source=f"infra:{path.name}",
        key=_text(row["id"]),
        time=when,
        ended_at=back,
        team=_text(row.get("team")),
        service=_text(row.get("service")) or DEFAULT_SERVICE,
        group=component,
        status="rolled_back" if back is not None else "",
        payload={
            "component": component,
            "from": _text(row.get("from")),
            "to": _text(row["to"]),
            "scope": scope,
            "description": _text(row.get("description")),
            "origin": "change log",
        },
    )


def _yaml_rows(path: Path, text: str) -> list[tuple[str, Mapping[str, Any]]]:
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f"{mark.line + 1}:{mark.column + 1}" if mark is not None else "1"
        raise InputError(f"{path}:{at}: not YAML: {getattr(exc, 'problem', exc)}") from exc
    if not isinstance(doc, Mapping) or set(doc) != {"infra_changes"}:
        raise InputError(f"{path}: expected one top-level key 'infra_changes' (a list of changes)")
    items = doc["infra_changes"]
    if not isinstance(items, list):
        raise InputError(f"{path}: 'infra_changes' must be a list of changes")
    rows = []
    for i, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise InputError(f"{path}:infra_changes[{i}]: a change must be a mapping")
        rows.append((f"infra_changes[{i}]", item))
    return rows


def parse_infra_changes(path: Path) -> list[ProcessEvent]:
    """Every change of the log, or an ``InputError`` naming the first bad row."""
    text = read_text(path)
    if path.suffix.lower() == ".csv":
        rows: list[tuple[str, Mapping[str, Any]]] = [
            (str(line), {k: v for k, v in row.items() if v not in (None, "")})
            for line, row in csv_rows(path, text, _REQUIRED)
        ]
    else:
        rows = _yaml_rows(path, text)
    events: list[ProcessEvent] = []
    seen: dict[str, str] = {}
    for at, row in rows:
        ev = _event(path, at, row)
        if ev.key in seen:
            raise InputError(f"{path}:{at}: key 'id': {ev.key!r} already used at {seen[ev.key]}")
        seen[ev.key] = at
        events.append(ev)
    return events


def sniff_infra_changes(path: Path) -> bool:
    head = head_text(path)
    if path.suffix.lower() == ".csv":
        first = head.splitlines()[0] if head else ""
        cols = {c.strip() for c in first.split(",")}
        return {"component", "to", "id", "time"} <= cols
    lines = (ln.strip() for ln in head.splitlines())
    first = next((ln for ln in lines if ln and not ln.startswith(("#", "---"))), "")
    return first.startswith("infra_changes:")
