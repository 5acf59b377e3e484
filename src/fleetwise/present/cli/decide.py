"""``fleetwise decide ACTION approve|reject|defer --by NAME --note ...``: the decision log."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from fleetwise.errors import InputError
from fleetwise.models import Decision, DecisionKind
from fleetwise.plan.decisions import decision_log, status_after
from fleetwise.present.cli.common import DbOption, JsonOption, open_store, print_json, stdout


def decide_cmd(
    action_id: Annotated[int, typer.Argument(help="Action id.")],
    decision: Annotated[DecisionKind, typer.Argument(help="approve, reject or defer.")],
    by: Annotated[str, typer.Option("--by", help="Who decided (name or role).")],
    note: Annotated[str, typer.Option("--note", help="Why.")] = "",
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Record a stakeholder decision on an action and set its status."""
    if not by.strip():
        raise InputError("--by: say who decided (a name or a role)")
    with open_store(db) as store:
        action = store.get_action(action_id)
        new_status = status_after(action, decision)
        entry = Decision(
            action_id=action_id,
            decision=decision,
            by=by.strip(),
            note=note,
            decided_at=datetime.now(UTC),
        )
        entry.id = store.record_decision(entry, new_status)
        if json_out:
            print_json(
                {
                    "schema_version": 1,
                    "decision": entry.model_dump(mode="json"),
                    "status": new_status.value,
                }
            )
            return
        stdout().print(
            f"action {action_id} ({action.title}): {decision.value} by {entry.by}; "
            f"status {action.status.value} -> {new_status.value}"
        )


def log_table(store_db: str | None, json_out: bool) -> None:
    with open_store(store_db) as store:
        log = decision_log(store.decisions(), store.actions())
        if json_out:
            print_json(
                {
                    "schema_version": 1,
                    "decisions": [
                        {**e.decision.model_dump(mode="json"), "action_title": e.action_title}
                        for e in log
                    ],
                }
            )
            return
        t = Table(title="decision log", title_justify="left")
        for col in ("when", "action", "decision", "by", "note"):
            t.add_column(col)
        for e in log:
            d = e.decision
            when = d.decided_at.strftime("%Y-%m-%d %H:%M") if d.decided_at else "-"
            t.add_row(when, f"#{d.action_id} {e.action_title}", d.decision.value, d.by, d.note)
        stdout().print(t)
