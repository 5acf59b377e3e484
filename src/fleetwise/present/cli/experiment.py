"""``fleetwise experiment run|list|show``: the optimization lab."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from fleetwise.checked import Id
from fleetwise.collect.runner import RunInterrupted
from fleetwise.config import work_dir
from fleetwise.models import Experiment, ExperimentOutcome
from fleetwise.plan.experiments import load_experiment, predicted_vs_measured, run_experiment
from fleetwise.present.cli.bench import _Progress
from fleetwise.present.cli.common import (
    DbOption,
    FleetOption,
    JsonOption,
    checked,
    open_store,
    print_json,
    stdout,
)
from fleetwise.store import Store
from fleetwise.units import sig, usd
from fleetwise.usecases.fleet import profile_for

app = typer.Typer(
    help="Run A/B experiments of benchmark configurations and price them.", no_args_is_help=True
)


def _ci(lo: float | None, hi: float | None, fmt: str) -> str:
    return "-" if lo is None or hi is None else f"[{format(lo, fmt)}, {format(hi, fmt)}]"


def outcomes_table(exp: Experiment) -> Table:
    spec = exp.spec
    fleet = spec.get("fleet", {})
    t = Table(
        title=(
            f"experiment {exp.id}: {exp.name} ({exp.status}), {spec.get('benchmark')} "
            f"{spec.get('metric')}, {spec.get('runs')} interleaved runs per side; priced for "
            f"{fleet.get('gpus')} GPUs x {fleet.get('utilization', 1):.0%} busy x "
            f"{fleet.get('affected_share', 1):.0%} affected at "
            f"{usd(float(fleet.get('usd_per_gpu_hour') or 0))}/GPU-h"
        ),
        title_justify="left",
    )
    for col in (
        "variant",
        "baseline",
        "variant value",
        "speedup",
        "95% CI",
        "p",
        "verdict",
        "GPU-h/yr",
        "$/yr",
        "$/yr 95% CI",
    ):
        t.add_column(col, justify="left" if col in ("variant", "verdict") else "right")
    for o in exp.outcomes:
        t.add_row(
            o.variant,
            f"{sig(o.baseline_value, 4)} {o.unit}",
            f"{sig(o.variant_value, 4)} {o.unit}",
            f"{o.speedup:.3f}x",
            _ci(o.speedup_low, o.speedup_high, ".3f"),
            "-" if o.pvalue is None else f"{o.pvalue:.3f}",
            o.verdict,
            f"{o.gpu_hours_per_year:,.0f}",
            f"${o.usd_per_year:,.0f}",
            _ci(o.usd_per_year_low, o.usd_per_year_high, ",.0f"),
        )
    return t


def experiment_doc(exp: Experiment, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"schema_version": 1, **exp.model_dump(mode="json"), **(extra or {})}


@app.command("run")
def run_cmd(
    file: Annotated[Path, typer.Argument(help="Experiment YAML file.")],
    action: Annotated[
        int | None, typer.Option(help="Attach to backlog action ACTION.", callback=checked(Id))
    ] = None,
    db: DbOption = None,
    json_out: JsonOption = False,
    progress: Annotated[bool, typer.Option(help="Show a progress bar on stderr.")] = True,
    fleet: FleetOption = None,
) -> None:
    """Run the baseline and variants interleaved, compare them, and price the speedup for
    the fleet profile's GPUs (or the fewer the file names)."""
    load_experiment(file)  # every input problem surfaces before the store is opened
    profile = profile_for(fleet)
    with open_store(db) as store:
        observer = _Progress(enabled=progress and not json_out)
        try:
            with observer.progress:
                exp = run_experiment(
                    store,
                    file,
                    profile=profile,
                    workdir=work_dir(),
                    action_id=action,
                    observer=observer,
                )
        except RunInterrupted as exc:
            typer.echo(f"experiment interrupted in run {exc.run.id}; stored as failed", err=True)
            raise typer.Exit(130) from None
        _show(store, exp, json_out)


def _show(store: Store, exp: Experiment, json_out: bool) -> None:
    extra: dict[str, Any] = {}
    if exp.action_id is not None:
        extra["predicted_vs_measured"] = predicted_vs_measured(store.get_action(exp.action_id), exp)
    if json_out:
        print_json(experiment_doc(exp, extra))
        return
    out = stdout()
    out.print(outcomes_table(exp))
    for o in exp.outcomes:
        for note in o.notes:
            out.print(f"  {o.variant}: {note}")
        out.print(f"  {o.variant}: {o.method}")
    for side, runs in exp.runs.items():
        out.print(f"  runs {side}: {', '.join(str(r) for r in runs)}")
    for row in extra.get("predicted_vs_measured", []):
        out.print(
            f"  action {exp.action_id}: predicted ${row['predicted_usd_per_year']:,.0f}/yr,"
            f" measured ${row['measured_usd_per_year']:,.0f}/yr ({row['variant']})"
        )
    if exp.error:
        out.print(f"  error: {exp.error}")


@app.command("list")
def list_cmd(db: DbOption = None, json_out: JsonOption = False) -> None:
    """Stored experiments with their headline figures."""
    with open_store(db, must_exist=True) as store:
        exps = store.experiments()
        if json_out:
            print_json({"schema_version": 1, "experiments": [experiment_doc(e) for e in exps]})
            return
        t = Table(title=f"{len(exps)} experiments", title_justify="left")
        for col in (
            "id",
            "name",
            "status",
            "action",
            "variant",
            "speedup",
            "95% CI",
            "verdict",
            "$/yr",
        ):
            t.add_column(col)
        for e in exps:
            rows: list[ExperimentOutcome | None] = [*e.outcomes] or [None]
            for o in rows:
                t.add_row(
                    str(e.id),
                    e.name,
                    e.status,
                    str(e.action_id or "-"),
                    o.variant if o else "-",
                    f"{o.speedup:.3f}x" if o else "-",
                    _ci(o.speedup_low, o.speedup_high, ".3f") if o else "-",
                    o.verdict if o else (e.error or "-"),
                    f"${o.usd_per_year:,.0f}" if o else "-",
                )
        stdout().print(t)


@app.command("show")
def show_cmd(
    experiment_id: Annotated[int, typer.Argument(help="Experiment id.", callback=checked(Id))],
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """One experiment: every variant against the baseline, runs, and method."""
    with open_store(db, must_exist=True) as store:
        _show(store, store.get_experiment(experiment_id), json_out)
