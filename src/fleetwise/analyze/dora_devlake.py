"""DORA as Apache DevLake computes it, per DevLake project, from imported DevLake events.

The third definition beside ``fleetwise`` and ``fourkeys`` (``analyze/dora.py``). It
follows DevLake's DORA dashboard (``grafana/dashboards/DORA.json``, the 2023 report) and
its ``dora`` plugin (``backend/plugins/dora/tasks``), over a selected time range
``[since, until]`` (Grafana's ``$__timeFilter``: both ends included):

- *deployment frequency*: the days from ``until`` back to (not including) ``since``, at
  most 400, grouped into Monday weeks and calendar months (partial ones included); a
  deployment's day is the UTC date of its last finish; the median number of deployment
  days per week and per month. Elite when the weekly median is at least 5, high at least
  1, medium when the monthly median is at least 1, low otherwise.
- *lead time for changes*: the median PR cycle time (minutes) of the PRs whose deployment
  commit finished in the range. A PR's cycle time is coding (first commit authored to PR
  created) + created to merged + deploy (merged to its deployment commit's finish), each
  in minutes rounded up and left out when negative. Beside it, as DevLake's "DORA Details
  - Lead Time for Changes" dashboard: the average cycle, coding, pickup (created to first
  review), review (first review to merged) and deploy times in hours over the same PRs, a
  missing stage counted as 0.
- *change failure rate*: deployments finished in the range with at least one incident
  linked to them / deployments finished in the range.
- *failed deployment recovery time*: the median over incidents linked to a deployment in
  the range and resolved in the range of whole minutes (truncated) from the deployment's
  finish to the incident's resolution. The 2021 report's *time to restore* (median of the
  incidents' ``lead_time_minutes``, resolved in the range) is given too.

Every median is DevLake's: ``max(x) WHERE percent_rank() <= 0.5``, the lower middle value.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime

from fleetwise.models import ProcessEvent

DEVLAKE_SOURCE = "devlake:"
#: How far DevLake's day generator reaches back (H+T+U: 0..399 days).
MAX_DAYS = 400
DEFAULT_MONTHS = 6  # the dashboard's default range, "Last 6 months"
STAGES = ("coding", "pickup", "review", "deploy")


@dataclass(frozen=True)
class DevLakeDora:
    project: str
    deployments: int
    deployment_days_per_week: int | None
    deployment_days_per_month: int | None
    prs_deployed: int
    lead_time_minutes: int | None
    #: DevLake's "DORA Details - Lead Time for Changes": the average PR cycle time and its
    #: stages in hours over the same PRs, a missing stage counted as 0.
    average_hours: dict[str, float | None]
    failed_deployments: int
    change_failure_rate: float | None
    recovered_incidents: int
    recovery_time_minutes: int | None
    time_to_restore_minutes: int | None
    lead_time_hours: float | None
    recovery_time_hours: float | None
    bands: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DevLakeDoraReport:
    since: datetime
    until: datetime
    projects: dict[str, DevLakeDora]
    definition: str = "devlake"
    report_year: int = 2023


def lower_median(values: Sequence[int]) -> int | None:
    """DevLake's median: the largest value whose ``percent_rank`` is at most 0.5."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[(len(ordered) - 1) // 2]


def _micros(delta: timedelta) -> int:
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def span_minutes(start: datetime | None, end: datetime | None) -> int | None:
    """``computeTimeSpan``: whole minutes rounded up, None when missing or negative."""
    if start is None or end is None:
        return None
    minutes = -(-_micros(end - start) // 60_000_000)
    return minutes if minutes >= 0 else None


def diff_minutes(start: datetime, end: datetime) -> int:
    """MySQL ``TIMESTAMPDIFF(MINUTE, start, end)``: whole minutes, truncated toward zero."""
    us = _micros(end - start)
    return us // 60_000_000 if us >= 0 else -((-us) // 60_000_000)


def _when(value: object) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def cycle_stages(change: ProcessEvent) -> dict[str, int | None]:
    """A PR's stages and cycle time in minutes, from an imported DevLake change."""
    p = change.payload
    first, created = _when(p.get("first_commit")), _when(p.get("created"))
    review = _when(p.get("first_review"))
    merged, deployed = _when(p.get("merged")), _when(p.get("deployed"))
    stages = {
        "coding": span_minutes(first, created),
        "pickup": span_minutes(created, review),
        "review": span_minutes(review, merged),
        "deploy": span_minutes(merged, deployed),
    }
    during = span_minutes(created, merged)
    parts = (stages["coding"], during, stages["deploy"])
    stages["cycle"] = sum(v for v in parts if v is not None)
    return stages


def _months_back(t: datetime, months: int) -> datetime:
    month, year = t.month - months, t.year
    while month < 1:
        month, year = month + 12, year - 1
    return t.replace(year=year, month=month, day=min(t.day, calendar.monthrange(year, month)[1]))


def default_window(events: Iterable[ProcessEvent]) -> tuple[datetime, datetime] | None:
    """The dashboard's default "last 6 months", ending at the last event (not now, so
    that the same store gives the same figures tomorrow)."""
    times = [e.ended_at or e.time for e in events if e.kind in ("deployment", "incident")]
    if not times:
        return None
    until = max(times)
    return _months_back(until, DEFAULT_MONTHS), until


def calendar_days(since: datetime, until: datetime) -> list[date]:
    """DevLake's ``last_few_calendar_months``: ``DATE(until - n days)`` for n = 0..399
    while ``until - n days`` is after ``since``."""
    out = []
    for n in range(MAX_DAYS):
        t = until - timedelta(days=n)
        if t > since:
            out.append(t.date())
    return out


def _deploy_days(days: list[date], deploy_dates: set[date]) -> tuple[list[int], list[int]]:
    weeks: dict[date, set[date]] = defaultdict(set)
    months: dict[date, set[date]] = defaultdict(set)
    for d in days:
        week, month = d - timedelta(days=d.weekday()), d.replace(day=1)
        weeks.setdefault(week, set())
        months.setdefault(month, set())
        if d in deploy_dates:
            weeks[week].add(d)
            months[month].add(d)
    return [len(v) for v in weeks.values()], [len(v) for v in months.values()]


def _frequency_band(per_week: int | None, per_month: int | None) -> str:
    if per_week is None or per_month is None:
        return ""
    if per_week >= 5:
        return "elite"
    if per_week >= 1:
        return "high"
    return "medium" if per_month >= 1 else "low"


def _band(value: float | None, cuts: Sequence[tuple[float, str]], above: str) -> str:
    if value is None:
        return ""
    return next((name for cut, name in cuts if value < cut), above)


def _project(
    project: str, evs: list[ProcessEvent], since: datetime, until: datetime
) -> DevLakeDora:
    def inside(t: datetime | None) -> bool:
        return t is not None and since <= t <= until

    deps = [e for e in evs if e.kind == "deployment"]
    incidents = [e for e in evs if e.kind == "incident"]
    per_week_all, per_month_all = _deploy_days(
        calendar_days(since, until), {d.time.date() for d in deps}
    )
    per_week, per_month = lower_median(per_week_all), lower_median(per_month_all)
    in_range = {d.key: d for d in deps if inside(d.time)}
    caused = {str(i.payload.get("deployment") or "") for i in incidents}
    failed = [k for k in in_range if k in caused]
    prs = [
        cycle_stages(c)
        for c in evs
        if c.kind == "change" and inside(_when(c.payload.get("deployed")))
    ]
    recover = [
        diff_minutes(in_range[str(i.payload["deployment"])].time, i.ended_at)
        for i in incidents
        if i.ended_at is not None
        and inside(i.ended_at)
        and str(i.payload.get("deployment") or "") in in_range
    ]
    restore = [
        int(i.payload["lead_time_minutes"])
        for i in incidents
        if inside(i.ended_at) and i.payload.get("lead_time_minutes") is not None
    ]
    lead = lower_median([int(p["cycle"] or 0) for p in prs])
    cfr = len(failed) / len(in_range) if in_range else None
    recovery = lower_median(recover)
    bands = {
        "deployment_frequency": _frequency_band(per_week, per_month),
        "lead_time": _band(
            lead, ((24 * 60, "elite"), (7 * 24 * 60, "high"), (30 * 24 * 60, "medium")), "low"
        ),
        "change_failure_rate": ""
        if cfr is None
        else next(
            (n for c, n in ((0.05, "elite"), (0.10, "high"), (0.15, "medium")) if cfr <= c), "low"
        ),
        "recovery_time": _band(
            recovery, ((60, "elite"), (24 * 60, "high"), (7 * 24 * 60, "medium")), "low"
        ),
    }
    return DevLakeDora(
        project=project,
        deployments=len(in_range),
        deployment_days_per_week=per_week,
        deployment_days_per_month=per_month,
        prs_deployed=len(prs),
        lead_time_minutes=lead,
        average_hours={
            s: sum(p[s] or 0 for p in prs) / len(prs) / 60 if prs else None
            for s in (*STAGES, "cycle")
        },
        failed_deployments=len(failed),
        change_failure_rate=cfr,
        recovered_incidents=len(recover),
        recovery_time_minutes=recovery,
        time_to_restore_minutes=lower_median(restore),
        lead_time_hours=None if lead is None else lead / 60,
        recovery_time_hours=None if recovery is None else recovery / 60,
        bands={k: v for k, v in bands.items() if v},
    )


def devlake_dora(
    events: Iterable[ProcessEvent],
    *,
    project: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> DevLakeDoraReport | None:
    """DevLake's DORA per project over ``[since, until]`` (by default the six months up
    to the last deployment or incident); None when no DevLake events are stored."""
    evs = [
        e
        for e in events
        if e.source.startswith(DEVLAKE_SOURCE)
        and e.kind in ("change", "deployment", "incident")
        and (project is None or e.team == project)
    ]
    window = default_window(evs)
    if window is None and (since is None or until is None):
        return None
    lo = since if since is not None else window[0] if window else None
    hi = until if until is not None else window[1] if window else None
    assert lo is not None and hi is not None
    by_project: dict[str, list[ProcessEvent]] = defaultdict(list)
    for e in evs:
        by_project[e.team].append(e)
    return DevLakeDoraReport(
        since=lo,
        until=hi,
        projects={p: _project(p, by_project[p], lo, hi) for p in sorted(by_project)},
    )


def day_start(d: date) -> datetime:
    """A ``--since`` date as the dashboard's range start: that day's first instant, UTC."""
    return datetime.combine(d, dtime.min, tzinfo=UTC)


def day_end(d: date) -> datetime:
    """A ``--until`` date as the range end: that day's last millisecond, UTC (Grafana's
    ``now/d`` rounding)."""
    return datetime.combine(d, dtime(23, 59, 59, 999000), tzinfo=UTC)
