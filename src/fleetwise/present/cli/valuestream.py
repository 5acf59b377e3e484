"""``fleetwise process map``: the value-stream map (lead-time ladder, flow efficiency,
rolled %C&A, constraint) from a YAML map or the stored pipeline, with its future state."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import typer

from fleetwise.checked import Day
from fleetwise.errors import InputError
from fleetwise.models import SCHEMA_VERSION
from fleetwise.plan.valuestream import load_map
from fleetwise.present.cli.common import (
    DbOption,
    JsonOption,
    checked,
    open_store,
    print_json,
    stdout,
)
from fleetwise.present.cli.render_valuestream import map_view
from fleetwise.usecases.valuestream import map_store, state_doc


def map_cmd(
    from_yaml: Annotated[
        Path | None, typer.Option("--from-yaml", help="A hand-written map (YAML).")
    ] = None,
    from_store: Annotated[
        bool, typer.Option("--from-store", help="Map the stored pipeline stages (default).")
    ] = False,
    future: Annotated[
        bool, typer.Option("--future", help="Also show the future state of the open actions.")
    ] = False,
    today: Annotated[
        date | None,
        typer.Option(
            help="Date the rollout is planned from (default: today).", callback=checked(Day)
        ),
    ] = None,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Lead-time ladder (wait and active per step), flow efficiency, rolled %C&A and the
    constraint (the longest wait); stored as a process analysis, so KPIs can bind to
    ``analysis:process:steps.<step>.<figure>``. --future adds the map once the open
    actions' expected effects on those KPIs land."""
    if from_yaml is not None and from_store:
        raise InputError("--from-yaml and --from-store: choose one")
    day = today or datetime.now(UTC).date()
    current = load_map(from_yaml) if from_yaml is not None else None  # checked before a write
    with open_store(db, must_exist=current is None) as store:
        analysis_id, fs = map_store(store, current, day)
    if json_out:
        print_json(
            {"schema_version": SCHEMA_VERSION, "analysis_id": analysis_id, "map": state_doc(fs)}
        )
        return
    stdout().print(map_view(fs, future))
