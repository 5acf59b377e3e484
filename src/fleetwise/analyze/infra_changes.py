"""Platform changes as deployments: inferred from run fingerprints, measured like DORA.

Two sources of ``infra_change`` events:

- a change log imported with ``fleetwise process import`` (collect/importers/infra_changes.py);
- the fingerprints of benchmark runs: when a stable field that belongs to the platform
  (driver, CUDA, NCCL, kernel, OS, framework, BLAS) differs between two consecutive runs of
  one host, the platform changed between them. The change is dated at the later run (the
  first evidence of it), with the earlier run's start as the earliest it can have happened.

Each change is then judged like a software deployment (analyze/dora.py's definitions,
docs/process.md): it *failed* if an incident of its service is attributed to it (root cause
naming the change, else the latest change of that service at most ``window`` before the
incident), if it was rolled back (explicitly, or a later change of the same component and
scope returned to the version it replaced), or if a benchmark change point classified as a
regression has it among the changes just before. Recovery time: the median over its
incidents of resolved - created; for a rollback without an incident, rollback - change.

Change points are annotated with the platform changes between the last run before them
and the first run after (:func:`changes_between`).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from statistics import median
from typing import Any

from fleetwise.analyze.dora import attribute_incidents
from fleetwise.collect.fingerprint import flatten
from fleetwise.collect.importers.hostlist import expand_hostlist
from fleetwise.errors import InputError
from fleetwise.models import ProcessEvent

HOUR = 3600.0
#: Fingerprint fields (flattened) that are the platform, and the component each belongs to.
#: GPU index n collapses to one change per host (every GPU gets the same driver).
PLATFORM_FIELDS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^gpus\[\d+\]\.driver$"), "driver"),
    (re.compile(r"^cuda_driver_version$"), "cuda"),
    (re.compile(r"^libraries\.torch_cuda$"), "cuda"),
    (re.compile(r"^libraries\.nccl$"), "nccl"),
    (re.compile(r"^libraries\.cudnn$"), "library"),
    (re.compile(r"^libraries\.torch_blas$"), "library"),
    (re.compile(r"^libraries\.numpy_blas$"), "library"),
    (re.compile(r"^libraries\.torch$"), "framework"),
    (re.compile(r"^os\.kernel$"), "kernel"),
    (re.compile(r"^os\.name$"), "os"),
)
INFERRED_SERVICE = "gpu-fleet"


@dataclass(frozen=True)
class RunSnapshot:
    """What inference needs of a stored run."""

    run_id: int
    host: str
    time: datetime
    fingerprint: Mapping[str, Any]


def _platform(fp: Mapping[str, Any]) -> dict[str, tuple[str, str]]:
    """field name (GPU index collapsed) -> (component, value) of the platform fields."""
    out: dict[str, tuple[str, str]] = {}
    for key, value in flatten(fp).items():
        for pattern, component in PLATFORM_FIELDS:
            if pattern.match(key) and value not in (None, ""):
                out.setdefault(re.sub(r"\[\d+\]", "", key), (component, str(value)))
    return out


def infer_from_runs(runs: Iterable[RunSnapshot]) -> list[ProcessEvent]:
    """One ``infra_change`` per platform field that differs between consecutive runs of a
    host (oldest first); a field that appears or disappears (a GPU host that lost its
    driver) counts as a change too."""
    by_host: dict[str, list[RunSnapshot]] = {}
    for r in runs:
        by_host.setdefault(r.host, []).append(r)
    events: list[ProcessEvent] = []
    for host, seq in sorted(by_host.items()):
        seq.sort(key=lambda r: (r.time, r.run_id))
        for prev, cur in itertools.pairwise(seq):
            a, b = _platform(prev.fingerprint), _platform(cur.fingerprint)
            for name in sorted(set(a) | set(b)):
                old, new = a.get(name), b.get(name)
                if old is not None and new is not None and old[1] == new[1]:
                    continue
                component = (new or old or ("other", ""))[0]
                events.append(
                    ProcessEvent(
                        kind="infra_change",
                        source=f"fingerprints:{host}",
                        key=f"{host}:{name}:run{cur.run_id}",
                        time=cur.time,
                        started_at=prev.time,
                        service=INFERRED_SERVICE,
                        group=component,
                        payload={
                            "component": component,
                            "field": name,
                            "from": old[1] if old else "",
                            "to": new[1] if new else "",
                            "scope": host,
                            "description": f"{name} on {host}, seen between run "
                            f"{prev.run_id} and run {cur.run_id}",
                            "origin": "fingerprints",
                            "runs": [prev.run_id, cur.run_id],
                        },
                    )
                )
    return events


def in_scope(change: ProcessEvent, host: str) -> bool:
    """Does ``change`` apply to ``host``? ``fleet`` applies everywhere; a host list
    (``gpu[01-16]``) to its hosts; any other scope (a pool name) to hosts named so."""
    scope = str(change.payload.get("scope") or "fleet")
    if scope == "fleet" or scope == host:
        return True
    if "[" in scope or "," in scope:
        try:
            return host in expand_hostlist(scope, f"infra change {change.key}")
        except InputError:
            return False
    return False


def changes_between(
    changes: Sequence[ProcessEvent], host: str | None, start: datetime, end: datetime
) -> list[ProcessEvent]:
    """The platform changes in ``(start, end]`` that apply to ``host`` (every change when
    the host is unknown), oldest first: what happened just before a change point."""
    return sorted(
        (c for c in changes if start < c.time <= end and (host is None or in_scope(c, host))),
        key=lambda c: (c.time, c.key),
    )


def label(change: ProcessEvent) -> str:
    """``driver 550.54.15 -> 560.35.03 (a100-pool, 2026-09-14)`` for tables and notes."""
    p = change.payload
    what = f"{p.get('from')} -> {p.get('to')}" if p.get("from") else f"-> {p.get('to')}"
    return (
        f"{p.get('component', change.group)} {what} ({p.get('scope', '')}, {change.time:%Y-%m-%d})"
    )


@dataclass(frozen=True)
class ChangeVerdict:
    key: str
    label: str
    component: str
    time: datetime
    origin: str
    failed: bool
    reasons: tuple[str, ...]
    incidents: tuple[str, ...]
    recovery_hours: float | None


@dataclass(frozen=True)
class ComponentRow:
    component: str
    changes: int
    failed: int
    change_failure_rate: float | None
    recovery_hours: float | None


@dataclass(frozen=True)
class InfraReport:
    changes: int
    weeks: int
    changes_per_week: float | None
    failed: int
    change_failure_rate: float | None
    recovery_hours: float | None
    components: list[ComponentRow]
    verdicts: list[ChangeVerdict]
    window_hours: float
    notes: list[str] = field(default_factory=list)


def _rollbacks(changes: Sequence[ProcessEvent]) -> dict[str, datetime]:
    """change key -> when it was undone: explicitly, or by a later change of the same
    component and scope back to the version it replaced."""
    out = {c.key: c.ended_at for c in changes if c.ended_at is not None}
    ordered = sorted(changes, key=lambda c: (c.time, c.key))
    for i, c in enumerate(ordered):
        if c.key in out or not c.payload.get("from"):
            continue
        for later in ordered[i + 1 :]:
            same = (later.payload.get("component"), later.payload.get("scope")) == (
                c.payload.get("component"),
                c.payload.get("scope"),
            ) and later.payload.get("field") == c.payload.get("field")
            if not same:
                continue
            if later.payload.get("to") == c.payload.get("from"):
                out[c.key] = later.time
            break  # only the next change of the same thing can undo this one
    return {k: v for k, v in out.items() if v is not None}


def _hours(delta: timedelta) -> float:
    return delta.total_seconds() / HOUR


def infra_report(
    changes: Sequence[ProcessEvent],
    incidents: Sequence[ProcessEvent],
    *,
    regressions: Mapping[str, Sequence[str]] | None = None,
    window: timedelta = timedelta(hours=24),
) -> InfraReport:
    """Change failure rate and recovery time of platform changes.

    ``regressions``: change key -> the benchmark series whose regression followed it.
    """
    regressions = regressions or {}
    services = {c.service for c in changes}
    # Only incidents of a platform service compete for platform changes (an incident of a
    # product service belongs to that product's deployments).
    relevant = [i for i in incidents if i.service in services or i.links]
    as_deploys = [c.model_copy(update={"links": [c.key]}) for c in changes]
    attributed = attribute_incidents(as_deploys, relevant, window)
    by_change: dict[str, list[ProcessEvent]] = {}
    for inc in relevant:
        key, _how = attributed[inc.key]
        if key is not None:
            by_change.setdefault(key, []).append(inc)
    rolled = _rollbacks(changes)
    verdicts: list[ChangeVerdict] = []
    for c in sorted(changes, key=lambda c: (c.time, c.key)):
        incs = by_change.get(c.key, [])
        reasons = []
        if incs:
            what = "page" if all(i.kind == "page" for i in incs) else "incident"
            reasons.append(f"{len(incs)} {what}{'s' if len(incs) > 1 else ''}")
        if c.key in rolled:
            reasons.append("rolled back")
        if regressions.get(c.key):
            reasons.append(f"benchmark regression: {', '.join(regressions[c.key])}")
        restores = [_hours(i.ended_at - i.time) for i in incs if i.ended_at is not None]
        recovery = median(restores) if restores else None
        if recovery is None and c.key in rolled:
            recovery = _hours(rolled[c.key] - c.time)
        verdicts.append(
            ChangeVerdict(
                key=c.key,
                label=label(c),
                component=str(c.payload.get("component", c.group)),
                time=c.time,
                origin=str(c.payload.get("origin", "")),
                failed=bool(reasons),
                reasons=tuple(reasons),
                incidents=tuple(i.key for i in incs),
                recovery_hours=recovery,
            )
        )
    return _summarise(verdicts, window)


def _rate(failed: int, total: int) -> float | None:
    return failed / total if total else None


def _summarise(verdicts: list[ChangeVerdict], window: timedelta) -> InfraReport:
    components = []
    for comp in sorted({v.component for v in verdicts}):
        mine = [v for v in verdicts if v.component == comp]
        failed = [v for v in mine if v.failed]
        rec = [v.recovery_hours for v in failed if v.recovery_hours is not None]
        components.append(
            ComponentRow(
                component=comp,
                changes=len(mine),
                failed=len(failed),
                change_failure_rate=_rate(len(failed), len(mine)),
                recovery_hours=median(rec) if rec else None,
            )
        )
    failed = [v for v in verdicts if v.failed]
    rec = [v.recovery_hours for v in failed if v.recovery_hours is not None]
    weeks = 0
    if verdicts:
        span = verdicts[-1].time - verdicts[0].time
        weeks = max(1, -(-span.days // 7))
    notes = []
    unrecovered = [v for v in failed if v.recovery_hours is None]
    if unrecovered:
        notes.append(
            f"{len(unrecovered)} failed change(s) with no recovery time: no resolved incident "
            "and no rollback (a benchmark regression alone does not say when it was fixed)"
        )
    return InfraReport(
        changes=len(verdicts),
        weeks=weeks,
        changes_per_week=len(verdicts) / weeks if weeks else None,
        failed=len(failed),
        change_failure_rate=_rate(len(failed), len(verdicts)),
        recovery_hours=median(rec) if rec else None,
        components=components,
        verdicts=verdicts,
        window_hours=_hours(window),
        notes=notes,
    )


def merge(logged: Sequence[ProcessEvent], inferred: Sequence[ProcessEvent]) -> list[ProcessEvent]:
    """The change log wins: an inferred change of the same component to the same version
    that a logged change applies to (same host in scope, logged before it) is dropped."""
    out = list(logged)
    for inf in inferred:
        host = str(inf.payload.get("scope"))
        dup = any(
            c.payload.get("component") == inf.payload.get("component")
            and str(c.payload.get("to")) == str(inf.payload.get("to"))
            and in_scope(c, host)
            and c.time <= inf.time
            for c in logged
        )
        if not dup:
            out.append(inf)
    return sorted(out, key=lambda c: (c.time, c.key))
