"""What every command shares: consoles, the store option, JSON output."""

from __future__ import annotations

import os
from typing import Annotated, Any

import typer
from rich.console import Console

from fleetwise.config import database_url
from fleetwise.store import Store

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db", help="Store URL or SQLite file (default: $FLEETWISE_DB or ./fleetwise.db)."
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]


def stdout() -> Console:
    # A fixed width when not on a terminal keeps piped and captured output stable.
    width = None if os.isatty(1) else int(os.environ.get("COLUMNS", "160"))
    return Console(width=width, highlight=False, soft_wrap=False)


def stderr() -> Console:
    return Console(stderr=True, highlight=False)


def open_store(db: str | None) -> Store:
    store = Store(database_url(db))
    store.recover_stale_runs()
    return store


def print_json(doc: Any) -> None:
    from fleetwise.present.export import to_json

    typer.echo(to_json(doc))
