"""The ``fleetwise`` command line: thin adapters over the library (Typer + Rich).

Errors from the library arrive as ``FleetwiseError``; here, and only here, they become one
line on stderr and an exit code (2 for bad input).
"""

from __future__ import annotations

import importlib
import sys
from functools import cache
from typing import Any

import typer
from typer import rich_utils
from typer._click import exceptions as click
from typer.exceptions import Abort

from fleetwise.errors import FleetwiseError

#: Every top-level name, in help order: (module under present/cli, attribute, group or command).
#: A command line loads only the module of the name it calls (``fleetwise trace analyze``
#: starts without the store, SciPy or Altair); ``fleetwise --help`` loads them all.
_ENTRIES: dict[str, tuple[str, str, bool]] = {
    "bench": ("bench", "app", True),
    "plan": ("plan", "app", True),
    "kpi": ("kpi", "app", True),
    "experiment": ("experiment", "app", True),
    "retro": ("retro", "app", True),
    "survey": ("survey", "app", True),
    "notes": ("notes", "app", True),
    "decide": ("decide", "decide_cmd", False),
    "invest": ("invest", "app", True),
    "cluster": ("cluster", "app", True),
    "capacity": ("capacity", "app", True),
    "process": ("process", "app", True),
    "env": ("env", "env", False),
    "regressions": ("history", "regressions_cmd", False),
    "trace": ("trace", "app", True),
    "diagnose": ("trace", "diagnose_cmd", False),
    "serve": ("serve", "serve_cmd", False),
    "report": ("report", "app", True),
    "analysis": ("analysis", "app", True),
    "fleet": ("fleet", "app", True),
    "ledger": ("ledger", "ledger_cmd", False),
    "stakeholder": ("alignment", "stakeholder_app", True),
    "meeting": ("alignment", "meeting_app", True),
    "alignment": ("alignment", "alignment_cmd", False),
    "comms": ("alignment", "comms_app", True),
}


@cache
def build_app(only: str | None = None) -> typer.Typer:
    """The command line with every name, or with ``only`` that one (its module alone loads)."""
    root = typer.Typer(
        name="fleetwise",
        help="Measure, diagnose, plan and convince: an optimization initiative for AI fleets.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
    )
    if only is not None:
        # Keep it a group with one command (Typer runs a lone command without its name).
        root.callback()(_group)
    for name, (module, attr, group) in _ENTRIES.items():
        if only is not None and name != only:
            continue
        target = getattr(importlib.import_module(f"fleetwise.present.cli.{module}"), attr)
        if group:
            root.add_typer(target, name=name)
        else:
            root.command(name)(target)
    return root


def _group() -> None:
    """Measure, diagnose, plan and convince: an optimization initiative for AI fleets."""


def __getattr__(name: str) -> Any:
    if name == "app":  # the whole command line (tests and tools that walk it)
        return build_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the exit code instead of exiting (tests call this).

    A bad value (Typer's own parsing, or a range from ``fleetwise.checked``) and a
    ``FleetwiseError`` from the library become one line on stderr; other usage errors keep
    Typer's usage panel. Both exit 2.
    """
    try:
        args = sys.argv[1:] if argv is None else argv
        name = args[0] if args and args[0] in _ENTRIES else None
        code = build_app(name)(args=args, prog_name="fleetwise", standalone_mode=False)
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
