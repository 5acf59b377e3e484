"""``trace analyze``, ``trace diff`` and ``diagnose``: PyTorch profiler traces in, findings out.

Analysis and rendering modules are imported inside the commands: ``--help`` and argument
errors answer without loading NumPy, the pydantic models or the store.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from fleetwise.analyze.records import as_json
from fleetwise.analyze.traces_threads import spare_blas_threads
from fleetwise.checked import Rows, Workers
from fleetwise.errors import InputError
from fleetwise.present.cli.common import (
    DbOption,
    FleetOption,
    JsonOption,
    checked,
    open_store,
    print_json,
    stdout,
)

app = typer.Typer(
    help="Analyse PyTorch profiler (Kineto) traces: HTA-compatible breakdowns.",
    no_args_is_help=True,
)

TraceDir = Annotated[
    Path, typer.Argument(help="Folder of Kineto traces (*.json, *.json.gz), one file per rank.")
]


class RankExecutor(StrEnum):
    LOCAL = "local"
    RAY = "ray"


@app.command("analyze")
def analyze_cmd(
    folder: TraceDir,
    json_out: JsonOption = False,
    executor: Annotated[
        RankExecutor,
        typer.Option(
            help="local: ranks in a process pool here; ray: ranks as tasks on a Ray cluster "
            "(the folder must be at the same path on every node)."
        ),
    ] = RankExecutor.LOCAL,
    address: Annotated[
        str | None,
        typer.Option(help="With --executor ray: the cluster (default: RAY_ADDRESS or local)."),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            help="With --executor local: processes (default: one per core; one for a small set).",
            callback=checked(Workers),
        ),
    ] = None,
) -> None:
    """Temporal, idle, kernel, overlap, launch, queue, bandwidth and per-step breakdowns."""
    spare_blas_threads()  # before NumPy loads
    from fleetwise.analyze.traces_report import analyze_trace_set
    from fleetwise.models import SCHEMA_VERSION
    from fleetwise.present.cli.render_trace import report_view

    if executor is RankExecutor.RAY and workers is not None:
        raise typer.BadParameter("--workers is for --executor local; Ray sizes its own workers")
    report = analyze_trace_set(folder, executor.value, workers=workers, address=address)
    if json_out:
        print_json({"schema_version": SCHEMA_VERSION, **as_json(report)})
        return
    stdout().print(report_view(report))


@app.command("diff")
def diff_cmd(
    a: Annotated[Path, typer.Argument(help="Baseline trace folder.")],
    b: Annotated[Path, typer.Argument(help="Candidate trace folder.")],
    json_out: JsonOption = False,
    limit: Annotated[int, typer.Option(help="Rows to show.", callback=checked(Rows))] = 30,
) -> None:
    """Kernels, CPU operators and CUDA runtime calls added, removed, slower or faster from
    A to B."""
    spare_blas_threads()  # before NumPy loads
    from fleetwise.analyze.traces_report import diff_trace_sets
    from fleetwise.models import SCHEMA_VERSION
    from fleetwise.present.cli.render_trace import diff_view, runtime_diff_view

    diff = diff_trace_sets(a, b)
    if json_out:
        print_json({"schema_version": SCHEMA_VERSION, **as_json(diff)})
        return
    console = stdout()
    console.print(diff_view(diff, str(a), str(b), limit))
    console.print(runtime_diff_view(diff, limit))


@app.command("critical-path")
def critical_path_cmd(
    folder: TraceDir,
    rank: Annotated[int | None, typer.Option(help="Only this rank.", min=0)] = None,
    step: Annotated[
        int | None, typer.Option(help="Only this profiler step (ProfilerStep#N).", min=0)
    ] = None,
    annotation: Annotated[
        str, typer.Option(help="Windows: CPU events whose name contains this.")
    ] = "ProfilerStep",
    json_out: JsonOption = False,
) -> None:
    """Critical path per rank and step, as HTA: length and what bounds it (CPU, compute,
    communication, kernel-kernel gaps, launch delays)."""
    spare_blas_threads()  # before NumPy loads
    from fleetwise.analyze.critical_path import critical_paths
    from fleetwise.models import SCHEMA_VERSION
    from fleetwise.present.cli.render_trace import critical_path_view

    paths = critical_paths(folder, rank=rank, step=step, annotation=annotation)
    if json_out:
        docs = as_json(paths)
        print_json({"schema_version": SCHEMA_VERSION, "critical_paths": docs})
        return
    stdout().print(critical_path_view(paths))


def diagnose_cmd(
    trace: Annotated[
        Path | None, typer.Option("--trace", help="Folder of Kineto traces to diagnose.")
    ] = None,
    tag: Annotated[
        list[str] | None, typer.Option("--tag", help="Tag the stored diagnosis (repeatable).")
    ] = None,
    db: DbOption = None,
    fleet: FleetOption = None,
    json_out: JsonOption = False,
) -> None:
    """Diagnose bottlenecks, store the summary and findings, and print them.

    A finding is priced only when the fleet profile's ``workloads`` say which fleet GPUs the
    trace represents; otherwise it speaks for the traced job alone."""
    if trace is None:
        raise InputError("diagnose needs an input: --trace DIR")
    from fleetwise.models import SCHEMA_VERSION
    from fleetwise.present.cli.render_trace import findings_view
    from fleetwise.usecases.diagnose import diagnose_trace
    from fleetwise.usecases.fleet import profile_for

    profile = profile_for(fleet)
    with open_store(db) as store:
        analysis_id, findings = diagnose_trace(store, trace, tag or [], profile)
    if json_out:
        print_json(
            {
                "schema_version": SCHEMA_VERSION,
                "analysis_id": analysis_id,
                "findings": [f.model_dump(mode="json") for f in findings],
            }
        )
        return
    console = stdout()
    console.print(findings_view(findings))
    console.print(
        f"stored as analysis {analysis_id} (kind trace, tags: {', '.join(tag or []) or '-'})"
    )
