"""``fleetwise decide ACTION approve|reject|defer --by NAME --note ...``: the decision log."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from fleetwise.checked import Id
from fleetwise.models import DecisionKind
from fleetwise.plan.decisions import decision_log
from fleetwise.present.cli.common import (
    DbOption,
    JsonOption,
    checked,
    open_store,
    print_json,
    stdout,
)
from fleetwise.usecases.decisions import record_decision


def decide_cmd(
    action_id: Annotated[int, typer.Argument(help="Action id.", callback=checked(Id))],
    decision: Annotated[DecisionKind, typer.Argument(help="approve, reject or defer.")],
    by: Annotated[str, typer.Option("--by", help="Who decided (name or role).")],
    note: Annotated[str, typer.Option("--note", help="Why.")] = "",
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Record a stakeholder decision on an action and set its status (the same decision
    again is logged once)."""
    with open_store(db, must_exist=True) as store:
        done = record_decision(store, action_id, decision, by, note)
    if json_out:
        print_json(
            {
                "schema_version": 1,
                "decision": done.decision.model_dump(mode="json"),
                "status": done.after.value,
                "new": done.new,
            }
        )
        return
    again = "" if done.new else " (already recorded; not logged again)"
    stdout().print(
        f"action {action_id} ({done.action.title}): {decision.value} by "
        f"{done.decision.by}; status {done.before.value} -> {done.after.value}{again}"
    )


def log_table(store_db: str | None, json_out: bool) -> None:
    with open_store(store_db, must_exist=True) as store:
        log = decision_log(store.decisions(), store.actions())
        if json_out:
            print_json(
                {
                    "schema_version": 1,
                    "decisions": [
                        {
                            **e.decision.model_dump(mode="json"),
                            "action_title": e.action_title,
                            "about": e.subject,
                        }
                        for e in log
                    ],
                }
            )
            return
        t = Table(title="decision log", title_justify="left")
        for col in ("when", "about", "decision", "by", "note"):
            t.add_column(col)
        for e in log:
            d = e.decision
            when = d.decided_at.strftime("%Y-%m-%d %H:%M") if d.decided_at else "-"
            t.add_row(when, e.subject, d.decision.value, d.by, d.note)
        stdout().print(t)
