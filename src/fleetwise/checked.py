"""Checked numbers and dates: what a sane value is, said once for the CLI, YAML and CSV.

Each type is an ``Annotated`` pydantic type, so a plan file's model and a command-line
option reject the same values with the same words. Every number is finite (NaN and
infinity never reach the store) and has a range; a count or an amount also has a stated
maximum, far above any real fleet, so that an absurd value is refused instead of becoming
a headline ("$2.19e+24/yr").

``check(kind, value, where)`` validates one value outside a model and raises ``InputError``
naming ``where`` (an option, or ``file:line:key``).
"""

from __future__ import annotations

import math
from datetime import date, datetime
from functools import cache
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, Field, TypeAdapter, ValidationError

from fleetwise.errors import InputError

T = TypeVar("T")

#: A trillion dollars: more than any fleet's yearly spend, far less than float's range.
MAX_USD = 10**12
#: Ids are 64-bit integers in SQLite and PostgreSQL.
MAX_ID = 2**63 - 1
#: GPUs of one fleet (the largest clusters are ~10^5).
MAX_GPUS = 10_000_000
#: Days ahead a daily forecast may reach (ten years).
MAX_HORIZON_DAYS = 3650
#: Jobs one sizing simulation may draw per candidate size.
MAX_SIMULATED_JOBS = 1_000_000
#: Rows a listing may ask for.
MAX_ROWS = 1_000_000
#: Person-days of one action (four hundred person-years).
MAX_EFFORT_DAYS = 100_000
#: RICE reach: GPUs or people affected per quarter.
MAX_REACH = 10**9
#: A relative change (+1 = +100%) of a KPI or of demand: at most a hundredfold.
MAX_CHANGE = 100
#: Hours a time window may span (ten years).
MAX_WINDOW_HOURS = 24 * 3653
#: Dates outside these years are typos (2206 for 2026) or epoch mistakes.
FIRST_YEAR, LAST_YEAR = 1970, 2200


def _in_years(value: Any) -> Any:
    if isinstance(value, date) and not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(f"Date should be in the years {FIRST_YEAR} to {LAST_YEAR}")
    return value


#: Any finite number.
Finite = Annotated[float, Field(allow_inf_nan=False)]
#: US dollars, >= 0.
Money = Annotated[float, Field(ge=0, le=MAX_USD, allow_inf_nan=False)]
#: A share or probability in [0, 1].
Share = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
#: A relative change, -100% to +10,000%.
Change = Annotated[float, Field(ge=-1, le=MAX_CHANGE, allow_inf_nan=False)]
#: A relative magnitude, >= 0.
Magnitude = Annotated[float, Field(ge=0, le=MAX_CHANGE, allow_inf_nan=False)]
#: A significance level in (0, 1].
PValue = Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)]
#: Effort in person-days, > 0.
EffortDays = Annotated[float, Field(gt=0, le=MAX_EFFORT_DAYS, allow_inf_nan=False)]
#: RICE reach, >= 0.
Reach = Annotated[float, Field(ge=0, le=MAX_REACH, allow_inf_nan=False)]
#: RICE impact on Intercom's scale (0.25 minimal to 3 massive; 0 allowed as "none").
Impact = Annotated[float, Field(ge=0, le=3, allow_inf_nan=False)]
#: Hours of a time window, >= 0.
WindowHours = Annotated[float, Field(ge=0, le=MAX_WINDOW_HOURS, allow_inf_nan=False)]
#: GPU-hours per day of demand, > 0 (at most every GPU busy all day).
DemandGpuHours = Annotated[float, Field(gt=0, le=MAX_GPUS * 24, allow_inf_nan=False)]
#: A record id (run, action, analysis, experiment).
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
#: GPUs of a cluster.
Gpus = Annotated[int, Field(ge=1, le=MAX_GPUS)]
#: GPUs of a node, 0 meaning "one pool".
NodeGpus = Annotated[int, Field(ge=0, le=1024)]
#: Days ahead of a forecast.
HorizonDays = Annotated[int, Field(ge=1, le=MAX_HORIZON_DAYS)]
#: Backtest folds.
Folds = Annotated[int, Field(ge=1, le=100)]
#: Days of one backtest fold (a year at most).
FoldDays = Annotated[int, Field(ge=1, le=366)]
#: Jobs of a simulation.
SimulatedJobs = Annotated[int, Field(ge=1, le=MAX_SIMULATED_JOBS)]
#: Rows of a listing.
Rows = Annotated[int, Field(ge=1, le=MAX_ROWS)]
#: Worker processes of one machine (a pool larger than this is a typo).
Workers = Annotated[int, Field(ge=1, le=4096)]
#: A random seed (32 bits: what every NumPy generator accepts).
Seed = Annotated[int, Field(ge=0, le=2**32 - 1)]
#: Points of a change-point detection window (two at least; a million is a typo).
WindowPoints = Annotated[int, Field(ge=2, le=1_000_000)]
#: A calendar date in a sane range.
Day = Annotated[date, AfterValidator(_in_years)]
#: A time in a sane range.
Moment = Annotated[datetime, AfterValidator(_in_years)]


@cache
def _adapter(kind: Any) -> TypeAdapter[Any]:
    return TypeAdapter(kind)


def problem(kind: Any, value: Any) -> str | None:
    """Why ``value`` is not a ``kind`` (one of the types above), or None when it is."""
    if value is None:
        return None
    try:
        _adapter(kind).validate_python(value)
    except ValidationError as exc:
        return describe(exc.errors()[0]["msg"], value)
    return None


def describe(msg: str, value: Any) -> str:
    """A pydantic message with the value it refused, e.g. ``Input should be a finite
    number (got inf)``."""
    msg = msg.removeprefix("Value error, ")
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        shown = f"{value:g}"
    elif isinstance(value, date | datetime):
        shown = value.isoformat()
    else:
        shown = repr(value) if isinstance(value, str) else str(value)
    return f"{msg} (got {shown})"


def check(kind: Any, value: T, where: str) -> T:
    """``value`` when it is a ``kind``; else ``InputError`` naming ``where``."""
    why = problem(kind, value)
    if why is not None:
        raise InputError(f"{where}: {why}")
    return value
