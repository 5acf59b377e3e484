"""``fleetwise retro add|list|report``: retrospectives and the improvement report."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from fleetwise.plan.retro import ImprovementRow, improvement_report, load_retro
from fleetwise.present.cli.common import DbOption, JsonOption, open_store, print_json, stdout
from fleetwise.present.cli.kpi import kpi_states

app = typer.Typer(help="Sprint retrospectives and the improvement report.", no_args_is_help=True)


@app.command("add")
def add_cmd(
    file: Annotated[Path, typer.Argument(help="Retrospective YAML file.")],
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Record a retrospective; its actions join the backlog (all or nothing)."""
    with open_store(db) as store:
        retro, new = load_retro(
            file,
            known_kpis={k.name for k in store.kpis()},
            known_ids={a.id for a in store.actions() if a.id is not None},
        )
        rid = store.add_retrospective(retro, new.actions, new.local_deps)
        stored = next(r for r in store.retrospectives() if r.id == rid)
        if json_out:
            print_json({"schema_version": 1, "retrospective": stored.model_dump(mode="json")})
            return
        ids = ", ".join(f"#{i}" for i in stored.action_ids) or "none"
        stdout().print(f"retrospective {rid} ({stored.team}, {stored.date}) stored; actions {ids}")


@app.command("list")
def list_cmd(
    team: Annotated[str | None, typer.Option(help="Only this team.")] = None,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Retrospectives, oldest first."""
    with open_store(db, must_exist=True) as store:
        retros = store.retrospectives(team)
        if json_out:
            print_json(
                {"schema_version": 1, "retrospectives": [r.model_dump(mode="json") for r in retros]}
            )
            return
        t = Table(title=f"{len(retros)} retrospectives", title_justify="left")
        for col in ("id", "date", "team", "sprint", "went well", "to improve", "actions"):
            t.add_column(col)
        for r in retros:
            t.add_row(
                str(r.id),
                str(r.date),
                r.team,
                r.sprint or "-",
                "\n".join(r.went_well),
                "\n".join(r.to_improve),
                ", ".join(f"#{i}" for i in r.action_ids) or "-",
            )
        stdout().print(t)


def _row_doc(r: ImprovementRow) -> dict[str, object]:
    return {
        "retrospective": r.retro.id,
        "date": r.retro.date,
        "team": r.retro.team,
        "sprint": r.retro.sprint,
        "action": r.action.id,
        "title": r.action.title,
        "status": r.action.status.value,
        "kpi": r.kpi,
        "expected_change": r.expected_change,
        "before": r.before,
        "after": r.after,
        "change": r.change,
        "before_ref": r.before_ref,
        "after_ref": r.after_ref,
    }


@app.command("report")
def report_cmd(db: DbOption = None, json_out: JsonOption = False) -> None:
    """Each sprint's actions with their KPIs before and after."""
    with open_store(db, must_exist=True) as store:
        states = kpi_states(store, datetime.now(UTC).date())
        rows = improvement_report(
            store.retrospectives(),
            store.actions(),
            [s.kpi for s, _ in states],
            {s.kpi.name: found for s, found in states},
        )
        if json_out:
            print_json({"schema_version": 1, "rows": [_row_doc(r) for r in rows]})
            return
        # The report module pulls in the chart library: only this command needs it.
        from fleetwise.present.reports.improvement import IMPROVEMENT_COLUMNS, improvement_cells

        t = Table(title="improvement report", title_justify="left")
        for col in IMPROVEMENT_COLUMNS:
            t.add_column(col)
        for r in rows:
            t.add_row(*improvement_cells(r))
        stdout().print(t)
