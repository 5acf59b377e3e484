"""``fleetwise cluster telemetry import|list``: telemetry samples stored as columns, read
back by ``cluster analyze --telemetry-source``."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from fleetwise.present.cli.common import DbOption, JsonOption, open_store, print_json, stdout
from fleetwise.usecases.telemetry import import_telemetry_file, stored_sources

app = typer.Typer(help="Cluster telemetry (DCGM, Helios, Philly sequences) stored as columns.")


class TelemetryFormat(StrEnum):
    auto = "auto"
    dcgm = "dcgm"
    helios = "helios"
    philly = "philly"


@app.command("import")
def import_cmd(
    file: Annotated[
        Path, typer.Argument(help="DCGM/Prometheus export or per-minute cluster sequence (CSV).")
    ],
    fmt: Annotated[
        TelemetryFormat, typer.Option("--format", help="Format (sniffed by default).")
    ] = TelemetryFormat.auto,
    db: DbOption = None,
) -> None:
    """Store a telemetry file's samples (read in bounded memory); importing the same file
    again replaces its samples."""
    with open_store(db) as store:
        done = import_telemetry_file(store, file, fmt.value)
    again = "; the earlier import replaced" if done.replaced else ""
    stdout().print(
        f"{file}: {done.samples:,} samples read as {done.fmt}; stored as {done.source}{again}"
    )


@app.command("list")
def list_cmd(db: DbOption = None, json_out: JsonOption = False) -> None:
    """The stored telemetry sources (give one to `cluster analyze --telemetry-source`)."""
    with open_store(db, must_exist=True) as store:
        sources = stored_sources(store)
    if json_out:
        print_json(
            [
                {
                    "source": s.source,
                    "format": s.format,
                    "samples": s.samples,
                    "first": s.first.isoformat(),
                    "last": s.last.isoformat(),
                }
                for s in sources
            ]
        )
        return
    table = Table("source", "format", "samples", "from", "to", title="stored telemetry")
    for s in sources:
        table.add_row(
            s.source,
            s.format,
            f"{s.samples:,}",
            f"{s.first:%Y-%m-%d %H:%M}Z",
            f"{s.last:%Y-%m-%d %H:%M}Z",
        )
    stdout().print(
        table if sources else "no telemetry stored (fleetwise cluster telemetry import FILE)"
    )
