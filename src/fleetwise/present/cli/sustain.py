"""``fleetwise kpi watch``: done actions' KPIs after closure: held, eroding (a finding), or
not yet due at 30/60/90 days, and the owners whose gains were measured."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

import typer
from rich.console import Group
from rich.table import Table
from rich.text import Text

from fleetwise.checked import Day, Share
from fleetwise.models import SCHEMA_VERSION
from fleetwise.plan.sustain import DEFAULT_GUARD, SustainReport
from fleetwise.present.cli.common import (
    DbOption,
    JsonOption,
    checked,
    open_store,
    print_json,
    stdout,
)
from fleetwise.present.reports.sustain import WATCH_COLUMNS, watch_cells
from fleetwise.units import percent
from fleetwise.usecases.sustain import sustain_doc, watch_gains


def watch_view(r: SustainReport) -> Group:
    if not r.watches:
        return Group(
            Text(
                "no done action with a KPI effect: nothing under watch "
                "(fleetwise plan update ID --status done --end DAY)"
            )
        )
    t = Table(title=f"gains under watch (guard band: keep {percent(1 - r.guard, 0)})")
    for name in WATCH_COLUMNS:
        t.add_column(
            name, justify="right" if name in ("before", "measured", "latest", "kept") else "left"
        )
    for w in r.watches:
        t.add_row(*watch_cells(w))
    lines = [
        Text(
            "recognition: "
            + "; ".join(
                f"{c.owner} ({', '.join(f'#{a.id}' for a in c.actions)})" for c in r.recognition
            )
            if r.recognition
            else "recognition: no gain measured yet"
        ),
        Text(f"eroding gains: {len(r.findings)} (stored as findings process.gain_eroding)"),
    ]
    return Group(t, *lines)


def watch_cmd(
    guard: Annotated[
        float,
        typer.Option(
            help="Share of a measured gain the KPI may give back before it is eroding.",
            callback=checked(Share),
        ),
    ] = DEFAULT_GUARD,
    today: Annotated[
        date | None,
        typer.Option(help="Day to judge on (default: today).", callback=checked(Day)),
    ] = None,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Watch the KPIs of done actions after closure (their --end day): each gain held or
    eroding, at 30/60/90 days; an eroding gain becomes a finding linked to its action
    (watching again replaces the previous watch's findings)."""
    day = today or datetime.now(UTC).date()
    with open_store(db, must_exist=True) as store:
        analysis_id, report = watch_gains(store, day, guard)
    if json_out:
        print_json(
            {
                "schema_version": SCHEMA_VERSION,
                "analysis_id": analysis_id,
                **sustain_doc(report),
                "findings": [f.model_dump(mode="json") for f in report.findings],
            }
        )
        return
    stdout().print(watch_view(report))
