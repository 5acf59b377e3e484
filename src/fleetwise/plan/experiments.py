"""The optimization lab: run a baseline configuration and its variants, compare, price it.

An experiment file names one benchmark, the parameters every side shares, the baseline's
and each variant's own parameters, how many runs per side, and the fleet the result is
priced for. ``run_experiment`` runs the sides interleaved (A, B, A, B...: machine drift
then lands on both sides alike, as ``analyze.compare`` recommends), each run a real stored
run tagged ``experiment:<id>`` and ``experiment:<id>:<side>``, and compares the run medians
of the metric with ``analyze.compare.compare_medians`` (permutation test or Welch t on log
run medians; a ratio with its 95% CI).

Pricing: speedup s (> 1 = the variant is better) saves ``1 - 1/s`` of the time of the work it
applies to, so GPU-hours/yr = gpus x hours per year x utilization x affected_share x
(1 - 1/s), at ``usd_per_gpu_hour``. Price and hours per year come from the fleet profile;
gpus too unless the file narrows them (never more GPUs than the fleet has). The CI of s
gives the CI of the money. A slower variant is a negative saving, reported as such.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from fleetwise.analyze.compare import compare_medians
from fleetwise.collect.benchmarks.base import registry
from fleetwise.collect.runner import RunInterrupted, RunObserver, run_suite
from fleetwise.collect.suite import Case, Suite, case_key
from fleetwise.errors import FleetwiseError, InputError
from fleetwise.models import Action, Experiment, ExperimentOutcome, ResultRecord, ResultStatus
from fleetwise.plan import yamlfile
from fleetwise.plan.fleet import FleetProfile
from fleetwise.store import Store


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Side(_Strict):
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    params: dict[str, Any] = Field(default_factory=dict)


class Sampling(_Strict):
    warmup: int = Field(default=1, ge=0)
    repeat: int = Field(default=5, ge=1)
    min_sample_time: float = Field(default=0.05, gt=0)
    timeout: float = Field(default=120.0, gt=0)
    #: worker processes per run (a suite's ``processes``). One by default: the verdict is
    #: already over ``runs`` separate runs per side, each a fresh process, interleaved;
    #: more workers make each run's median steadier where one process's luck is large.
    processes: int = Field(default=1, ge=1, le=1000)


class Fleet(_Strict):
    #: GPUs whose work the experiment speaks for; unset: the whole fleet of the profile.
    gpus: int | None = Field(default=None, ge=1)
    #: Set from the fleet profile (price of ``pool``, else the fleet's) when the experiment
    #: runs; a file that sets it is rejected, so a price is written once.
    usd_per_gpu_hour: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    #: The profile's pool the GPUs belong to (unset: the fleet's blended price).
    pool: str | None = None
    #: Set from the fleet profile when the experiment runs.
    hours_per_year: float | None = Field(default=None, gt=0, le=8784)
    #: Share of the year the GPUs are busy.
    utilization: float = Field(default=1.0, gt=0, le=1)
    #: Share of busy GPU time the measured work accounts for (the loader's wait, the step...).
    affected_share: float = Field(default=1.0, gt=0, le=1)


class ExperimentSpec(_Strict):
    schema_version: int = 1
    name: str = Field(min_length=1)
    description: str = ""
    benchmark: str
    metric: str
    params: dict[str, Any] = Field(default_factory=dict)
    baseline: Side
    variants: list[Side] = Field(min_length=1)
    runs: int = Field(default=3, ge=2, le=50)
    sampling: Sampling = Field(default_factory=Sampling)
    fleet: Fleet
    action: int | None = None


def load_experiment(path: Path) -> tuple[ExperimentSpec, dict[str, Suite]]:
    """Read and check an experiment file: benchmark, metric and every side's parameters are
    validated by the benchmark itself, so nothing runs (or is stored) on a typo."""
    doc = yamlfile.read(path, "experiment")
    spec = doc.validate(ExperimentSpec)
    for field in ("usd_per_gpu_hour", "hours_per_year"):
        if getattr(spec.fleet, field) is not None:
            raise doc.error(
                ["fleet", field], "comes from the fleet profile (fleetwise fleet show); remove it"
            )
    bench = registry().get(spec.benchmark)
    if bench is None:
        raise doc.error(["benchmark"], f"unknown benchmark; known: {', '.join(registry())}")
    sides = [("baseline", spec.baseline), *(("variants", v) for v in spec.variants)]
    names = [s.name for _, s in sides]
    if len(set(names)) != len(names):
        raise doc.error(["variants"], f"side names must differ: {names}")
    suites: dict[str, Suite] = {}
    for i, (where, side) in enumerate(sides):
        loc: list[int | str] = ["baseline"] if where == "baseline" else ["variants", i - 1]
        raw = {**spec.params, **side.params}
        try:
            params = bench.parse_params(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            msg = "unknown parameter" if first["type"] == "extra_forbidden" else first["msg"]
            key = first["loc"][0] if first["loc"] else ""
            at = [*loc, "params", key] if key in side.params else ["params", key]
            raise doc.error(at, msg) from exc
        metrics = [m.name for m in bench.metrics(params)]
        if spec.metric not in metrics:
            raise doc.error(
                ["metric"], f"{spec.benchmark} has no metric {spec.metric!r}: {metrics}"
            )
        dumped = params.model_dump(mode="json")
        s = spec.sampling
        case = Case(
            index=0,
            key=case_key(0, bench.name, dumped),
            benchmark=bench.name,
            params=dumped,
            declared=sorted(raw),
            warmup=s.warmup,
            repeat=s.repeat,
            min_sample_time=s.min_sample_time,
            timeout=s.timeout,
            processes=s.processes,
        )
        suites[side.name] = Suite(
            name=f"experiment:{spec.name}:{side.name}",
            description=spec.description,
            source=str(path),
            cases=[case],
        )
    return spec, suites


def resolve_fleet(fleet: Fleet, profile: FleetProfile, where: str) -> Fleet:
    """The experiment's fleet with the profile's figures filled in; more GPUs than the
    fleet has is an error (no figure may speak for GPUs that do not exist)."""
    pool = fleet.pool or ""
    if pool and pool not in {p.name for p in profile.pools}:
        raise InputError(
            f"{where}: fleet.pool {pool!r} is not a pool of the fleet profile "
            f"({', '.join(p.name for p in profile.pools)})"
        )
    have = profile.gpus_of(pool)
    gpus = fleet.gpus if fleet.gpus is not None else have
    if gpus > have:
        raise InputError(
            f"{where}: fleet.gpus {gpus} is more than the {have} GPUs of the "
            f"fleet profile ({profile.path or 'built-in default'})"
        )
    return fleet.model_copy(
        update={
            "gpus": gpus,
            "usd_per_gpu_hour": profile.price(pool),
            "hours_per_year": profile.hours_per_year,
        }
    )


def price(speedup: float, fleet: Fleet) -> tuple[float, float]:
    """(GPU-hours/yr, $/yr) saved by a speedup on the fleet's affected work (a fleet
    resolved against the profile)."""
    if fleet.gpus is None or fleet.usd_per_gpu_hour is None or fleet.hours_per_year is None:
        raise ValueError("price() needs a fleet resolved against the fleet profile")
    hours = (
        fleet.gpus
        * fleet.hours_per_year
        * fleet.utilization
        * fleet.affected_share
        * (1 - 1 / speedup)
    )
    return hours, hours * fleet.usd_per_gpu_hour


def outcome(
    spec: ExperimentSpec, variant: str, base: Sequence[ResultRecord], var: Sequence[ResultRecord]
) -> ExperimentOutcome:
    """Compare one variant's run medians with the baseline's and price the difference."""
    first = base[0]
    nums = compare_medians(
        [r.summary.median for r in base if r.summary],
        [r.summary.median for r in var if r.summary],
        direction=first.direction,
    )
    higher = first.direction == "higher"
    ratio, lo, hi = nums["ratio"], nums["ci_low"], nums["ci_high"]
    speedup = ratio if higher else 1 / ratio
    s_lo = (lo if higher else 1 / hi) if lo is not None and hi is not None else None
    s_hi = (hi if higher else 1 / lo) if lo is not None and hi is not None else None
    hours, usd = price(speedup, spec.fleet)
    verdict = {"faster": "better", "slower": "worse"}.get(nums["verdict"], nums["verdict"])
    return ExperimentOutcome(
        variant=variant,
        metric=first.metric,
        unit=first.unit,
        direction=first.direction,
        baseline_value=nums["a_value"],
        variant_value=nums["b_value"],
        speedup=speedup,
        speedup_low=s_lo,
        speedup_high=s_hi,
        pvalue=nums["pvalue"],
        verdict=verdict,
        method=nums["method"],
        gpu_hours_per_year=round(hours, 1),
        usd_per_year=round(usd, 2),
        usd_per_year_low=round(price(s_lo, spec.fleet)[1], 2) if s_lo else None,
        usd_per_year_high=round(price(s_hi, spec.fleet)[1], 2) if s_hi else None,
        notes=list(nums["notes"]),
    )


def _metric_result(
    results: Sequence[ResultRecord], spec: ExperimentSpec, side: str
) -> ResultRecord:
    for r in results:
        if r.metric == spec.metric:
            if r.status is not ResultStatus.OK or r.summary is None:
                raise FleetwiseError(f"side {side}: {spec.metric} {r.status.value}: {r.error}")
            return r
    raise FleetwiseError(f"side {side}: no {spec.metric} result")


def run_experiment(
    store: Store,
    path: Path,
    *,
    workdir: Path,
    profile: FleetProfile,
    action_id: int | None = None,
    observer: RunObserver | None = None,
) -> Experiment:
    """Run an experiment file into the store; returns the stored, completed experiment.

    A side that fails stores the experiment as failed (its runs stay) and raises.
    """
    spec, suites = load_experiment(path)
    spec = spec.model_copy(update={"fleet": resolve_fleet(spec.fleet, profile, str(path))})
    attach = action_id if action_id is not None else spec.action
    if attach is not None:
        store.get_action(attach)  # InputError before anything is written
    exp = Experiment(
        name=spec.name,
        source=str(path),
        action_id=attach,
        spec=spec.model_dump(mode="json"),
        runs={n: [] for n in suites},
    )
    exp.id = store.save_experiment(exp)
    got: dict[str, list[ResultRecord]] = {n: [] for n in suites}
    try:
        for _ in range(spec.runs):
            for name, suite in suites.items():
                tags = [f"experiment:{exp.id}", f"experiment:{exp.id}:{name}"]
                done = run_suite(store, suite, tags=tags, workdir=workdir, observer=observer)
                exp.runs[name].append(done.run.id)
                got[name].append(_metric_result(done.results, spec, name))
    except (FleetwiseError, RunInterrupted, KeyboardInterrupt) as exc:
        exp.status, exp.error = "failed", str(exc) or exc.__class__.__name__
        exp.finished_at = datetime.now(UTC)
        store.save_experiment(exp)
        raise
    base = spec.baseline.name
    exp.outcomes = [outcome(spec, v.name, got[base], got[v.name]) for v in spec.variants]
    exp.status, exp.finished_at = "completed", datetime.now(UTC)
    store.save_experiment(exp)
    return store.get_experiment(exp.id)


def predicted_vs_measured(action: Action, exp: Experiment) -> list[dict[str, Any]]:
    """Each variant's measured $/yr and speedup beside what the action predicted."""
    return [
        {
            "variant": o.variant,
            "predicted_usd_per_year": action.savings_usd_per_year,
            "measured_usd_per_year": o.usd_per_year,
            "measured_usd_per_year_ci": [o.usd_per_year_low, o.usd_per_year_high],
            "predicted_effects": {e.kpi: e.change for e in action.effects},
            "measured_change": o.speedup - 1,
            "verdict": o.verdict,
        }
        for o in exp.outcomes
    ]
