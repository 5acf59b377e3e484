"""How heavy on-call is: pages per shift, interrupted evenings and nights, MTTA, MTTR,
the share of pages that needed a human, the noisiest alerts, and estimated toil.

Limits checked come from Google's *Site Reliability Engineering* (O'Reilly 2016):
ch. 5 "Eliminating Toil" (keep operational work, toil, under 50% of an SRE's time) and
ch. 11 "Being On-Call" (at most two incidents per 12-hour shift, so each can be handled
thoroughly).

Definitions (docs/process.md):

- shifts are ``shift_hours`` long starting at ``shift_start_hour`` local time; every shift
  from the first page's to the last page's counts, quiet ones too;
- *after hours*: outside ``business_hours`` on weekdays, or any time at weekends;
  *sleep hours*: between ``sleep_hours[0]`` and ``sleep_hours[1]`` local time;
- *MTTA*: acknowledged - created; *MTTR*: resolved - created (means, medians too);
- a page is *actionable* when a person acknowledged it and it was not resolved within
  ``flapping_minutes`` of being created (an alert that clears itself needed nobody);
- *toil* per page: ``interrupt_minutes`` (the cost of a context switch) plus the time
  from acknowledgement (else creation) to resolution, capped at one shift; the toil share
  is the sum over the on-call hours of the shifts observed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from statistics import mean, median
from zoneinfo import ZoneInfo

from fleetwise.models import ProcessEvent

SRE_TOIL_LIMIT = 0.5
SRE_MAX_INCIDENTS_PER_12H_SHIFT = 2


@dataclass(frozen=True)
class OnCallConfig:
    tz: str = "UTC"
    shift_hours: int = 12
    shift_start_hour: int = 8
    business_hours: tuple[int, int] = (9, 18)
    sleep_hours: tuple[int, int] = (22, 7)
    interrupt_minutes: float = 15.0
    flapping_minutes: float = 5.0


@dataclass(frozen=True)
class AlertNoise:
    title: str
    service: str
    pages: int
    actionable_ratio: float
    after_hours: int


@dataclass(frozen=True)
class OnCallReport:
    pages: int
    shifts: int
    pages_per_shift: float | None
    max_pages_per_shift: int
    shifts_over_limit: int
    #: Pages beyond the limit, summed over the overloaded shifts.
    pages_over_limit: float
    #: The SRE limit scaled to the configured shift length.
    max_pages_per_shift_limit: float
    after_hours: int
    sleep_hours: int
    mtta_minutes: float | None
    mtta_median_minutes: float | None
    mttr_minutes: float | None
    mttr_median_minutes: float | None
    actionable_ratio: float | None
    escalated: int
    toil_hours: float
    oncall_hours: float
    toil_share: float | None
    noisiest: list[AlertNoise] = field(default_factory=list)
    #: Pages per year at the observed rate (for the cost of findings).
    pages_per_year: float = 0.0


def _minutes(a: datetime, b: datetime) -> float:
    return (b - a).total_seconds() / 60


def is_actionable(p: ProcessEvent, cfg: OnCallConfig) -> bool:
    if p.acknowledged_at is None:
        return False
    return p.ended_at is None or _minutes(p.time, p.ended_at) >= cfg.flapping_minutes


def _in_hours(hour: int, span: tuple[int, int]) -> bool:
    lo, hi = span
    return lo <= hour < hi if lo <= hi else hour >= lo or hour < hi


def _shift(t: datetime, cfg: OnCallConfig) -> int:
    # Local wall-clock arithmetic: a shift starts at the same local hour across DST.
    local = t.astimezone(ZoneInfo(cfg.tz)).replace(tzinfo=None)
    anchor = datetime(2000, 1, 1, cfg.shift_start_hour)
    return int((local - anchor) // timedelta(hours=cfg.shift_hours))


def _toil_hours(p: ProcessEvent, cfg: OnCallConfig) -> float:
    handling = 0.0
    if p.ended_at is not None:
        handling = _minutes(p.acknowledged_at or p.time, p.ended_at) / 60
    return cfg.interrupt_minutes / 60 + min(max(handling, 0.0), float(cfg.shift_hours))


def _noise(pages: Sequence[ProcessEvent], cfg: OnCallConfig, top: int) -> list[AlertNoise]:
    groups: dict[tuple[str, str], list[ProcessEvent]] = defaultdict(list)
    for p in pages:
        groups[(str(p.payload.get("title") or "(untitled)"), p.service)].append(p)
    found = [
        AlertNoise(
            title=title,
            service=service,
            pages=len(ps),
            actionable_ratio=sum(is_actionable(p, cfg) for p in ps) / len(ps),
            after_hours=sum(_after_hours(p.time, cfg) for p in ps),
        )
        for (title, service), ps in groups.items()
    ]
    found.sort(key=lambda a: (-a.pages, a.actionable_ratio, a.title, a.service))
    return found[:top]


def _after_hours(t: datetime, cfg: OnCallConfig) -> bool:
    local = t.astimezone(ZoneInfo(cfg.tz))
    return local.weekday() >= 5 or not _in_hours(local.hour, cfg.business_hours)


def oncall_report(
    events: Iterable[ProcessEvent], cfg: OnCallConfig = OnCallConfig(), top: int = 5
) -> OnCallReport:
    pages = sorted((e for e in events if e.kind == "page"), key=lambda p: (p.time, p.key))
    limit = SRE_MAX_INCIDENTS_PER_12H_SHIFT * cfg.shift_hours / 12
    if not pages:
        return OnCallReport(
            0, 0, None, 0, 0, 0.0, limit, 0, 0, None, None, None, None, None, 0, 0.0, 0.0, None
        )
    per_shift: dict[int, int] = defaultdict(int)
    for p in pages:
        per_shift[_shift(p.time, cfg)] += 1
    n_shifts = max(per_shift) - min(per_shift) + 1
    tz = ZoneInfo(cfg.tz)
    acks = [_minutes(p.time, p.acknowledged_at) for p in pages if p.acknowledged_at]
    fixes = [_minutes(p.time, p.ended_at) for p in pages if p.ended_at]
    toil = sum(_toil_hours(p, cfg) for p in pages)
    oncall_hours = float(n_shifts * cfg.shift_hours)
    span_h = max((pages[-1].time - pages[0].time).total_seconds() / 3600, cfg.shift_hours)
    return OnCallReport(
        pages=len(pages),
        shifts=n_shifts,
        pages_per_shift=len(pages) / n_shifts,
        max_pages_per_shift=max(per_shift.values()),
        shifts_over_limit=sum(1 for n in per_shift.values() if n > limit),
        pages_over_limit=sum(max(0.0, n - limit) for n in per_shift.values()),
        max_pages_per_shift_limit=limit,
        after_hours=sum(_after_hours(p.time, cfg) for p in pages),
        sleep_hours=sum(_in_hours(p.time.astimezone(tz).hour, cfg.sleep_hours) for p in pages),
        mtta_minutes=mean(acks) if acks else None,
        mtta_median_minutes=float(median(acks)) if acks else None,
        mttr_minutes=mean(fixes) if fixes else None,
        mttr_median_minutes=float(median(fixes)) if fixes else None,
        actionable_ratio=sum(is_actionable(p, cfg) for p in pages) / len(pages),
        escalated=sum(1 for p in pages if int(p.payload.get("escalations") or 0) > 0),
        toil_hours=toil,
        oncall_hours=oncall_hours,
        toil_share=toil / oncall_hours,
        noisiest=_noise(pages, cfg, top),
        pages_per_year=len(pages) / span_h * 365.25 * 24,
    )
