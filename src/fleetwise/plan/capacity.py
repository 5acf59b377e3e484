"""Demand forecast: GPU-hours (or busy GPUs) per day, with intervals and a backtest.

Models (statsforecast): AutoETS, AutoTheta and seasonal naive, weekly season. The model is
chosen by a rolling-origin backtest on the last ``folds x fold_days`` days: each fold fits
on everything before it and forecasts ``fold_days`` ahead; the backtest reports the mean
absolute error and how many held-back days fell inside the 80% and 95% intervals
(coverage: a calibrated 95% interval covers about 95% of them). The chosen model is then
refit on the whole history. Scenarios scale the forecast by a yearly growth rate and by the
efficiency gains of the plan's actions: ``demand * (1 + growth) ** (t / 365) * (1 - gain)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
import numpy as np
import numpy.typing as npt

from fleetwise.errors import InputError, MissingDependencyError
from fleetwise.models import JobRecord

FloatArray = npt.NDArray[np.float64]
MODELS = ("AutoETS", "AutoTheta", "SeasonalNaive")
LEVELS = (80, 95)


@dataclass(frozen=True)
class Backtest:
    model: str
    folds: int
    points: int
    mae: float
    coverage_80: float
    coverage_95: float


@dataclass(frozen=True)
class Forecast:
    unit: str
    model: str  # the one chosen by backtest MAE
    history_days: list[str]
    history: list[float]
    days: list[str]
    mean: list[float]
    lo_80: list[float]
    hi_80: list[float]
    lo_95: list[float]
    hi_95: list[float]
    backtests: list[Backtest]


@dataclass(frozen=True)
class Scenario:
    name: str
    growth_per_year: float
    efficiency_gain: float
    #: Demand on the forecast's last day under this scenario (mean, 95% upper bound).
    last_mean: float
    last_hi_95: float


def daily_gpu_hours(jobs: Sequence[JobRecord]) -> tuple[list[str], FloatArray]:
    """GPU-hours run per UTC day (each job split over the days it ran)."""
    ran = [j for j in jobs if j.gpus > 0 and j.start_time is not None and j.end_time is not None]
    if not ran:
        raise InputError("no finished GPU jobs to count GPU-hours from")
    first = min(j.start_time for j in ran if j.start_time).date()
    last = max(j.end_time for j in ran if j.end_time).date()
    n_days = (last - first).days + 1
    hours = np.zeros(n_days)
    origin = datetime(first.year, first.month, first.day, tzinfo=UTC)
    for j in ran:
        assert j.start_time is not None and j.end_time is not None
        a = (j.start_time - origin).total_seconds() / 3600
        b = (j.end_time - origin).total_seconds() / 3600
        if b <= a:
            continue
        for day in range(int(a // 24), min(int(b // 24), n_days - 1) + 1):
            overlap = min(b, 24 * (day + 1)) - max(a, 24 * day)
            if overlap > 0:
                hours[day] += j.gpus * overlap
    days = [(first + timedelta(days=k)).isoformat() for k in range(n_days)]
    return days, hours


#: GPU-hours per day of the log, each finished GPU job split over the days it ran.
_DAILY = """
WITH r AS (SELECT gpus, start_time, end_time FROM jobs
           WHERE gpus > 0 AND start_time IS NOT NULL AND end_time IS NOT NULL),
o AS (SELECT date_trunc('day', min(start_time)) AS origin,
             datediff('day', min(start_time)::DATE, max(end_time)::DATE) + 1 AS n FROM r),
h AS (SELECT gpus, epoch(start_time - origin) / 3600 AS a, epoch(end_time - origin) / 3600 AS b,
             n FROM r, o),
d AS (SELECT gpus, a, b, unnest(range(floor(a / 24)::BIGINT,
                                      least(floor(b / 24)::BIGINT, n - 1) + 1)) AS day
      FROM h WHERE b > a)
SELECT day, sum(gpus * (least(b, 24 * (day + 1)) - greatest(a, 24 * day)))
FROM d WHERE least(b, 24 * (day + 1)) - greatest(a, 24 * day) > 0 GROUP BY day
"""


def daily_gpu_hours_sql(con: duckdb.DuckDBPyConnection) -> tuple[list[str], FloatArray]:
    """:func:`daily_gpu_hours` as one query over the ``jobs`` view of ``con`` (the
    columnar store): no record per job."""
    row: Any = con.execute(
        "SELECT min(start_time)::DATE, datediff('day', min(start_time)::DATE, "
        "max(end_time)::DATE) + 1 FROM jobs WHERE gpus > 0 AND start_time IS NOT NULL "
        "AND end_time IS NOT NULL"
    ).fetchall()[0]
    if row is None or row[0] is None:
        raise InputError("no finished GPU jobs to count GPU-hours from")
    first, n_days = row[0], int(row[1])
    hours = np.zeros(n_days)
    for day, value in con.execute(_DAILY).fetchall():
        hours[int(day)] = float(value)
    days = [(first + timedelta(days=k)).isoformat() for k in range(n_days)]
    return days, hours


def _models(season: int) -> dict[str, Any]:
    try:
        from statsforecast.models import AutoETS, AutoTheta, SeasonalNaive
    except ImportError as exc:
        raise MissingDependencyError("statsforecast", "forecast") from exc
    return {
        "AutoETS": AutoETS(season_length=season),
        "AutoTheta": AutoTheta(season_length=season),
        "SeasonalNaive": SeasonalNaive(season_length=season),
    }


def _predict(model: Any, y: FloatArray, h: int) -> dict[str, FloatArray]:
    out = model.forecast(y=y, h=h, level=list(LEVELS))
    return {k: np.asarray(v, dtype=np.float64) for k, v in out.items()}


def backtest(
    y: FloatArray, model_name: str, season: int = 7, folds: int = 3, fold_days: int = 7
) -> Backtest:
    """Rolling-origin backtest of one model over the last ``folds * fold_days`` points."""
    errors: list[float] = []
    inside_80 = inside_95 = 0
    for k in range(folds, 0, -1):
        cut = len(y) - k * fold_days
        model = _models(season)[model_name]
        p = _predict(model, y[:cut], fold_days)
        actual = y[cut : cut + fold_days]
        errors.extend(np.abs(actual - p["mean"]).tolist())
        inside_80 += int(np.sum((actual >= p["lo-80"]) & (actual <= p["hi-80"])))
        inside_95 += int(np.sum((actual >= p["lo-95"]) & (actual <= p["hi-95"])))
    n = len(errors)
    return Backtest(model_name, folds, n, float(np.mean(errors)), inside_80 / n, inside_95 / n)


def forecast_daily(
    days: Sequence[str],
    values: npt.ArrayLike,
    unit: str = "GPU-hours/day",
    horizon: int = 30,
    season: int = 7,
    folds: int = 3,
    fold_days: int = 7,
) -> Forecast:
    """Backtest every model, keep the one with the lowest MAE, forecast ``horizon`` days."""
    y = np.asarray(values, dtype=np.float64)
    if len(y) != len(days):
        raise InputError("forecast: as many days as values are needed")
    needed = folds * fold_days + 2 * season
    if len(y) < needed:
        raise InputError(
            f"forecast: {len(y)} days of history; the backtest needs at least {needed}"
        )
    if horizon < 1:
        raise InputError(f"forecast horizon must be >= 1 day, got {horizon}")
    tests = [backtest(y, name, season, folds, fold_days) for name in MODELS]
    best = min(tests, key=lambda b: b.mae)
    p = _predict(_models(season)[best.model], y, horizon)
    last = datetime.fromisoformat(days[-1]).date()
    future = [(last + timedelta(days=k)).isoformat() for k in range(1, horizon + 1)]

    def clip(a: FloatArray) -> list[float]:
        return [max(float(x), 0.0) for x in a]  # demand is never negative

    return Forecast(
        unit=unit,
        model=best.model,
        history_days=list(days),
        history=[float(x) for x in y],
        days=future,
        mean=clip(p["mean"]),
        lo_80=clip(p["lo-80"]),
        hi_80=clip(p["hi-80"]),
        lo_95=clip(p["lo-95"]),
        hi_95=clip(p["hi-95"]),
        backtests=tests,
    )


def scenarios(f: Forecast, cases: Sequence[tuple[str, float, float]] = ()) -> list[Scenario]:
    """Each ``(name, growth per year, efficiency gain)`` applied to the forecast's last day.

    The horizon counts from the last day of history, so growth compounds over the days
    forecast; the baseline (no growth, no gain) is always first.
    """
    horizon_years = len(f.days) / 365
    out = []
    for name, growth, gain in [("baseline", 0.0, 0.0), *cases]:
        if growth <= -1 or not 0 <= gain < 1:
            raise InputError(f"scenario {name!r}: growth must be > -100% and gain in [0, 1)")
        factor = (1 + growth) ** horizon_years * (1 - gain)
        out.append(Scenario(name, growth, gain, f.mean[-1] * factor, f.hi_95[-1] * factor))
    return out
