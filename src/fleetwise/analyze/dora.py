"""DORA's software-delivery metrics from change, deployment and incident events.

Two definitions, both reported where they differ (docs/process.md has the derivation):

``fleetwise`` (the default)
    - *deployment frequency*: deployments per week, and the median number of days per
      ISO week (Monday first) with a deployment, from the first to the last week observed;
    - *lead time for changes*: per change, its first deployment minus its commit time,
      exact; median over changes (a change deployed twice counts once);
    - *change failure rate*: distinct deployments with at least one incident attributed
      to them / deployments (DORA: "the percentage of deployments that cause a failure");
    - *failed deployment recovery time*: median of resolved - created over incidents
      attributed to a deployment (DORA 2024 renamed "time to restore" to this);
    - *rework rate* (DORA 2024's fifth metric, "unplanned deployments to address a
      user-facing bug"): deployments that remediate an incident (the last deployment of
      the incident's service while it was open) / deployments.

``fourkeys`` (dora-team/fourkeys' dashboard queries, ``METRICS.md``)
    - deploy days per week: median over BigQuery weeks (Sunday first) of distinct days
      with a deployment; weeks from the first to the last deployment (as the sample's
      ``metrics.json``; the SQL starts at the first raw event instead);
    - lead time: median over every (deployment, change) pair of
      ``TIMESTAMP_DIFF(deploy, change, MINUTE)`` / 60 (whole minutes, truncated), pairs
      under zero dropped (the SQL's ``> 0`` also drops same-minute pushes; the sample's
      ``metrics.json`` keeps them, and we match the sample);
    - change failure rate: matched (deployment change, incident) pairs / distinct
      deployments - a deployment with two incidents counts twice;
    - time to restore: median over all incidents of whole hours resolved - created;
    - everything limited to three months before the last event.

Incidents are attributed to deployments by root cause first (the deployment that shipped
a root-cause change); an incident without one goes to the latest deployment of the same
service at most ``incident_window`` before it, and stays unattributed otherwise, rather
than blindly to the last deploy. An incident whose named root causes were never deployed
is not a deployment failure and stays unattributed.
"""

from __future__ import annotations

import calendar
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from statistics import median
from typing import Literal
from zoneinfo import ZoneInfo

from fleetwise.models import ProcessEvent

Definition = Literal["fleetwise", "fourkeys"]
HOUR = 3600.0

# DORA performance clusters as published in the 2024 Accelerate State of DevOps Report
# (Google Cloud / DORA, October 2024, "Software delivery performance" table). Change
# failure rate is given per cluster as one value (elite 5%, high 20%, medium 10%, low 40%:
# the 2024 medium cluster fails less often than high); a value takes the nearest cluster.
DORA_BANDS_YEAR = 2024
DORA_BANDS_SOURCE = "DORA, Accelerate State of DevOps Report 2024"
BANDS = ("elite", "high", "medium", "low")
_CFR_CLUSTER = {"elite": 0.05, "high": 0.20, "medium": 0.10, "low": 0.40}


@dataclass(frozen=True)
class DoraConfig:
    definition: Definition = "fleetwise"
    #: An incident without a root-cause change is attributed to a deployment of the same
    #: service at most this long before it (none: left unattributed).
    incident_window: timedelta = timedelta(hours=24)
    #: Days and weeks are counted in this zone (Four Keys: UTC, as BigQuery).
    tz: str = "UTC"


@dataclass(frozen=True)
class DoraMetrics:
    definition: Definition
    deployments: int
    changes_deployed: int
    incidents: int
    weeks: int
    deploys_per_week: float | None
    deploy_days_per_week: float | None
    lead_time_hours: float | None
    change_failure_rate: float | None
    failed_deployments: int
    recovery_time_hours: float | None
    rework_rate: float | None
    bands: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class WeekRow:
    week: date
    deployments: int
    deploy_days: int
    lead_time_hours: float | None
    failed_deployments: int
    change_failure_rate: float | None
    recovery_time_hours: float | None


@dataclass(frozen=True)
class DoraReport:
    overall: DoraMetrics
    #: The other definition on the same events, so both are reported side by side.
    alternative: DoraMetrics
    groups: dict[str, DoraMetrics]
    weeks: list[WeekRow]
    attributed_by_root_cause: int
    attributed_by_window: int
    unattributed: int
    bands_year: int = DORA_BANDS_YEAR
    bands_source: str = DORA_BANDS_SOURCE


@dataclass
class _Data:
    changes: dict[str, datetime]
    deployments: list[ProcessEvent]
    incidents: list[ProcessEvent]


def _split(events: Iterable[ProcessEvent]) -> _Data:
    changes: dict[str, datetime] = {}
    deployments: dict[str, ProcessEvent] = {}
    incidents: dict[str, ProcessEvent] = {}
    for ev in events:
        if ev.kind == "change":
            # The same change seen twice (two exports) keeps its earliest time.
            changes[ev.key] = min(ev.time, changes.get(ev.key, ev.time))
        elif ev.kind == "deployment":
            deployments[ev.key] = ev
        elif ev.kind == "incident":
            incidents[ev.key] = ev
    order = sorted(deployments.values(), key=lambda d: (d.time, d.key))
    return _Data(changes, order, sorted(incidents.values(), key=lambda i: (i.time, i.key)))


def attribute_incidents(
    deployments: Sequence[ProcessEvent], incidents: Sequence[ProcessEvent], window: timedelta
) -> dict[str, tuple[str | None, str]]:
    """incident key -> (deployment key or None, how): ``root-cause``, ``window``,
    ``cause-not-deployed`` (its root-cause changes were never deployed) or ``none``."""
    shipped: dict[str, ProcessEvent] = {}
    for d in sorted(deployments, key=lambda d: (d.time, d.key)):
        for change in d.links:
            shipped.setdefault(change, d)  # the first deployment that shipped it
    out: dict[str, tuple[str | None, str]] = {}
    for inc in incidents:
        causes = sorted({shipped[c].key for c in inc.links if c in shipped})
        if causes:
            out[inc.key] = (causes[0], "root-cause")
            continue
        if inc.links:
            # It names its cause and no deployment shipped it: not a deployment failure.
            out[inc.key] = (None, "cause-not-deployed")
            continue
        candidates = [
            d
            for d in deployments
            if inc.time - window <= d.time <= inc.time
            and (not inc.service or not d.service or d.service == inc.service)
        ]
        latest = max(candidates, key=lambda d: (d.time, d.key), default=None)
        out[inc.key] = (latest.key, "window") if latest else (None, "none")
    return out


def _median(values: Sequence[float]) -> float | None:
    return float(median(values)) if values else None


def _week_start(t: datetime, tz: tzinfo, sunday: bool) -> date:
    day = t.astimezone(tz).date()
    back = (day.weekday() + 1) % 7 if sunday else day.weekday()
    return day - timedelta(days=back)


def _deploy_days(deps: Sequence[ProcessEvent], tz: tzinfo, sunday: bool) -> list[int]:
    """Distinct deploy days in each week from the first to the last deployment's week."""
    days_by_week: dict[date, set[date]] = defaultdict(set)
    for d in deps:
        days_by_week[_week_start(d.time, tz, sunday)].add(d.time.astimezone(tz).date())
    if not days_by_week:
        return []
    first, last = min(days_by_week), max(days_by_week)
    n = (last - first).days // 7 + 1
    return [len(days_by_week.get(first + timedelta(weeks=i), ())) for i in range(n)]


def _fleetwise(data: _Data, cfg: DoraConfig) -> DoraMetrics:
    tz = ZoneInfo(cfg.tz)
    deps = data.deployments
    weeks = _deploy_days(deps, tz, sunday=False)
    first_deploy: dict[str, datetime] = {}
    for d in deps:
        for c in d.links:
            first_deploy.setdefault(c, d.time)
    leads = [
        (first_deploy[c] - t).total_seconds() / HOUR
        for c, t in data.changes.items()
        if c in first_deploy and first_deploy[c] >= t
    ]
    attribution = attribute_incidents(deps, data.incidents, cfg.incident_window)
    failed = {dep for dep, _ in attribution.values() if dep is not None}
    attributed = [i for i in data.incidents if attribution[i.key][0] is not None]
    recovery = [(i.ended_at - i.time).total_seconds() / HOUR for i in attributed if i.ended_at]
    rework = _remediation_deployments(deps, data.incidents)
    n = len(deps)
    return _with_bands(
        DoraMetrics(
            definition="fleetwise",
            deployments=n,
            changes_deployed=len(leads),
            incidents=len(data.incidents),
            weeks=len(weeks),
            deploys_per_week=n / len(weeks) if weeks else None,
            deploy_days_per_week=_median([float(w) for w in weeks]),
            lead_time_hours=_median(leads),
            change_failure_rate=len(failed) / n if n else None,
            failed_deployments=len(failed),
            recovery_time_hours=_median(recovery),
            rework_rate=len(rework) / n if n else None,
        )
    )


def _remediation_deployments(
    deps: Sequence[ProcessEvent], incidents: Sequence[ProcessEvent]
) -> set[str]:
    out: set[str] = set()
    for inc in incidents:
        if inc.ended_at is None:
            continue
        during = [
            d
            for d in deps
            if inc.time <= d.time <= inc.ended_at
            and (not inc.service or not d.service or d.service == inc.service)
        ]
        if during:
            out.add(max(during, key=lambda d: (d.time, d.key)).key)
    return out


def _three_months_before(t: datetime) -> datetime:
    # BigQuery DATE_SUB(CURRENT_DATE(), INTERVAL 3 MONTH): same day three months back,
    # clamped to the month's end, at midnight.
    month, year = t.month - 3, t.year
    if month < 1:
        month, year = month + 12, year - 1
    day = min(t.day, calendar.monthrange(year, month)[1])
    return t.replace(year=year, month=month, day=day, hour=0, minute=0, second=0, microsecond=0)


def _fourkeys(data: _Data) -> DoraMetrics:
    utc = ZoneInfo("UTC")
    times = [t for t in data.changes.values()]
    times += [d.time for d in data.deployments] + [i.time for i in data.incidents]
    if not times:
        return _with_bands(_empty("fourkeys"))
    since = _three_months_before(max(times).astimezone(utc))
    deps = [d for d in data.deployments if d.time > since]
    incidents = [i for i in data.incidents if i.time > since]
    weeks = _deploy_days(deps, utc, sunday=True)
    minutes = [
        math.trunc((d.time - data.changes[c]).total_seconds() / 60)
        for d in deps
        for c in d.links
        if c in data.changes
    ]
    leads = [m / 60 for m in minutes if m >= 0]
    by_change: dict[str, int] = defaultdict(int)
    for inc in incidents:
        for c in set(inc.links):
            by_change[c] += 1
    matched = sum(by_change.get(c, 0) for d in deps for c in set(d.links))
    failed = {d.key for d in deps if any(c in by_change for c in d.links)}
    restore = [
        float(math.trunc((i.ended_at - i.time).total_seconds() / HOUR))
        for i in incidents
        if i.ended_at
    ]
    n = len(deps)
    return _with_bands(
        DoraMetrics(
            definition="fourkeys",
            deployments=n,
            changes_deployed=len(leads),
            incidents=len(incidents),
            weeks=len(weeks),
            deploys_per_week=n / len(weeks) if weeks else None,
            deploy_days_per_week=_median([float(w) for w in weeks]),
            lead_time_hours=_median(leads),
            change_failure_rate=matched / n if n else None,
            failed_deployments=len(failed),
            recovery_time_hours=_median(restore),
            rework_rate=None,
        )
    )


def _empty(definition: Definition) -> DoraMetrics:
    return DoraMetrics(definition, 0, 0, 0, 0, None, None, None, None, 0, None, None)


def band(metric: str, value: float | None) -> str:
    """The DORA 2024 cluster a metric's value falls in ("" when unknown)."""
    if value is None:
        return ""
    if metric == "deploys_per_week":
        # elite: on demand (several a day); high: daily to weekly; medium: weekly to
        # monthly; low: monthly to every six months.
        cuts = [(7.0, "elite"), (1.0, "high"), (12 / 52, "medium")]
        return next((name for cut, name in cuts if value >= cut), "low")
    if metric == "lead_time_hours":
        cuts = [(24.0, "elite"), (24.0 * 7, "high"), (24.0 * 30, "medium")]
        return next((name for cut, name in cuts if value < cut), "low")
    if metric == "recovery_time_hours":
        # elite under an hour; high and medium under a day; low a week to a month.
        cuts = [(1.0, "elite"), (24.0, "high")]
        return next((name for cut, name in cuts if value < cut), "low")
    if metric == "change_failure_rate":
        return min(BANDS, key=lambda b: (abs(_CFR_CLUSTER[b] - value), BANDS.index(b)))
    return ""


def _with_bands(m: DoraMetrics) -> DoraMetrics:
    names = ("deploys_per_week", "lead_time_hours", "change_failure_rate", "recovery_time_hours")
    m.bands.update({k: band(k, getattr(m, k)) for k in names if getattr(m, k) is not None})
    return m


def dora_metrics(events: Iterable[ProcessEvent], cfg: DoraConfig = DoraConfig()) -> DoraMetrics:
    data = _split(events)
    return _fourkeys(data) if cfg.definition == "fourkeys" else _fleetwise(data, cfg)


def _weeks(data: _Data, cfg: DoraConfig) -> list[WeekRow]:
    """Fleetwise's metrics per ISO week, every week from the first event to the last
    (weeks without deployments or incidents are rows of zeros, not gaps)."""
    tz = ZoneInfo(cfg.tz)
    stamps = [d.time for d in data.deployments] + [i.time for i in data.incidents]
    if not stamps:
        return []
    first = _week_start(min(stamps), tz, sunday=False)
    n_weeks = (_week_start(max(stamps), tz, sunday=False) - first).days // 7 + 1
    attribution = attribute_incidents(data.deployments, data.incidents, cfg.incident_window)
    failed = {dep for dep, _ in attribution.values() if dep is not None}
    first_deploy: dict[str, datetime] = {}
    for d in data.deployments:
        for c in d.links:
            first_deploy.setdefault(c, d.time)
    leads: dict[date, list[float]] = defaultdict(list)
    for c, t in data.changes.items():
        if c in first_deploy and first_deploy[c] >= t:
            week = _week_start(first_deploy[c], tz, sunday=False)
            leads[week].append((first_deploy[c] - t).total_seconds() / HOUR)
    deps: dict[date, list[ProcessEvent]] = defaultdict(list)
    for d in data.deployments:
        deps[_week_start(d.time, tz, sunday=False)].append(d)
    restore: dict[date, list[float]] = defaultdict(list)
    for inc in data.incidents:
        if inc.ended_at is not None and attribution[inc.key][0] is not None:
            week = _week_start(inc.time, tz, sunday=False)
            restore[week].append((inc.ended_at - inc.time).total_seconds() / HOUR)
    rows: list[WeekRow] = []
    for i in range(n_weeks):
        week = first + timedelta(weeks=i)
        week_deps = deps.get(week, [])
        n_failed = sum(1 for d in week_deps if d.key in failed)
        rows.append(
            WeekRow(
                week=week,
                deployments=len(week_deps),
                deploy_days=len({d.time.astimezone(tz).date() for d in week_deps}),
                lead_time_hours=_median(leads.get(week, [])),
                failed_deployments=n_failed,
                change_failure_rate=n_failed / len(week_deps) if week_deps else None,
                recovery_time_hours=_median(restore.get(week, [])),
            )
        )
    return rows


def _group_key(ev: ProcessEvent, by: Sequence[str]) -> str:
    return "/".join(getattr(ev, b) or "-" for b in by)


def dora_report(
    events: Iterable[ProcessEvent],
    cfg: DoraConfig = DoraConfig(),
    *,
    team: str | None = None,
    service: str | None = None,
    group_by: Sequence[str] = ("team", "service"),
) -> DoraReport:
    """Both definitions over the selected events, per group and per week."""
    evs = [
        e
        for e in events
        if e.kind == "change"
        or ((team is None or e.team == team) and (service is None or e.service == service))
    ]
    data = _split(evs)
    other: Definition = "fourkeys" if cfg.definition == "fleetwise" else "fleetwise"
    overall = dora_metrics(evs, cfg)
    alternative = dora_metrics(evs, DoraConfig(other, cfg.incident_window, cfg.tz))
    groups: dict[str, DoraMetrics] = {}
    keys = sorted({_group_key(d, group_by) for d in data.deployments})
    if len(keys) > 1:
        for key in keys:
            sub = [e for e in evs if e.kind == "change" or _group_key(e, group_by) == key]
            groups[key] = dora_metrics(sub, cfg)
    how = attribute_incidents(data.deployments, data.incidents, cfg.incident_window)
    count: dict[str, int] = defaultdict(int)
    for _, method in how.values():
        count[method] += 1
    return DoraReport(
        overall=overall,
        alternative=alternative,
        groups=groups,
        weeks=_weeks(data, cfg),
        attributed_by_root_cause=count["root-cause"],
        attributed_by_window=count["window"],
        unattributed=count["none"] + count["cause-not-deployed"],
    )
