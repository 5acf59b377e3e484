"""Sustainment: a done action's KPIs stay under watch after closure.

For each done action and each KPI its effects name:

- *closure* is the action's ``end`` day (``fleetwise plan update ID --status done --end
  DAY``); a done action without one cannot be watched and says so;
- *before* is the KPI's baseline (where it stood when the initiative set it);
- the gain is *measured* by the first reading after the closure day: gain = measured -
  before, counted only when it moves the KPI its better way (``direction``);
- each later reading keeps a share of the gain, ``(value - before) / (measured - before)``.
  The *guard band* is the share that must be kept (``1 - guard``, by default half the
  gain); a latest reading below it is *eroding*;
- a change point among the readings since the measured one (e-divisive means,
  ``analyze.changepoints``) whose later segment is worse than the earlier one is eroding
  too, whatever the latest reading says;
- at 30, 60 and 90 days after closure the first reading on or after that day says
  *held* (kept at least the guard band) or *eroding*; before that day the checkpoint is
  *not yet due*, after it with no reading *no reading*.

An eroding gain becomes a finding ``process.gain_eroding`` linked to the action (its
evidence names ``action:<id>``); the owners of actions whose gains were measured are
credited (recognition), whatever happened since.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal, cast

from fleetwise.analyze.changepoints import detect
from fleetwise.models import (
    KPI,
    Action,
    ActionStatus,
    Evidence,
    Finding,
    FindingLayer,
    Severity,
)
from fleetwise.plan.kpis import Reading, baseline_of

#: Share of a measured gain a KPI may give back before it counts as eroding.
DEFAULT_GUARD = 0.5
#: Days after closure at which a gain is checked (the 30/60/90-day review).
CHECKPOINT_DAYS = (30, 60, 90)
FINDING_KIND = "process.gain_eroding"

Verdict = Literal["held", "eroding", "not measured", "no gain", "no closure date"]
Checkpoint = Literal["held", "eroding", "not yet due", "no reading"]


@dataclass(frozen=True)
class CheckpointState:
    days: int
    due: date
    state: Checkpoint
    value: float | None = None
    kept: float | None = None
    ref: str = ""


@dataclass(frozen=True)
class GainWatch:
    """One (done action, KPI) pair under watch."""

    action: Action
    kpi: KPI
    closed: date | None
    verdict: Verdict
    before: float | None = None
    measured: float | None = None
    measured_ref: str = ""
    latest: float | None = None
    latest_ref: str = ""
    #: Share of the gain the latest reading keeps (1 = all of it).
    kept: float | None = None
    change_point_at: datetime | None = None
    checkpoints: list[CheckpointState] = field(default_factory=list)
    note: str = ""

    @property
    def gain(self) -> float | None:
        if self.measured is None or self.before is None:
            return None
        return self.measured - self.before


@dataclass(frozen=True)
class Recognition:
    owner: str
    actions: list[Action]
    kpis: list[str]


@dataclass(frozen=True)
class SustainReport:
    guard: float
    today: date
    watches: list[GainWatch]
    recognition: list[Recognition]
    findings: list[Finding]


def _better(kpi: KPI, delta: float) -> bool:
    return delta > 0 if kpi.direction == "higher" else delta < 0


def _kept(value: float, before: float, measured: float) -> float:
    return (value - before) / (measured - before)


def _checkpoint(
    days: int,
    closed: date,
    today: date,
    after: Sequence[Reading],
    before: float,
    m: float,
    g: float,
) -> CheckpointState:
    due = closed + timedelta(days=days)
    at = datetime.combine(due, time(), UTC)
    found = next((r for r in after if r.time >= at), None)
    if found is None:
        return CheckpointState(days, due, "not yet due" if today < due else "no reading")
    kept = _kept(found.value, before, m)
    state: Checkpoint = "held" if kept >= 1 - g else "eroding"
    return CheckpointState(days, due, state, found.value, kept, found.ref)


def watch_gain(
    action: Action, kpi: KPI, found: Sequence[Reading], today: date, guard: float = DEFAULT_GUARD
) -> GainWatch:
    """The gain of ``action`` on ``kpi`` from its readings (oldest first), as of ``today``."""
    if action.end is None:
        return GainWatch(
            action, kpi, None, "no closure date", note="set it: plan update ID --end DAY"
        )
    closed = action.end
    base = baseline_of(kpi, found)
    after = [r for r in found if r.time > datetime.combine(closed, time(23, 59, 59), UTC)]
    if base is None or not after:
        return GainWatch(
            action,
            kpi,
            closed,
            "not measured",
            before=base[0] if base else None,
            note="no reading after closure yet",
        )
    before, first = base[0], after[0]
    if not _better(kpi, first.value - before):
        return GainWatch(
            action,
            kpi,
            closed,
            "no gain",
            before=before,
            measured=first.value,
            measured_ref=first.ref,
            note=f"the KPI did not move its better way ({kpi.direction})",
        )
    last = after[-1]
    kept = _kept(last.value, before, first.value)
    worse_at: datetime | None = None
    values = [r.value for r in after]
    for cp in detect(values):
        if _better(kpi, cp.mean_before - cp.mean_after):
            worse_at = after[cp.index].time
            break
    verdict: Verdict = "eroding" if kept < 1 - guard or worse_at is not None else "held"
    return GainWatch(
        action,
        kpi,
        closed,
        verdict,
        before=before,
        measured=first.value,
        measured_ref=first.ref,
        latest=last.value,
        latest_ref=last.ref,
        kept=kept,
        change_point_at=worse_at,
        checkpoints=[
            _checkpoint(d, closed, today, after, before, first.value, guard)
            for d in CHECKPOINT_DAYS
        ],
    )


_LAYERS = {"compute", "storage", "orchestration", "network", "delivery", "on-call"}


def eroding_finding(w: GainWatch, guard: float) -> Finding:
    """The finding of an eroding gain, linked to its action."""
    a = w.action
    layer = a.finding_kind.split(".", 1)[0].replace("oncall", "on-call")
    why = (
        f"a change point at {w.change_point_at:%Y-%m-%d} made it worse"
        if w.change_point_at is not None
        else f"the latest reading keeps {w.kept:.0%} of the gain (guard band {1 - guard:.0%})"
    )
    source = f"action:{a.id}"
    return Finding(
        kind=FINDING_KIND,
        layer=cast(FindingLayer, layer if layer in _LAYERS else "delivery"),
        title=f"Gain eroding: #{a.id} {a.title} on {w.kpi.name}",
        detail=f"closed {w.closed}; {why}",
        severity=Severity.MEDIUM,
        evidence=[
            Evidence(label="action", value=f"#{a.id}", source=source),
            Evidence(label="before", value=w.before or 0.0, unit=w.kpi.unit, source=source),
            Evidence(
                label="measured after closure",
                value=w.measured or 0.0,
                unit=w.kpi.unit,
                source=w.measured_ref,
            ),
            Evidence(label="latest", value=w.latest or 0.0, unit=w.kpi.unit, source=w.latest_ref),
            Evidence(label="share of the gain kept", value=round(w.kept or 0.0, 3), source=source),
        ],
        recommendations=[
            f"Ask {a.owner or 'the owner'} to check the change is still in place; add a "
            "control (alert, test, checklist) that keeps it",
        ],
    )


def sustain_report(
    actions: Sequence[Action],
    kpis: Sequence[KPI],
    readings: Mapping[str, Sequence[Reading]],
    today: date,
    guard: float = DEFAULT_GUARD,
) -> SustainReport:
    """Every done action's KPIs under watch, the owners to credit and the eroding gains."""
    by_name = {k.name: k for k in kpis}
    watches: list[GainWatch] = []
    for a in sorted(actions, key=lambda a: a.id or 0):
        if a.status is not ActionStatus.DONE:
            continue
        for eff in a.effects:
            kpi = by_name.get(eff.kpi)
            if kpi is not None:
                watches.append(watch_gain(a, kpi, readings.get(kpi.name, []), today, guard))
    credited: dict[str, Recognition] = {}
    for w in watches:
        if w.verdict in ("held", "eroding"):
            owner = w.action.owner or "(no owner)"
            rec = credited.setdefault(owner, Recognition(owner, [], []))
            if w.action not in rec.actions:
                rec.actions.append(w.action)
            rec.kpis.append(w.kpi.name)
    findings = [eroding_finding(w, guard) for w in watches if w.verdict == "eroding"]
    return SustainReport(
        guard, today, watches, sorted(credited.values(), key=lambda r: r.owner), findings
    )
