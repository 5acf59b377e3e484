"""The ``fleetwise`` command line: thin adapters over the library (Typer + Rich).

Errors from the library arrive as ``FleetwiseError``; here, and only here, they become one
line on stderr and an exit code (2 for bad input).
"""

from __future__ import annotations

import sys

import typer

from fleetwise.errors import FleetwiseError
from fleetwise.present.cli import (
    analysis,
    bench,
    capacity,
    cluster,
    decide,
    env,
    experiment,
    fleet,
    history,
    invest,
    kpi,
    ledger,
    report,
    retro,
    serve,
    trace,
)
from fleetwise.present.cli import plan as plan_cli
from fleetwise.present.cli import process as process_cli

app = typer.Typer(
    name="fleetwise",
    help="Measure, diagnose, plan and convince: an optimization initiative for AI fleets.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(bench.app, name="bench")
app.add_typer(plan_cli.app, name="plan")
app.add_typer(kpi.app, name="kpi")
app.add_typer(experiment.app, name="experiment")
app.add_typer(retro.app, name="retro")
app.command("decide")(decide.decide_cmd)
app.add_typer(invest.app, name="invest")
app.add_typer(cluster.app, name="cluster")
app.add_typer(capacity.app, name="capacity")
app.add_typer(process_cli.app, name="process")
app.command("env")(env.env)
app.command("regressions")(history.regressions_cmd)
app.add_typer(trace.app, name="trace")
app.command("diagnose")(trace.diagnose_cmd)
app.command("serve")(serve.serve_cmd)
app.add_typer(report.app, name="report")
app.add_typer(analysis.app, name="analysis")
app.add_typer(fleet.app, name="fleet")
app.command("ledger")(ledger.ledger_cmd)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the exit code instead of exiting (tests call this).

    Typer's standalone mode handles usage errors (exit 2 with its usage line) and
    ``typer.Exit``; a ``FleetwiseError`` from the library passes through it and becomes
    one line here.
    """
    try:
        app(args=argv, prog_name="fleetwise")
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        sys.stderr.write(f"{exc.code}\n")
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return 130
    except FleetwiseError as exc:
        sys.stderr.write(f"fleetwise: error: {exc}\n")
        return exc.exit_code
    return 0


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
