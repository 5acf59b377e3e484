"""The capacity outlook a report shows: demand history cut where the job log stops telling
demand, a forecast that reaches past the report's date, and how old the data is."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import numpy.typing as npt

from fleetwise.errors import InputError
from fleetwise.models import JobRecord
from fleetwise.plan.capacity import (
    FloatArray,
    Forecast,
    daily_gpu_hours,
    daily_gpu_hours_sql,
    forecast_daily,
)
from fleetwise.store import Store

IntArray = npt.NDArray[np.int64]
#: Days past the report's date the outlook reaches.
OUTLOOK_DAYS = 30
#: Demand data older than this is not forecast from: a year-long extrapolation of a
#: daily model says nothing (import recent data instead).
MAX_AGE_DAYS = 180


@dataclass
class Outlook:
    forecast: Forecast
    #: The last day of demand history used, and how many days before the report it is.
    data_until: date
    age_days: int
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Demand:
    """GPU-hours per day of the stored jobs, and what cuts the history (see below)."""

    jobs: int
    days: list[str]
    hours: FloatArray
    last_submit: date | None


def stored_demand(store: Store) -> Demand:
    """The daily GPU-hours of every stored job, as queries over the columnar store."""
    with store.jobs_data().connect() as con:
        row = con.execute(
            "SELECT count(*), max(submit_time) FILTER (WHERE gpus > 0) FROM jobs"
        ).fetchall()[0]
        count, last = (int(row[0]), row[1]) if row else (0, None)
        if not count:
            return Demand(0, [], np.zeros(0), None)
        days, hours = daily_gpu_hours_sql(con)
    return Demand(count, days, hours, last.date() if last is not None else None)


def stored_job_sizes(store: Store) -> tuple[IntArray, FloatArray]:
    """GPUs and run seconds of every finished GPU job stored, in the store's order (the
    trace a sizing replays), as one query."""
    with store.jobs_data().connect() as con:
        cols = con.sql(
            "SELECT gpus::BIGINT AS gpus, epoch(end_time - start_time) AS run FROM jobs "
            "WHERE gpus > 0 AND start_time IS NOT NULL AND end_time IS NOT NULL "
            "ORDER BY submit_time, batch, seq"
        ).fetchnumpy()
    if not len(cols["gpus"]):
        raise InputError("no finished GPU jobs stored; pass --sizes duration_s,num_gpus CSV")
    return (
        np.asarray(cols["gpus"], dtype=np.int64),
        np.asarray(cols["run"], dtype=np.float64),
    )


def complete_days(jobs: list[JobRecord]) -> tuple[list[str], list[float], str]:
    """Daily GPU-hours up to the day before the log's last submission: after it the log
    records only running jobs winding down (an import that stops mid-trace, a sample of
    the first N jobs), which is not demand; that day itself is partial. Returns the days,
    the values and a note saying what was left out (empty when nothing was)."""
    days, hours = daily_gpu_hours(jobs)
    return _complete(days, hours, max(j.submit_time for j in jobs if j.gpus > 0).date())


def _complete(
    days: list[str], hours: FloatArray, last_submit: date
) -> tuple[list[str], list[float], str]:
    keep = [n for n, d in enumerate(days) if date.fromisoformat(d) < last_submit]
    if not keep:
        raise InputError("the job log spans less than one complete day of submissions")
    cut = len(days) - len(keep)
    note = (
        f"the job log's last submission is on {last_submit}: that day and the {cut - 1} "
        "after it (jobs winding down, no new demand recorded) are left out of the fit"
        if cut > 0
        else ""
    )
    return [days[n] for n in keep], [float(hours[n]) for n in keep], note


def outlook(jobs: list[JobRecord], today: date, days_ahead: int = OUTLOOK_DAYS) -> Outlook:
    """Forecast demand from the complete history to ``days_ahead`` days after ``today``."""
    return _outlook(*complete_days(jobs), today, days_ahead)


def stored_outlook(demand: Demand, today: date, days_ahead: int = OUTLOOK_DAYS) -> Outlook:
    """:func:`outlook` of :func:`stored_demand` (no job record read)."""
    if demand.last_submit is None:
        raise InputError("no finished GPU jobs to count GPU-hours from")
    return _outlook(*_complete(demand.days, demand.hours, demand.last_submit), today, days_ahead)


def _outlook(
    days: list[str], values: list[float], note: str, today: date, days_ahead: int
) -> Outlook:
    until = date.fromisoformat(days[-1])
    age = (today - until).days
    if age > MAX_AGE_DAYS:
        raise InputError(
            f"demand data ends on {until}, {age:,} days before {today}: too old to forecast "
            f"from (more than {MAX_AGE_DAYS} days); import recent jobs "
            "(fleetwise cluster import FILE, with --epoch for relative times)"
        )
    horizon = max(age, 0) + days_ahead
    f = forecast_daily(days, values, horizon=horizon)
    notes = [note] if note else []
    if age > 0:
        notes.append(
            f"demand data ends on {until}, {age} days before {today}: the forecast covers "
            f"those days too, so its last day is {days_ahead} days after {today}"
        )
    return Outlook(f, until, age, notes)
