"""What every command shares: consoles, the store option, JSON output."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from fleetwise.checked import problem
from fleetwise.config import database_url
from fleetwise.errors import InputError

if TYPE_CHECKING:
    from fleetwise.store import Store

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db", help="Store URL or SQLite file (default: $FLEETWISE_DB or ./fleetwise.db)."
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]
FleetOption = Annotated[
    Path | None,
    typer.Option(
        "--fleet",
        help="Fleet profile YAML (default: $FLEETWISE_FLEET, else ./fleet.yaml, else the "
        "built-in example; see 'fleetwise fleet show').",
    ),
]


def checked(kind: Any) -> Callable[..., Any]:
    """A Typer callback refusing a value that is not ``kind`` (a type of ``fleetwise.checked``):
    the CLI prints one line naming the option and exits 2."""

    def callback(value: Any) -> Any:
        for item in value if isinstance(value, list | tuple) else [value]:
            why = problem(kind, item)
            if why is not None:
                raise typer.BadParameter(why)  # the parser names the option
        return value

    return callback


def stdout() -> Console:
    # A fixed width when not on a terminal keeps piped and captured output stable.
    width = None if os.isatty(1) else int(os.environ.get("COLUMNS", "160"))
    return Console(width=width, highlight=False, soft_wrap=False)


def stderr() -> Console:
    return Console(stderr=True, highlight=False)


def open_store(db: str | None, *, must_exist: bool = False) -> Store:
    """The store at ``db``. A SQLite file whose folder does not exist is an error (it would
    otherwise be an empty store somewhere unexpected), and so is a missing file when
    ``must_exist`` (commands that only read)."""
    url = database_url(db)
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        path = Path(url.removeprefix("sqlite:///"))
        if not path.parent.exists():
            raise InputError(f"{path}: the store's folder {path.parent} does not exist")
        if must_exist and not path.exists():
            raise InputError(
                f"{path}: no store there (run 'fleetwise bench run quick' or an import first, "
                "or pass --db)"
            )
    from fleetwise.store import Store  # on demand: SQLAlchemy and Alembic are slow to import

    store = Store(url)
    store.recover_stale_runs()
    return store


def print_json(doc: Any) -> None:
    from fleetwise.present.export import to_json

    typer.echo(to_json(doc))
