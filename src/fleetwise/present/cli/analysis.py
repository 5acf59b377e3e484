"""``fleetwise analysis list|remove``: the stored diagnoses (trace, cluster, bench,
process...) and their findings; removing one takes its findings with it."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from fleetwise.checked import Id
from fleetwise.models import AnalysisRecord
from fleetwise.present.cli.common import (
    DbOption,
    JsonOption,
    checked,
    open_store,
    print_json,
    stdout,
)
from fleetwise.present.cli.removal import ByOption, WhyOption, show_removal, who

app = typer.Typer(
    help="Stored analyses and their findings: list them, remove a bad one.", no_args_is_help=True
)


def analysis_doc(a: AnalysisRecord) -> dict[str, Any]:
    return {
        "id": a.id,
        "kind": a.kind,
        "source": a.source,
        "created_at": a.created_at,
        "tags": a.tags,
        "findings": [
            {"id": f.id, "kind": f.kind, "title": f.title, "severity": f.severity.value}
            for f in a.findings
        ],
    }


@app.command("list")
def list_cmd(
    kind: Annotated[
        str | None, typer.Option("--kind", help="Only this kind (trace, cluster, bench...).")
    ] = None,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Stored analyses, oldest first, with how many findings each holds."""
    with open_store(db, must_exist=True) as store:
        found = store.analyses(kind)
    if json_out:
        print_json({"schema_version": 1, "analyses": [analysis_doc(a) for a in found]})
        return
    t = Table(title=f"{len(found)} analyses", title_justify="left")
    for col in ("id", "kind", "source", "when", "tags", "findings"):
        t.add_column(col, justify="right" if col in ("id", "findings") else "left")
    for a in found:
        t.add_row(
            str(a.id),
            a.kind,
            a.source,
            a.created_at.strftime("%Y-%m-%d %H:%M"),
            ", ".join(a.tags) or "-",
            str(len(a.findings)),
        )
    stdout().print(t)


@app.command("remove")
def remove_cmd(
    analysis_id: Annotated[
        int, typer.Argument(help="Analysis id (fleetwise analysis list).", callback=checked(Id))
    ],
    why: WhyOption = "",
    by: ByOption = None,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Remove an analysis and its findings; actions that answered them stay, unlinked, and
    the decision log keeps who, when and why."""
    with open_store(db, must_exist=True) as store:
        show_removal(store.remove_analysis(analysis_id, by=who(by), why=why), json_out)
