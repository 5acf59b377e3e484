"""The fleet profile: the one object that holds every assumption behind a GPU-hour or a dollar.

Pools (GPU model, count, price with its source and date), hours per year, teams, the loaded
cost of an engineer, the discount rate and horizon, which fleet GPUs a diagnosed workload (a
trace, a benchmark host) speaks for, and the one severity scale. The built-in default is
``plan/data/fleet_default.yaml``; a user's ``fleet.yaml`` (``fleetwise fleet init`` drafts
one) replaces it whole. Nothing else in fleetwise writes a price, an hours-per-year or a
fleet size: callers take them from here, and every costed figure prints ``describe()``.
"""

from __future__ import annotations

import fnmatch
import math
import os
from datetime import date
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from fleetwise.models import Severity
from fleetwise.plan import yamlfile

DEFAULT_FILE = "fleet_default.yaml"
#: No fleet has more GPUs than this; a larger count is a typo.
MAX_GPUS = 10_000_000
#: No GPU-hour costs more than this (USD); a larger price is a typo.
MAX_USD_PER_GPU_HOUR = 1_000.0


def _finite(v: float) -> float:
    if not math.isfinite(v):
        raise ValueError("must be a finite number")
    return v


Finite = Annotated[float, AfterValidator(_finite)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Pool(_Strict):
    """GPUs of one model, and what one of their GPU-hours is worth."""

    name: str = Field(min_length=1)
    gpus: int = Field(ge=1, le=MAX_GPUS)
    gpus_per_node: int | None = Field(default=None, ge=1, le=1024)
    usd_per_gpu_hour: Finite = Field(gt=0, le=MAX_USD_PER_GPU_HOUR)
    price_source: str = Field(min_length=1)
    price_date: date


class Team(_Strict):
    name: str = Field(min_length=1)
    #: GPUs the team is entitled to (quota), when there is one.
    gpus: int | None = Field(default=None, ge=0, le=MAX_GPUS)
    engineers: int | None = Field(default=None, ge=0, le=1_000_000)


class Represents(_Strict):
    """The part of the fleet a workload stands for: a team's jobs on ``gpus`` GPUs."""

    team: str = ""
    gpus: int = Field(ge=1, le=MAX_GPUS)
    pool: str = ""


class Workload(_Strict):
    """Evidence (a trace folder, a benchmark host) and the fleet GPUs it speaks for.

    ``match`` is a shell pattern over the evidence source: ``trace:*nccl_ddp*`` for a trace
    set, ``host:gpu-node-07`` for the benchmark results of one host.
    """

    match: str = Field(min_length=1)
    represents: Represents
    note: str = ""


class SeverityScale(_Strict):
    """Share of the fleet's capacity a finding's bounded claim takes, at or above which it
    has each severity; below ``low`` it is info."""

    critical: Finite = Field(gt=0, le=1)
    high: Finite = Field(gt=0, le=1)
    medium: Finite = Field(gt=0, le=1)
    low: Finite = Field(gt=0, le=1)

    @model_validator(mode="after")
    def _ordered(self) -> SeverityScale:
        if not self.critical >= self.high >= self.medium >= self.low:
            raise ValueError("thresholds must fall: critical >= high >= medium >= low")
        return self

    def of(self, share: float) -> Severity:
        for bound, sev in (
            (self.critical, Severity.CRITICAL),
            (self.high, Severity.HIGH),
            (self.medium, Severity.MEDIUM),
            (self.low, Severity.LOW),
        ):
            if share >= bound:
                return sev
        return Severity.INFO


class FleetProfile(_Strict):
    schema_version: int = 1
    name: str = Field(min_length=1)
    pools: list[Pool] = Field(min_length=1)
    hours_per_year: Finite = Field(gt=0, le=8784)
    teams: list[Team] = Field(default_factory=list)
    engineer_loaded_usd_per_year: Finite = Field(gt=0, le=1e8)
    engineer_source: str = Field(min_length=1)
    work_days_per_year: Finite = Field(gt=0, le=366)
    work_hours_per_day: Finite = Field(gt=0, le=24)
    discount_rate: Finite = Field(ge=0, le=1)
    horizon_years: int = Field(ge=1, le=30)
    workloads: list[Workload] = Field(default_factory=list)
    severity: SeverityScale
    #: The buy-vs-rent scenario of record (``fleetwise invest compare`` YAML): the briefing,
    #: the deck and the dashboard all price the hardware question with it. A relative path
    #: is taken from the profile's folder, else from the folder fleetwise runs in.
    invest_scenario: str = ""
    #: Where the profile was read from (set by the loader, not the file).
    path: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> FleetProfile:
        names = [p.name for p in self.pools]
        if len(set(names)) != len(names):
            raise ValueError("pool names must be unique")
        for w in self.workloads:
            if w.represents.pool and w.represents.pool not in names:
                raise ValueError(f"workload {w.match!r}: no pool {w.represents.pool!r}")
            if w.represents.gpus > self.gpus_of(w.represents.pool):
                raise ValueError(
                    f"workload {w.match!r} represents {w.represents.gpus} GPUs, more than "
                    f"the {self.gpus_of(w.represents.pool)} of its pool or fleet"
                )
        return self

    # -- derived figures -----------------------------------------------------------------
    @property
    def total_gpus(self) -> int:
        return sum(p.gpus for p in self.pools)

    def gpus_of(self, pool: str = "") -> int:
        return next((p.gpus for p in self.pools if p.name == pool), self.total_gpus)

    def price(self, pool: str = "") -> float:
        """USD per GPU-hour of ``pool``; of the whole fleet (GPU-weighted) when unnamed."""
        for p in self.pools:
            if p.name == pool:
                return p.usd_per_gpu_hour
        return sum(p.usd_per_gpu_hour * p.gpus for p in self.pools) / self.total_gpus

    @property
    def capacity_gpu_hours_per_year(self) -> float:
        return self.total_gpus * self.hours_per_year

    @property
    def usd_per_person_day(self) -> float:
        return self.engineer_loaded_usd_per_year / self.work_days_per_year

    @property
    def usd_per_engineer_hour(self) -> float:
        return self.usd_per_person_day / self.work_hours_per_day

    def workload_for(self, source: str) -> Workload | None:
        """The first workload whose pattern matches the evidence ``source``."""
        return next((w for w in self.workloads if fnmatch.fnmatchcase(source, w.match)), None)

    def assumptions(self) -> dict[str, Any]:
        """What a costed figure cites: the profile, its fleet, prices and their dates."""
        return {
            "fleet_profile": self.path or "built-in default",
            "fleet_gpus": self.total_gpus,
            "hours_per_year": self.hours_per_year,
            "pools": [
                {
                    "name": p.name,
                    "gpus": p.gpus,
                    "usd_per_gpu_hour": p.usd_per_gpu_hour,
                    "price_source": p.price_source,
                    "price_date": p.price_date.isoformat(),
                }
                for p in self.pools
            ],
        }

    def describe(self) -> str:
        """One line for people: the fleet and its prices, as every costed table prints it."""
        pools = "; ".join(
            f"{p.name} x{p.gpus:,} at ${p.usd_per_gpu_hour:,.2f}/GPU-h ({p.price_date})"
            for p in self.pools
        )
        scenario = f"; buy vs rent: {self.invest_scenario}" if self.invest_scenario else ""
        return (
            f"fleet: {self.total_gpus:,} GPUs ({pools}), {self.hours_per_year:,.0f} h/yr; "
            f"profile: {self.path or 'built-in default (write yours: fleetwise fleet init)'}"
            f"{scenario}"
        )


def load_profile(path: Path) -> FleetProfile:
    """Read and check a fleet profile; one ``InputError`` naming file, line and key."""
    doc = yamlfile.read(path, "fleet profile")
    profile = doc.validate(FleetProfile)
    if "path" in doc.raw:
        raise doc.error(["path"], "set by fleetwise; remove it")
    update: dict[str, str] = {"path": str(path)}
    if profile.invest_scenario:
        raw = Path(profile.invest_scenario).expanduser()
        found = next((p for p in (path.parent / raw, Path.cwd() / raw, raw) if p.is_file()), None)
        if found is None:
            raise doc.error(
                ["invest_scenario"],
                f"no file {raw} (from {path.parent} or {Path.cwd()})",
            )
        update["invest_scenario"] = str(found if raw.is_absolute() else os.path.relpath(found))
    return profile.model_copy(update=update)


@cache
def default_profile() -> FleetProfile:
    path = Path(str(resources.files("fleetwise.plan") / "data" / DEFAULT_FILE))
    return yamlfile.read(path, "fleet profile").validate(FleetProfile)


def resolve_profile(explicit: Path | None, env: str | None, cwd: Path) -> FleetProfile:
    """``--fleet`` if given, else ``$FLEETWISE_FLEET``, else ``./fleet.yaml`` when it
    exists, else the built-in default (which says it is one)."""
    if explicit is not None:
        return load_profile(explicit)
    if env:
        return load_profile(Path(env))
    local = cwd / "fleet.yaml"
    return load_profile(local) if local.is_file() else default_profile()


def dump_profile(profile: FleetProfile) -> str:
    """The profile as YAML a person can edit (without the loader's ``path``)."""
    doc = profile.model_dump(mode="json", exclude={"path"})
    if not doc.get("invest_scenario"):
        doc.pop("invest_scenario", None)
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
