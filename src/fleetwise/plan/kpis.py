"""KPIs: readings from the store, baseline, current value, and status against the goal.

A KPI's source is one of:

- ``series:<prefix>[?param=value&...]``: the benchmark series whose id starts with the
  prefix and whose parameters have those values (exactly one; ``fleetwise bench series``
  lists ids); each run's median is a reading.
- ``analysis:<kind>:<dotted.key>``: the number at ``dotted.key`` in the summary of every
  stored analysis of ``kind`` (cluster, process, on-call...); each analysis is a reading.
- ``survey:<construct or item key>[:score|mean|top2|enps]``: that figure of every stored
  survey wave (``fleetwise survey import``; a construct's default is its 0-100 score, an
  item's its mean); each wave is a reading, dated by its last response.

Status (on track / at risk / off track) projects the trend to the goal date: the Theil-Sen
slope (the median of pairwise slopes, robust to one bad run) of the readings since the
baseline, from the current value. Progress = (projected - baseline) / (goal - baseline):

- on track: the current value already meets the goal, or progress >= 1;
- at risk: progress >= ``AT_RISK_PROGRESS`` (the trend gets at least half way), or there is
  no trend yet (one reading since the baseline) and the goal date is ahead;
- off track: anything else, or the goal date has passed without the goal met.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from scipy import stats as sps

from fleetwise.checked import Day, Finite, Moment
from fleetwise.errors import InputError
from fleetwise.models import KPI, AnalysisRecord, Series
from fleetwise.plan import yamlfile
from fleetwise.timeutil import as_utc

Status = Literal["on track", "at risk", "off track"]
SURVEY_METRICS = ("score", "mean", "top2", "enps")
AT_RISK_PROGRESS = 0.5


@dataclass(frozen=True)
class Reading:
    time: datetime
    value: float
    #: The record it comes from: ``result:<id>`` or ``analysis:<id>``.
    ref: str


def _parse_source(source: str) -> tuple[str, str, str]:
    kind, _, rest = source.partition(":")
    if kind == "series" and rest:
        return kind, rest, ""
    if kind == "analysis":
        akind, _, key = rest.partition(":")
        if akind and key:
            return kind, akind, key
    if kind == "survey":
        name, _, metric = rest.partition(":")
        if name and metric in ("", *SURVEY_METRICS):
            return kind, name, metric
    raise InputError(
        f"KPI source {source!r}: expected series:<series id prefix>, "
        "analysis:<kind>:<summary.key> or survey:<construct|item>[:score|mean|top2|enps]"
    )


def check_source(source: str) -> None:
    """InputError unless ``source`` has one of the two shapes."""
    _parse_source(source)


def _dig(doc: Any, dotted: str) -> float | None:
    for part in dotted.split("."):
        if not isinstance(doc, dict) or part not in doc:
            return None
        doc = doc[part]
    is_number = isinstance(doc, int | float) and not isinstance(doc, bool)
    return float(doc) if is_number else None


def matching_series(source: str, series: Sequence[Series]) -> list[Series]:
    _kind, ref, _ = _parse_source(source)
    prefix, _, query = ref.partition("?")
    wanted = dict(part.partition("=")[::2] for part in query.split("&") if part)
    return [
        s
        for s in series
        if s.key.id.startswith(prefix)
        and all(str(s.key.params.get(k)).lower() == v.lower() for k, v in wanted.items())
    ]


def readings(
    kpi: KPI, series: Sequence[Series], analyses: Sequence[AnalysisRecord]
) -> list[Reading]:
    """The KPI's readings, oldest first. InputError when a series prefix is ambiguous."""
    kind, ref, key = _parse_source(kpi.source)
    if kind == "series":
        found = matching_series(kpi.source, series)
        if len(found) > 1:
            ids = ", ".join(s.key.id for s in found[:5])
            raise InputError(f"KPI {kpi.name}: {ref!r} matches {len(found)} series ({ids}...)")
        return [
            Reading(time=p.time, value=p.median, ref=f"result:{p.result_id}")
            for s in found
            for p in s.points
        ]
    if kind == "survey":
        return _survey_readings(ref, key, analyses)
    out = []
    for a in analyses:
        value = _dig(a.summary, key) if a.kind == ref else None
        if value is not None:
            out.append(Reading(time=a.created_at, value=value, ref=f"analysis:{a.id}"))
    return sorted(out, key=lambda r: r.time)


def _survey_readings(name: str, metric: str, analyses: Sequence[AnalysisRecord]) -> list[Reading]:
    """Construct ``name`` (else item ``name``) of each stored survey wave."""
    out = []
    for a in analyses:
        if a.kind != "survey" or not isinstance(a.summary.get("date"), str):
            continue
        for group, default in (("constructs", "score"), ("items", "mean")):
            value = _dig(a.summary, f"{group}.{name}.{metric or default}")
            if value is not None:
                when = datetime.fromisoformat(a.summary["date"])
                out.append(Reading(time=when, value=value, ref=f"analysis:{a.id}"))
                break
    return sorted(out, key=lambda r: r.time)


@dataclass(frozen=True)
class KPIState:
    kpi: KPI
    baseline: float | None
    baseline_date: datetime | None
    current: float | None
    current_date: datetime | None
    projected: float | None
    progress: float | None
    status: Status
    readings: int
    note: str = ""


def _day_end(d: date) -> datetime:
    return datetime.combine(d, time(23, 59, 59), UTC)


def baseline_of(kpi: KPI, found: Sequence[Reading]) -> tuple[float, datetime] | None:
    """The stated baseline, else the last reading at or before ``baseline_date``, else the
    last reading (where the KPI stands when it is set)."""
    if kpi.baseline_value is not None:
        when = as_utc(kpi.baseline_date or kpi.created_at) or datetime.now(UTC)
        return kpi.baseline_value, when
    # A date-only baseline_date in a KPIs file arrives without a zone: it is UTC.
    cutoff = as_utc(kpi.baseline_date)
    upto = [r for r in found if cutoff is None or r.time <= cutoff]
    if not upto:
        return None
    return upto[-1].value, upto[-1].time


#: The shortest span of readings a trend is projected from.
MIN_TREND_DAYS = 1.0


def _meets(kpi: KPI, value: float) -> bool:
    return value >= kpi.goal_value if kpi.direction == "higher" else value <= kpi.goal_value


def kpi_state(kpi: KPI, found: Sequence[Reading], today: date) -> KPIState:
    """Baseline, current value, projection to the goal date, and status."""
    base = baseline_of(kpi, found)
    if base is None or not found:
        return KPIState(kpi, None, None, None, None, None, None, "off track", 0, "no readings")
    b_value, b_date = base
    since = [r for r in found if r.time >= b_date] or [found[-1]]
    cur = since[-1]
    goal_at = _day_end(kpi.goal_date)
    projected: float | None = None
    progress: float | None = None
    note = ""
    days = [(r.time - since[0].time).total_seconds() / 86400 for r in since]
    if len(since) >= 2 and days[-1] < MIN_TREND_DAYS:
        # Readings minutes apart (two runs in one session) give a slope that extrapolated
        # over months means nothing; wait for readings that span a day.
        note = "readings span less than a day: no trend yet"
    elif len(since) >= 2:
        slope = float(sps.theilslopes([r.value for r in since], days)[0])
        ahead = max((goal_at - cur.time).total_seconds() / 86400, 0.0)
        projected = cur.value + slope * ahead
        if kpi.goal_value != b_value:
            progress = (projected - b_value) / (kpi.goal_value - b_value)
    else:
        note = "one reading since the baseline: no trend yet"
    status: Status
    if _meets(kpi, cur.value):
        status = "on track"
    elif datetime.combine(today, time(), UTC) > goal_at:
        status, note = "off track", "goal date passed"
    elif progress is not None:
        status = (
            "on track"
            if progress >= 1
            else "at risk"
            if progress >= AT_RISK_PROGRESS
            else "off track"
        )
    else:
        status = "at risk"
    return KPIState(
        kpi, b_value, b_date, cur.value, cur.time, projected, progress, status, len(found), note
    )


class _KPIEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    description: str = ""
    source: str
    unit: str = ""
    direction: Literal["higher", "lower"] | None = None
    baseline_value: Finite | None = None
    baseline_date: Moment | None = None
    goal_value: Finite
    goal_date: Day


class _KPIFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schema_version: int = 1
    kpis: list[dict[str, Any]] = Field(min_length=1)


def load_kpis(
    path: Path,
    *,
    series: Sequence[Series],
    analyses: Sequence[AnalysisRecord],
    existing: Sequence[str],
) -> list[KPI]:
    """Read and check a KPIs file; bind each to its data (unit, direction and baseline come
    from the series when not stated). Nothing is stored here."""
    doc = yamlfile.read(path, "KPIs")
    parsed = doc.validate(_KPIFile)
    out: list[KPI] = []
    names = set(existing)
    for i, raw in enumerate(parsed.kpis):
        entry = doc.validate(_KPIEntry, raw, ["kpis", i])
        if entry.name in names:
            raise doc.error(["kpis", i, "name"], f"a KPI named {entry.name!r} exists already")
        names.add(entry.name)
        try:
            check_source(entry.source)
        except InputError as exc:
            raise doc.error(["kpis", i, "source"], str(exc)) from exc
        fields = entry.model_dump(exclude_none=True)
        if entry.source.startswith("series:"):
            found = matching_series(entry.source, series)
            if len(found) != 1:
                what = "no series" if not found else f"{len(found)} series"
                raise doc.error(
                    ["kpis", i, "source"],
                    f"{entry.source!r} matches {what}; it must match exactly one "
                    "(fleetwise bench series lists them)",
                )
            fields.setdefault("direction", found[0].key.direction)
            if not entry.unit:
                fields["unit"] = found[0].key.unit
        try:
            kpi = KPI.model_validate(fields)
            found_readings = readings(kpi, series, analyses)
        except InputError as exc:
            raise doc.error(["kpis", i, "source"], str(exc)) from exc
        except ValueError as exc:
            raise doc.error(["kpis", i], str(exc)) from exc
        base = baseline_of(kpi, found_readings)
        if base is None:
            raise doc.error(
                ["kpis", i, "source"],
                "no data yet for this source: state baseline_value, or record data first",
            )
        out.append(kpi.model_copy(update={"baseline_value": base[0], "baseline_date": base[1]}))
    return out
