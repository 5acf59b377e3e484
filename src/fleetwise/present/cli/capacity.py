"""``fleetwise capacity forecast`` and ``capacity size``: demand ahead, GPUs to meet a wait SLO."""

from __future__ import annotations

from dataclasses import asdict
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.console import Group
from rich.table import Table
from rich.text import Text

from fleetwise.checked import (
    Change,
    DemandGpuHours,
    FoldDays,
    Folds,
    HorizonDays,
    NodeGpus,
    Seed,
    Share,
    SimulatedJobs,
)
from fleetwise.errors import InputError
from fleetwise.models import SCHEMA_VERSION
from fleetwise.plan.capacity import Forecast, forecast_daily, scenarios
from fleetwise.plan.sizing import Sizing, parse_slo, size_cluster
from fleetwise.present.cli.common import (
    DbOption,
    JsonOption,
    checked,
    open_store,
    print_json,
    stdout,
)
from fleetwise.store import Store
from fleetwise.units import sig
from fleetwise.usecases.capacity import stored_demand, stored_job_sizes
from fleetwise.usecases.telemetry import read_telemetry

app = typer.Typer(help="Capacity: forecast GPU demand and size the cluster for a wait SLO.")

TelemetryOption = Annotated[
    Path | None,
    typer.Option(help="Per-minute cluster sequence or DCGM export instead of the stored jobs."),
]


class PolicyOpt(StrEnum):
    fifo = "fifo"
    sjf = "sjf"
    backfill = "backfill"


def _history(store: Store | None, telemetry: Path | None) -> tuple[list[str], Any, str]:
    if telemetry is not None:
        series = read_telemetry(telemetry).series  # streamed: bounded memory
        stamps, busy = series.daily_mean_busy()
        return [str(d) for d in stamps], busy, f"mean busy {series.unit}"
    assert store is not None
    demand = stored_demand(store)
    if not demand.jobs:
        raise InputError(f"no jobs in {store.display_url}; import a log or pass --telemetry")
    return demand.days, demand.hours, "GPU-hours/day"


def forecast_view(f: Forecast, growth: float, gain: float) -> Group:
    bt = Table(title="backtest (rolling origin)", title_justify="left")
    for name in ("model", "days", "MAE", "80% coverage", "95% coverage"):
        bt.add_column(name, justify="left" if name == "model" else "right", no_wrap=True)
    for b in f.backtests:
        mark = " *" if b.model == f.model else ""
        bt.add_row(
            b.model + mark,
            str(b.points),
            sig(b.mae),
            f"{b.coverage_80:.0%}",
            f"{b.coverage_95:.0%}",
        )
    ahead = Table(title=f"forecast ({f.model}, {f.unit})", title_justify="left")
    for name in ("day", "mean", "80% interval", "95% interval"):
        ahead.add_column(name, justify="left" if name == "day" else "right", no_wrap=True)
    for k in sorted({0, len(f.days) // 2, len(f.days) - 1}):
        ahead.add_row(
            f.days[k],
            sig(f.mean[k]),
            f"{sig(f.lo_80[k])} - {sig(f.hi_80[k])}",
            f"{sig(f.lo_95[k])} - {sig(f.hi_95[k])}",
        )
    cases = [("scenario", growth, gain)] if growth or gain else []
    sc = Table(title="scenarios on the last day", title_justify="left")
    for name in ("scenario", "growth/yr", "efficiency gain", "mean", "95% upper"):
        sc.add_column(name, justify="left" if name == "scenario" else "right", no_wrap=True)
    for s in scenarios(f, cases):
        sc.add_row(
            s.name,
            f"{s.growth_per_year:.0%}",
            f"{s.efficiency_gain:.0%}",
            sig(s.last_mean),
            sig(s.last_hi_95),
        )
    note = Text(
        f"history: {len(f.history)} days, {f.history_days[0]} to {f.history_days[-1]}; "
        "* chosen by MAE"
    )
    return Group(note, bt, ahead, sc)


@app.command("forecast")
def forecast_cmd(
    db: DbOption = None,
    json_out: JsonOption = False,
    telemetry: TelemetryOption = None,
    horizon: Annotated[
        int, typer.Option(help="Days to forecast.", callback=checked(HorizonDays))
    ] = 30,
    folds: Annotated[
        int, typer.Option(help="Backtest folds of --fold-days each.", callback=checked(Folds))
    ] = 3,
    fold_days: Annotated[
        int,
        typer.Option(help="Days forecast in each backtest fold.", callback=checked(FoldDays)),
    ] = 7,
    growth: Annotated[
        float,
        typer.Option(
            help="Scenario: demand growth per year (0.3 = 30%).", callback=checked(Change)
        ),
    ] = 0.0,
    gain: Annotated[
        float,
        typer.Option(
            help="Scenario: efficiency gain of the plan (0.1 = 10%).", callback=checked(Share)
        ),
    ] = 0.0,
) -> None:
    """Forecast daily demand with 80%/95% intervals; backtest MAE and interval coverage."""
    if telemetry is not None:
        days, values, unit = _history(None, telemetry)
    else:
        with open_store(db, must_exist=True) as store:
            days, values, unit = _history(store, telemetry)
    f = forecast_daily(days, values, unit, horizon=horizon, folds=folds, fold_days=fold_days)
    if json_out:
        cases = [("scenario", growth, gain)] if growth or gain else []
        print_json(
            {
                "schema_version": SCHEMA_VERSION,
                **asdict(f),
                "scenarios": [asdict(s) for s in scenarios(f, cases)],
            }
        )
        return
    stdout().print(forecast_view(f, growth, gain))


def _sizes(store: Store | None, sizes: Path | None) -> tuple[Any, Any, str]:
    if sizes is not None:
        try:
            data = np.loadtxt(sizes, delimiter=",", skiprows=1, ndmin=2)
        except (OSError, ValueError) as exc:
            raise InputError(
                f"{sizes}: expected CSV 'duration_s,num_gpus' with a header: {exc}"
            ) from exc
        if data.shape[1] != 2 or len(data) == 0 or np.any(data[:, 1] < 1) or np.any(data[:, 0] < 0):
            raise InputError(f"{sizes}: expected rows of duration_s >= 0, num_gpus >= 1")
        return data[:, 1].astype(np.int64), data[:, 0], str(sizes)
    assert store is not None
    gpus, durations = stored_job_sizes(store)
    return gpus, durations, "stored jobs"


def _demand(store: Store | None, demand: float | None) -> tuple[float, str]:
    """The given demand, else the forecast of the stored jobs (80% upper bound, day 30)."""
    if demand is not None:
        return demand, "given"
    days, values, _ = _history(store, None)
    try:
        f = forecast_daily(days, values, horizon=30)
    except InputError:
        recent = float(np.mean(values[-7:]))
        return recent, "mean of the last 7 days (history too short to forecast)"
    return f.hi_80[-1], f"80% upper bound of the {f.model} forecast, day 30"


def sizing_document(s: Sizing, sizes_from: str) -> dict[str, Any]:
    r = s.result
    return {
        "schema_version": SCHEMA_VERSION,
        "slo": s.slo.text,
        "policy": s.policy,
        "node_gpus": s.node_gpus,
        "job_sizes_from": sizes_from,
        "demand_gpu_hours_per_day": s.demand_gpu_hours_per_day,
        "offered_gpus": s.offered_gpus,
        "arrival_rate_per_h": s.arrival_rate_per_h,
        "gpus": s.gpus,
        "erlang_c_gpus": s.erlang_c_gpus,
        "allen_cunneen_gpus": s.allen_cunneen_gpus,
        "at_size": {
            "jobs": r.jobs,
            "utilization": r.utilization,
            "mean_wait_s": r.mean_wait_s,
            "p50_wait_s": r.p50_wait_s,
            "p95_wait_s": r.p95_wait_s,
            "p99_wait_s": r.p99_wait_s,
        },
        "steps": [asdict(x) for x in s.steps],
    }


@app.command("size")
def size_cmd(
    slo: Annotated[str, typer.Option(help='Wait SLO, e.g. "p95 wait < 1h".')],
    policy: Annotated[PolicyOpt, typer.Option(help="Scheduling policy.")] = PolicyOpt.fifo,
    demand: Annotated[
        float | None,
        typer.Option(
            help="GPU-hours per day (default: forecast of stored jobs).",
            callback=checked(DemandGpuHours),
        ),
    ] = None,
    sizes: Annotated[
        Path | None, typer.Option(help="CSV duration_s,num_gpus of real jobs (default: stored).")
    ] = None,
    node_gpus: Annotated[
        int, typer.Option(help="GPUs per node (0: one pool).", callback=checked(NodeGpus))
    ] = 8,
    jobs: Annotated[
        int,
        typer.Option(help="Jobs simulated per candidate size.", callback=checked(SimulatedJobs)),
    ] = 50_000,
    seed: Annotated[
        int, typer.Option(help="Seed of the simulated arrivals.", callback=checked(Seed))
    ] = 0,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Smallest cluster whose simulated waits meet the SLO (bisection), vs Erlang C."""
    target = parse_slo(slo)
    if demand is not None and sizes is not None:
        demand, basis = _demand(None, demand)
        g, d, sizes_from = _sizes(None, sizes)
    else:
        with open_store(db, must_exist=True) as store:
            demand, basis = _demand(store, demand)
            g, d, sizes_from = _sizes(store, sizes)
    result = size_cluster(g, d, demand, target, policy.value, node_gpus or None, jobs, seed)
    if json_out:
        print_json({**sizing_document(result, sizes_from), "demand_basis": basis})
        return
    table = Table(
        title=f"sizing for {target.text} ({policy.value}, {node_gpus or 'pooled'}-GPU nodes)",
        title_justify="left",
    )
    table.add_column("GPUs", justify="right")
    table.add_column(f"simulated {target.statistic} wait h", justify="right")
    table.add_column("meets SLO")
    for step in result.steps:
        table.add_row(str(step.gpus), sig(step.value_s / 3600), "yes" if step.met else "no")
    r = result.result
    lines = [
        f"demand {sig(result.demand_gpu_hours_per_day)} GPU-h/day ({basis}); "
        f"{sig(result.offered_gpus)} GPUs busy on average; job sizes from {sizes_from}",
        f"smallest cluster: {result.gpus} GPUs (utilization {r.utilization:.0%}, mean wait "
        f"{sig(r.mean_wait_s / 3600)} h, p95 {sig(r.p95_wait_s / 3600)} h, "
        f"p99 {sig(r.p99_wait_s / 3600)} h)",
        f"Erlang C would say {result.erlang_c_gpus} GPUs, "
        f"Allen-Cunneen {result.allen_cunneen_gpus} "
        "(lower bounds: no gang scheduling)",
    ]
    stdout().print(Group(table, *(Text(x) for x in lines)))
