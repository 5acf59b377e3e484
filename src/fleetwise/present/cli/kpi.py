"""``fleetwise kpi add|list|show|remove``: KPIs bound to stored data, with baseline, goal and
status."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from fleetwise.checked import Day
from fleetwise.errors import InputError
from fleetwise.models import KPI
from fleetwise.plan.kpis import KPIState, Reading, kpi_state, load_kpis, readings
from fleetwise.present.cli.common import (
    DbOption,
    JsonOption,
    checked,
    open_store,
    print_json,
    stdout,
)
from fleetwise.present.cli.removal import ByOption, WhyOption, show_removal, who
from fleetwise.present.cli.sustain import watch_cmd
from fleetwise.store import Store
from fleetwise.units import sig

app = typer.Typer(help="KPIs: baseline, goal, current value and status.", no_args_is_help=True)
app.command("watch")(watch_cmd)

Today = Annotated[
    date | None,
    typer.Option(help="Date to judge status on (default: today).", callback=checked(Day)),
]


def _today(day: date | None) -> date:
    return day or datetime.now(UTC).date()


def kpi_states(store: Store, today: date) -> list[tuple[KPIState, list[Reading]]]:
    """Every KPI's state and readings (shared with the retrospective report)."""
    series, analyses = store.series(), store.analyses()
    out = []
    for k in store.kpis():
        found = readings(k, series, analyses)
        out.append((kpi_state(k, found, today), found))
    return out


def _fmt(x: float | None) -> str:
    return "-" if x is None else sig(x, 4)


def state_doc(s: KPIState) -> dict[str, Any]:
    return {
        **s.kpi.model_dump(mode="json"),
        "baseline": s.baseline,
        "baseline_at": s.baseline_date,
        "current": s.current,
        "current_at": s.current_date,
        "projected_at_goal_date": s.projected,
        "progress": s.progress,
        "status": s.status,
        "readings": s.readings,
        "note": s.note,
    }


def states_table(states: list[KPIState]) -> Table:
    t = Table(title="KPIs", title_justify="left")
    for col in ("name", "unit", "baseline", "current", "goal", "by", "projected", "status", "note"):
        t.add_column(
            col, justify="right" if col in ("baseline", "current", "goal", "projected") else "left"
        )
    for s in states:
        k = s.kpi
        t.add_row(
            k.name,
            k.unit,
            _fmt(s.baseline),
            _fmt(s.current),
            _fmt(k.goal_value),
            str(k.goal_date),
            _fmt(s.projected),
            s.status,
            s.note,
        )
    return t


@app.command("add")
def add_cmd(
    file: Annotated[Path, typer.Argument(help="KPIs YAML file.")],
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Add the KPIs of a YAML file, each bound to its data (all or nothing)."""
    with open_store(db) as store:
        new = load_kpis(
            file,
            series=store.series(),
            analyses=store.analyses(),
            existing=[k.name for k in store.kpis()],
        )
        for k in new:
            store.add_kpi(k)
        _list(store, json_out, _today(None), only={k.name for k in new})


def _list(store: Store, json_out: bool, today: date, only: set[str] | None = None) -> None:
    states = [s for s, _ in kpi_states(store, today) if only is None or s.kpi.name in only]
    if json_out:
        print_json({"schema_version": 1, "today": today, "kpis": [state_doc(s) for s in states]})
        return
    stdout().print(states_table(states))


@app.command("list")
def list_cmd(db: DbOption = None, json_out: JsonOption = False, today: Today = None) -> None:
    """Every KPI: baseline, current, goal, projection and status."""
    with open_store(db, must_exist=True) as store:
        _list(store, json_out, _today(today))


def _find(store: Store, name: str) -> KPI:
    for k in store.kpis():
        if k.name == name:
            return k
    raise InputError(f"no KPI named {name!r} (fleetwise kpi list)")


@app.command("show")
def show_cmd(
    name: Annotated[str, typer.Argument(help="KPI name.")],
    db: DbOption = None,
    json_out: JsonOption = False,
    today: Today = None,
) -> None:
    """One KPI and its readings."""
    with open_store(db, must_exist=True) as store:
        k = _find(store, name)
        found = readings(k, store.series(), store.analyses())
        s = kpi_state(k, found, _today(today))
        if json_out:
            print_json(
                {
                    "schema_version": 1,
                    **state_doc(s),
                    "points": [{"time": r.time, "value": r.value, "ref": r.ref} for r in found],
                }
            )
            return
        out = stdout()
        out.print(states_table([s]))
        t = Table(title=f"{k.name} readings ({k.source})", title_justify="left")
        for col in ("time", "value", "from"):
            t.add_column(col)
        for r in found:
            t.add_row(r.time.strftime("%Y-%m-%d %H:%M:%S"), _fmt(r.value), r.ref)
        out.print(t)


@app.command("remove")
def remove_cmd(
    name: Annotated[str, typer.Argument(help="KPI name.")],
    why: WhyOption = "",
    by: ByOption = None,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Remove a KPI (actions lose their expected effect on it); the decision log keeps who,
    when and why."""
    with open_store(db, must_exist=True) as store:
        show_removal(store.remove_kpi(name, by=who(by), why=why), json_out)
