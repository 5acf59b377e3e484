"""The ``fleetwise`` command line: thin adapters over the library (Typer + Rich).

Errors from the library arrive as ``FleetwiseError``; here, and only here, they become one
line on stderr and an exit code (2 for bad input).
"""

from __future__ import annotations

import sys

import click
import typer

from fleetwise.errors import FleetwiseError
from fleetwise.present.cli import bench, env

app = typer.Typer(
    name="fleetwise",
    help="Measure, diagnose, plan and convince: an optimization initiative for AI fleets.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(bench.app, name="bench")
app.command("env")(env.env)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the exit code instead of exiting (tests call this)."""
    try:
        rv = app(args=argv, prog_name="fleetwise", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Abort:
        sys.stderr.write("aborted\n")
        return 130
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return 130
    except FleetwiseError as exc:
        sys.stderr.write(f"fleetwise: error: {exc}\n")
        return exc.exit_code
    return rv if isinstance(rv, int) else 0


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
