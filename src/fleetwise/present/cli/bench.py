"""``fleetwise bench ...``: run suites, list and show runs, export and verify them."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from fleetwise.analyze.node_outliers import node_outliers, outlier_findings
from fleetwise.analyze.reproduce import verify as verify_results
from fleetwise.checked import Id, Rows
from fleetwise.collect.benchmarks.base import registry
from fleetwise.collect.runner import RunInterrupted, RunOutcome, resume, run_suite
from fleetwise.collect.suite import Case, Suite, builtin_suites, load_suite
from fleetwise.collect.system_state import run_advice
from fleetwise.config import work_dir
from fleetwise.errors import InputError
from fleetwise.models import ResultRecord, RunRecord
from fleetwise.plan.fleet import FleetProfile
from fleetwise.present.cli import history
from fleetwise.present.cli.common import (
    DbOption,
    FleetOption,
    JsonOption,
    checked,
    open_store,
    print_json,
    stderr,
    stdout,
)
from fleetwise.present.cli.render import (
    machine_view,
    node_outliers_view,
    results_view,
    runs_table,
    verify_view,
)
from fleetwise.present.export import results_csv, run_document, to_json
from fleetwise.store import Store
from fleetwise.usecases.fleet import profile_for

app = typer.Typer(help="Run benchmark suites and work with their results.", no_args_is_help=True)


class Executor(StrEnum):
    LOCAL = "local"
    RAY = "ray"


class Per(StrEnum):
    NODE = "node"
    GPU = "gpu"


class _Progress:
    """A Rich progress bar on stderr, fed by the runner's observer calls."""

    def __init__(self, enabled: bool) -> None:
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=stderr(),
            transient=True,
            disable=not enabled,
        )
        self.task = self.progress.add_task("starting", total=None)

    def run_started(self, run: RunRecord, cases: Sequence[Case], todo: int) -> None:
        self.progress.update(self.task, total=todo, description=f"run {run.id} ({run.suite})")

    def case_started(self, case: Case) -> None:
        self.progress.update(self.task, description=f"{case.benchmark}")

    def case_finished(self, case: Case, results: Sequence[ResultRecord]) -> None:
        self.progress.advance(self.task)


def _report(store: Store, outcome: RunOutcome, json_out: bool) -> None:
    if json_out:
        print_json(_document(store, outcome.run))
        return
    out = stdout()
    title = f"run {outcome.run.id}: {outcome.run.suite} ({outcome.run.status.value})"
    out.print(results_view(outcome.results, title=title))
    out.print(machine_view(run_advice(outcome.run.config)))
    out.print(f"stored in {store.display_url}")


def _document(store: Store, run: RunRecord) -> dict[str, object]:
    results = store.results(run.id)
    env_ids = sorted({i for i in [run.environment_id, *(r.environment_id for r in results)] if i})
    doc = run_document(run, results, [store.get_environment(i) for i in env_ids])
    doc["machine_advice"] = run_advice(run.config)
    return doc


@app.command("run")
def run_cmd(
    suite: Annotated[
        str | None, typer.Argument(help="A built-in suite (quick, standard, gpu) or a YAML file.")
    ] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", "-t", help="Tag the run.")] = None,
    resume_run: Annotated[
        int | None,
        typer.Option("--resume", help="Finish interrupted run RUN.", callback=checked(Id)),
    ] = None,
    db: DbOption = None,
    json_out: JsonOption = False,
    progress: Annotated[bool, typer.Option(help="Show a progress bar on stderr.")] = True,
    executor: Annotated[
        Executor, typer.Option(help="local: this machine; ray: every node of a Ray cluster.")
    ] = Executor.LOCAL,
    address: Annotated[
        str | None, typer.Option(help="Ray cluster address (default: RAY_ADDRESS or local).")
    ] = None,
    per: Annotated[Per, typer.Option(help="With --executor ray: a run per node or per GPU.")] = (
        Per.NODE
    ),
    fleet: FleetOption = None,
    processes: Annotated[
        int | None,
        typer.Option(
            help="Worker processes per case (each warms up and calibrates; the summary is "
            "over their medians). Overrides the suite.",
            min=1,
            max=1000,
        ),
    ] = None,
    ci_target: Annotated[
        float | None,
        typer.Option(
            help="Add workers until the 95% CI half-width is at most this fraction of the "
            "median (0.01 = 1%).",
            min=0.0001,
            max=0.5,
        ),
    ] = None,
    max_processes: Annotated[
        int | None,
        typer.Option(help="With --ci-target: the most workers per case.", min=1, max=1000),
    ] = None,
    budget: Annotated[
        float | None,
        typer.Option(
            help="With --ci-target: seconds per case after which no worker is added.",
            min=0.1,
            max=86_400,
        ),
    ] = None,
) -> None:
    """Run a suite (default: quick) and print its summary table."""
    if resume_run is None and suite is None:
        suite = "quick"
    if resume_run is not None and suite is not None:
        raise typer.BadParameter("give either a SUITE or --resume RUN, not both")
    if executor is Executor.RAY and resume_run is not None:
        raise typer.BadParameter("--resume runs locally; re-run the suite with --executor ray")
    plan = [processes, ci_target, max_processes, budget]
    if resume_run is not None and any(v is not None for v in plan):
        raise typer.BadParameter("--resume keeps the run's own plan; drop --processes and co.")
    loaded: Suite | None = load_suite(suite) if suite is not None else None
    if loaded is not None:
        loaded = loaded.with_plan(
            processes=processes, ci_target=ci_target, max_processes=max_processes, budget=budget
        )
    observer = _Progress(enabled=progress and not json_out)
    with open_store(db) as store:
        if executor is Executor.RAY:
            assert loaded is not None
            profile = profile_for(fleet)
            _run_on_ray(store, loaded, address, per, tag or (), observer, json_out, profile)
            return
        _run_local(store, loaded, resume_run, tag or (), observer, json_out)


def _run_local(
    store: Store,
    loaded: Suite | None,
    resume_run: int | None,
    tag: Sequence[str],
    observer: _Progress,
    json_out: bool,
) -> None:
    try:
        with observer.progress:
            if loaded is not None:
                outcome = run_suite(
                    store, loaded, tags=tag or (), workdir=work_dir(), observer=observer
                )
            else:
                assert resume_run is not None
                outcome = resume(store, resume_run, workdir=work_dir(), observer=observer)
    except RunInterrupted as exc:
        typer.echo(
            f"run {exc.run.id} interrupted; finished cases are stored. "
            f"Resume with: fleetwise bench run --resume {exc.run.id}",
            err=True,
        )
        raise typer.Exit(130) from None
    _report(store, outcome, json_out)


def _run_on_ray(
    store: Store,
    suite: Suite,
    address: str | None,
    per: Per,
    tags: Sequence[str],
    observer: _Progress,
    json_out: bool,
    profile: FleetProfile,
) -> None:
    from fleetwise.collect.executors.ray import run_suite_on_ray

    try:
        with observer.progress:
            outcomes = run_suite_on_ray(
                store,
                suite,
                address=address,
                per="gpu" if per is Per.GPU else "node",
                tags=tags,
                workdir=work_dir(),
                observer=observer,
            )
    except RunInterrupted as exc:
        typer.echo(
            f"fleet-wide run interrupted (first run {exc.run.id}); finished cases are stored"
        )
        raise typer.Exit(130) from None
    labels = {o.run.id: str(o.run.config.get("ray", {}).get("target", o.run.id)) for o in outcomes}
    gpus = {
        labels[o.run.id]: len(store.get_environment(o.run.environment_id).data.get("gpus", []))
        for o in outcomes
        if o.run.environment_id is not None
    }
    outliers = node_outliers({labels[o.run.id]: (o.run.id, o.results) for o in outcomes})
    findings = outlier_findings(
        outliers,
        gpus,
        usd_per_gpu_hour=profile.price(),
        hours_per_year=profile.hours_per_year,
    )
    group = next(t for t in outcomes[0].run.tags if t.startswith("ray:"))
    store.save_analysis(
        "fleet-run",
        f"{suite.name} on {len(outcomes)} Ray targets",
        {"runs": [o.run.id for o in outcomes], "outliers": len(outliers)},
        findings,
        tags=[group],
    )
    if json_out:
        print_json(
            {
                "schema_version": 1,
                "group": group,
                "runs": [_document(store, o.run) for o in outcomes],
                "findings": [f.model_dump(mode="json") for f in findings],
            }
        )
        return
    out = stdout()
    for o in outcomes:
        title = f"run {o.run.id} on {labels[o.run.id]}: {o.run.suite} ({o.run.status.value})"
        out.print(results_view(o.results, title=title))
    out.print(node_outliers_view(outliers, len(outcomes)))
    out.print(f"stored in {store.display_url} (tag {group})")


@app.command("list")
def list_cmd(
    db: DbOption = None,
    tag: Annotated[str | None, typer.Option(help="Only runs with this tag.")] = None,
    suite: Annotated[str | None, typer.Option(help="Only runs of this suite.")] = None,
    limit: Annotated[
        int, typer.Option(help="How many runs, newest first.", callback=checked(Rows))
    ] = 20,
    json_out: JsonOption = False,
) -> None:
    """List stored runs, newest first."""
    with open_store(db, must_exist=True) as store:
        runs = store.list_runs(limit=limit, tag=tag, suite=suite)
    if json_out:
        print_json({"schema_version": 1, "runs": [r.model_dump(mode="json") for r in runs]})
    else:
        stdout().print(runs_table(runs))


@app.command("show")
def show_cmd(
    run: Annotated[int, typer.Argument(help="Run id (see bench list).", callback=checked(Id))],
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Show a run's results: median, CI, CV, efficiency and warnings."""
    with open_store(db, must_exist=True) as store:
        record = store.get_run(run)
        if json_out:
            print_json(_document(store, record))
            return
        _report(store, RunOutcome(run=record, results=store.results(run)), json_out=False)


class ExportFormat(StrEnum):
    json = "json"
    csv = "csv"


@app.command("export")
def export_cmd(
    run: Annotated[int, typer.Argument(help="Run id.", callback=checked(Id))],
    fmt: Annotated[ExportFormat, typer.Option("--format", "-f")] = ExportFormat.json,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File (default stdout).")
    ] = None,
    db: DbOption = None,
) -> None:
    """Export a run with raw samples and summaries as JSON or CSV."""
    with open_store(db, must_exist=True) as store:
        record = store.get_run(run)
        if fmt is ExportFormat.json:
            text = to_json(_document(store, record)) + "\n"
        else:
            text = results_csv(record, store.results(run))
    if output is None:
        typer.echo(text, nl=False)
        return
    try:
        output.write_text(text)
    except OSError as exc:
        raise InputError(f"{output}: cannot write: {exc.strerror or exc}") from exc
    stderr().print(f"wrote {output}")


@app.command("verify")
def verify_cmd(
    run: Annotated[int, typer.Argument(help="Run id to reproduce.", callback=checked(Id))],
    db: DbOption = None,
    json_out: JsonOption = False,
    progress: Annotated[bool, typer.Option(help="Show a progress bar on stderr.")] = True,
) -> None:
    """Re-run a run's suite here and say, result by result, whether it reproduced."""
    with open_store(db, must_exist=True) as store:
        original = store.get_run(run)
        suite = Suite.model_validate(
            {k: original.config[k] for k in ("name", "description", "source", "cases")}
        )
        observer = _Progress(enabled=progress and not json_out)
        with observer.progress:
            outcome = run_suite(
                store, suite, tags=[f"verify:{run}"], workdir=work_dir(), observer=observer
            )
        old = store.results(run)
        env_ids = {r.environment_id for r in [*old, *outcome.results] if r.environment_id}
        envs = {i: store.get_environment(i).data for i in env_ids}
        states = (original.config.get("start_state", {}), outcome.run.config.get("start_state", {}))
        verdicts = verify_results(old, outcome.results, envs, states)
        if json_out:
            print_json(
                {
                    "schema_version": 1,
                    "run": run,
                    "rerun": outcome.run.id,
                    "verdicts": [v.__dict__ for v in verdicts],
                }
            )
            return
        out = stdout()
        out.print(verify_view(verdicts))
        judged = [v for v in verdicts if v.reproduced is not None]
        ok = sum(1 for v in judged if v.reproduced)
        out.print(
            f"{ok} of {len(judged)} results reproduced within the original 95% CI "
            f"(re-run stored as run {outcome.run.id})"
        )


app.command("compare")(history.compare_cmd)
app.command("series")(history.series_cmd)
app.command("history")(history.history_cmd)


@app.command("benchmarks")
def benchmarks_cmd(json_out: JsonOption = False) -> None:
    """List the benchmarks and built-in suites this fleetwise knows."""
    benches = registry()
    if json_out:
        print_json(
            {
                "benchmarks": {
                    n: {"layer": b.layer, "description": b.description} for n, b in benches.items()
                },
                "suites": builtin_suites(),
            }
        )
        return
    from rich.table import Table

    table = Table(title="benchmarks", title_justify="left")
    for col in ("name", "layer", "description"):
        table.add_column(col, overflow="fold")
    for name, b in benches.items():
        table.add_row(name, b.layer, b.description)
    out = stdout()
    out.print(table)
    out.print("built-in suites: " + ", ".join(builtin_suites()))
