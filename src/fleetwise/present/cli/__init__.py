"""The ``fleetwise`` command line: thin adapters over the library (Typer + Rich).

Errors from the library arrive as ``FleetwiseError``; here, and only here, they become one
line on stderr and an exit code (2 for bad input).
"""

from __future__ import annotations

import sys

import typer
from typer import rich_utils
from typer._click import exceptions as click
from typer.exceptions import Abort

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

    A bad value (Typer's own parsing, or a range from ``fleetwise.checked``) and a
    ``FleetwiseError`` from the library become one line on stderr; other usage errors keep
    Typer's usage panel. Both exit 2.
    """
    try:
        code = app(args=argv, prog_name="fleetwise", standalone_mode=False)
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        sys.stderr.write(f"{exc.code}\n")
        return 1
    except (KeyboardInterrupt, Abort):
        sys.stderr.write("interrupted\n")
        return 130
    except click.BadParameter as exc:
        if isinstance(exc, click.MissingParameter):
            rich_utils.rich_format_error(exc)
        else:
            sys.stderr.write(f"fleetwise: error: {_where(exc)}{exc.message}\n")
        return exc.exit_code
    except click.ClickException as exc:
        rich_utils.rich_format_error(exc)
        return exc.exit_code
    except FleetwiseError as exc:
        sys.stderr.write(f"fleetwise: error: {exc}\n")
        return exc.exit_code
    return code if isinstance(code, int) else 0


def _where(exc: click.BadParameter) -> str:
    """``--option: `` or ``ARGUMENT: `` for a bad value's message, when it has one."""
    param = exc.param
    if param is None:
        return ""
    if param.param_type_name == "option" and param.opts:
        return f"{max(param.opts, key=len)}: "
    return f"{(param.name or '').upper()}: "


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
