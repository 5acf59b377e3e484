"""Buy or rent GPUs: TCO per GPU-hour, NPV, IRR, payback, break-even and a tornado.

Owning: the yearly cost of one server is the capital recovery of its price (straight line
when the cost of capital is 0, else the annuity ``P * r / (1 - (1 + r) ** -n)``), plus its
colocation rent (``kW * $/kW-month * 12``, CBRE quotes rent per kW of IT load with cooling
included), plus separately metered electricity (``kW * draw * PUE * $/kWh * 8760``), times
``1 + overhead`` for staff and network. Divided by the GPU-hours it delivers at a
utilization ``u`` (``gpus * 8760 * u``) it is the cost of a *used* GPU-hour, comparable to
cloud prices: on-demand and spot are paid per used hour (spot plus the work redone after
preemptions), a reservation for every hour of its term (so ``price / u`` per used hour).

The NPV of buying is that of its cash flows against renting the same used GPU-hours on
demand: ``-price`` now, then each year the rent avoided minus the running costs, discounted
at the cost of capital (numpy-financial's ``npv``/``irr``). Every input is a dated, sourced
default (``plan/data/invest_defaults.yaml``) that a scenario overrides by name.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from fleetwise.checked import MAX_GPUS, MAX_USD
from fleetwise.errors import InputError, MissingDependencyError
from fleetwise.textfile import load_yaml, read_text

HOURS_PER_YEAR = 8760.0
#: Relative change of each input in the tornado when the scenario gives no range.
TORNADO_STEP = 0.2


class InvestInputs(BaseModel):
    """Every input of the model; the defaults come from the data file, not from here."""

    # Finite, and below maxima no real scenario reaches (fleetwise.checked): an absurd
    # input is a typo, not a scenario.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    server_price_usd: float = Field(gt=0, le=MAX_USD)
    gpus_per_server: int = Field(gt=0, le=1024)
    server_power_kw: float = Field(ge=0, le=1000)
    colocation_usd_per_kw_month: float = Field(ge=0, le=MAX_USD)
    electricity_usd_per_kwh: float = Field(ge=0, le=1000)
    pue: float = Field(ge=1, le=10)
    power_draw_fraction: float = Field(ge=0, le=1)
    depreciation_years: int = Field(gt=0, le=30)
    cost_of_capital: float = Field(ge=0, lt=1)
    overhead_fraction: float = Field(ge=0, le=100)
    utilization: float = Field(gt=0, le=1)
    servers: int = Field(gt=0, le=MAX_GPUS)
    on_demand_usd_per_gpu_hour: float = Field(gt=0, le=MAX_USD)
    reserved_usd_per_gpu_hour: float = Field(gt=0, le=MAX_USD)
    spot_usd_per_gpu_hour: float = Field(gt=0, le=MAX_USD)
    spot_preemption_overhead: float = Field(ge=0, le=100)


@dataclass(frozen=True)
class DefaultInput:
    name: str
    value: float
    unit: str
    source: str
    date: str


@dataclass(frozen=True)
class RentOption:
    name: str  # on-demand, reserved, spot
    usd_per_used_gpu_hour: float
    #: Utilization above which owning is cheaper; None when owning never (or always) wins.
    break_even_utilization: float | None


@dataclass(frozen=True)
class TornadoBar:
    input: str
    low_value: float
    high_value: float
    npv_at_low: float
    npv_at_high: float
    #: Owning minus the cheapest rent option, USD per used GPU-hour (< 0: owning is cheaper).
    margin_at_low: float
    margin_at_high: float

    @property
    def swing(self) -> float:
        return abs(self.npv_at_high - self.npv_at_low)

    @property
    def margin_swing(self) -> float:
        return abs(self.margin_at_high - self.margin_at_low)


@dataclass(frozen=True)
class InvestResult:
    inputs: InvestInputs
    overridden: tuple[str, ...]
    gpus: int
    capex_usd: float
    yearly_cost_usd: float  # of the whole scenario, capital recovery included
    usd_per_gpu_hour_full: float  # at 100% utilization, straight line, no cost of capital
    usd_per_gpu_hour_full_with_capital: float  # at 100% utilization, with cost of capital
    usd_per_used_gpu_hour: float  # owning, at the scenario's utilization
    rent: tuple[RentOption, ...]
    npv_usd: float  # buying vs renting on demand, at the cost of capital
    irr: float | None
    payback_years: float | None
    cash_flows_usd: tuple[float, ...]
    tornado: tuple[TornadoBar, ...]


def load_defaults() -> dict[str, DefaultInput]:
    """The dated, sourced defaults shipped with fleetwise."""
    text = resources.files("fleetwise.plan").joinpath("data/invest_defaults.yaml").read_text()
    doc = yaml.safe_load(text)
    return {
        name: DefaultInput(name, float(d["value"]), d["unit"], d["source"], str(d["date"]))
        for name, d in doc["inputs"].items()
    }


def scenario_inputs(overrides: Mapping[str, Any], origin: str = "scenario") -> InvestInputs:
    """Defaults with ``overrides`` applied; an unknown or invalid key names itself."""
    values: dict[str, Any] = {n: d.value for n, d in load_defaults().items()}
    unknown = sorted(set(overrides) - set(values))
    if unknown:
        known = ", ".join(sorted(values))
        raise InputError(f"{origin}: unknown input(s) {', '.join(unknown)} (known: {known})")
    values.update(overrides)
    for name in ("gpus_per_server", "depreciation_years", "servers"):
        v = values[name]
        if isinstance(v, float) and v.is_integer():
            values[name] = int(v)
    try:
        return InvestInputs.model_validate(values)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise InputError(f"{origin}: {problems}") from exc


def load_scenario(path: Path) -> tuple[InvestInputs, tuple[str, ...]]:
    """Read a scenario YAML: a mapping of input name to value (all optional)."""
    text = read_text(path)
    try:
        doc = load_yaml(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
        raise InputError(f"{path}{where}: not valid YAML: {exc}") from exc
    if not isinstance(doc, dict):
        raise InputError(f"{path}: expected a mapping of input names to values")
    return scenario_inputs(doc, str(path)), tuple(sorted(doc))


def _capital_recovery(price: float, rate: float, years: int) -> float:
    """Yearly payment that repays ``price`` over ``years`` at ``rate`` (straight line at 0)."""
    if rate == 0:
        return price / years
    return price * rate / (1 - (1 + rate) ** -years)


def _yearly_cost_per_server(i: InvestInputs, rate: float) -> float:
    """Capital recovery at ``rate`` plus running costs plus the overhead on hardware and
    facility (straight-line depreciation and running costs; financing carries none)."""
    capital = _capital_recovery(i.server_price_usd, rate, i.depreciation_years)
    running = _running_cost_per_server(i)
    straight = i.server_price_usd / i.depreciation_years
    return capital + running + i.overhead_fraction * (straight + running)


def _running_cost_per_server(i: InvestInputs) -> float:
    colocation = i.server_power_kw * i.colocation_usd_per_kw_month * 12
    electricity = (
        i.server_power_kw * i.power_draw_fraction * i.pue * i.electricity_usd_per_kwh
    ) * HOURS_PER_YEAR
    return colocation + electricity


def owned_usd_per_gpu_hour(i: InvestInputs, utilization: float, with_capital: bool) -> float:
    """Cost of one used GPU-hour of an owned server at ``utilization``."""
    yearly = _yearly_cost_per_server(i, i.cost_of_capital if with_capital else 0.0)
    return yearly / (i.gpus_per_server * HOURS_PER_YEAR * utilization)


def _financial() -> Any:
    try:
        # numpy-financial ships no type information (no py.typed); typed at its use below.
        import numpy_financial  # type: ignore[import-untyped]
    except ImportError as exc:
        raise MissingDependencyError("numpy-financial", "forecast") from exc
    return numpy_financial


def buy_cash_flows(i: InvestInputs) -> list[float]:
    """Year 0 the purchase, then each year the on-demand rent avoided minus running costs."""
    used_hours = i.servers * i.gpus_per_server * HOURS_PER_YEAR * i.utilization
    running = i.servers * _running_cost_per_server(i)
    capital_straight = i.servers * i.server_price_usd / i.depreciation_years
    overhead = i.overhead_fraction * (running + capital_straight)
    yearly = used_hours * i.on_demand_usd_per_gpu_hour - running - overhead
    return [-i.servers * i.server_price_usd] + [yearly] * i.depreciation_years


def npv_usd(i: InvestInputs) -> float:
    return float(_financial().npv(i.cost_of_capital, buy_cash_flows(i)))


def _payback_years(flows: list[float]) -> float | None:
    cumulative = flows[0]
    for year, flow in enumerate(flows[1:], start=1):
        if cumulative + flow >= 0 and flow > 0:
            return year - 1 + (-cumulative / flow)
        cumulative += flow
    return None


def _rent_options(i: InvestInputs) -> tuple[RentOption, ...]:
    full = owned_usd_per_gpu_hour(i, 1.0, with_capital=True)

    def per_hour(price: float) -> tuple[float, float | None]:
        # owning costs full/u per used hour: cheaper than ``price`` once u > full/price
        return price, (full / price if full <= price else None)

    spot = i.spot_usd_per_gpu_hour * (1 + i.spot_preemption_overhead)
    options = [
        RentOption("on-demand", *per_hour(i.on_demand_usd_per_gpu_hour)),
        RentOption("spot", *per_hour(spot)),
    ]
    # A reservation is paid for every hour: price/u per used hour, like owning, so the
    # utilization cancels and owning wins at every utilization or at none.
    reserved = i.reserved_usd_per_gpu_hour / i.utilization
    options.insert(1, RentOption("reserved", reserved, 0.0 if full <= reserved else None))
    return tuple(options)


def _vary(i: InvestInputs, name: str, factor: float) -> tuple[float, InvestInputs]:
    """``i`` with input ``name`` scaled by ``factor`` (whole numbers move by at least 1)."""
    value = float(getattr(i, name))
    is_int = InvestInputs.model_fields[name].annotation is int
    new = value * factor
    if is_int:
        new = float(round(new))
        if new == value:
            new = value + (1 if factor > 1 else -1)
        new = max(new, 1.0)
    limits = {"utilization": (0.01, 1.0), "power_draw_fraction": (0.0, 1.0), "pue": (1.0, 9.0)}
    low, high = limits.get(name, (-math.inf, math.inf))
    new = min(max(new, low), high)
    data = i.model_dump()
    data[name] = int(new) if is_int else new
    return new, InvestInputs.model_validate(data)


def tornado(i: InvestInputs, step: float = TORNADO_STEP) -> tuple[TornadoBar, ...]:
    """NPV and per-hour margin with each input moved by -step and +step alone, largest
    NPV swing first (inputs that only move the margin, such as cloud prices, after)."""
    npv: Callable[[InvestInputs], float] = npv_usd
    bars = []
    for name in InvestInputs.model_fields:
        if float(getattr(i, name)) == 0.0:
            continue  # a zero input (e.g. metered electricity) has no relative range
        low_value, low = _vary(i, name, 1 - step)
        high_value, high = _vary(i, name, 1 + step)
        bars.append(
            TornadoBar(name, low_value, high_value, npv(low), npv(high), margin(low), margin(high))
        )
    return tuple(sorted(bars, key=lambda b: (-round(b.swing, 6), -b.margin_swing, b.input)))


def margin(i: InvestInputs) -> float:
    """Owned cost minus the cheapest rent option, per used GPU-hour."""
    owned = owned_usd_per_gpu_hour(i, i.utilization, with_capital=True)
    return owned - min(r.usd_per_used_gpu_hour for r in _rent_options(i))


def compare(i: InvestInputs, overridden: tuple[str, ...] = ()) -> InvestResult:
    """The whole buy-vs-rent comparison of one scenario."""
    flows = buy_cash_flows(i)
    irr = float(_financial().irr(flows))
    yearly = i.servers * _yearly_cost_per_server(i, i.cost_of_capital)
    return InvestResult(
        inputs=i,
        overridden=overridden,
        gpus=i.servers * i.gpus_per_server,
        capex_usd=i.servers * i.server_price_usd,
        yearly_cost_usd=yearly,
        usd_per_gpu_hour_full=owned_usd_per_gpu_hour(i, 1.0, with_capital=False),
        usd_per_gpu_hour_full_with_capital=owned_usd_per_gpu_hour(i, 1.0, with_capital=True),
        usd_per_used_gpu_hour=owned_usd_per_gpu_hour(i, i.utilization, with_capital=True),
        rent=_rent_options(i),
        npv_usd=npv_usd(i),
        irr=irr if math.isfinite(irr) else None,
        payback_years=_payback_years(flows),
        cash_flows_usd=tuple(flows),
        tornado=tornado(i),
    )
