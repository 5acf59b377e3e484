"""``fleetwise notes add|themes``: interview, shadowing and focus-group notes and their
themes."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from fleetwise.analyze.themes import describe
from fleetwise.present.cli.common import DbOption, JsonOption, open_store, print_json, stdout
from fleetwise.usecases.people import ThemesReport, add_notes, note_themes

app = typer.Typer(help="Interview and shadowing notes and their themes.", no_args_is_help=True)


def themes_tables(report: ThemesReport) -> list[Table]:
    by_method = ", ".join(f"{m} {n}" for m, n in report.by_method.items())
    t = Table(
        title=f"{len(report.themes)} themes in {report.notes} notes ({by_method}) from "
        f"{len(report.by_team)} teams",
        title_justify="left",
    )
    for col in ("theme", "notes", "by method", "by team", "evidence for"):
        t.add_column(col)
    for th in report.themes:
        t.add_row(
            f"#{th.tag}",
            str(th.notes),
            describe(th.by_method, len(th.by_team)),
            ", ".join(f"{k} {v}" for k, v in th.by_team.items()),
            "\n".join(th.links) or "-",
        )
    out = [t]
    if report.evidence:
        e = Table(title="qualitative evidence", title_justify="left")
        for col in ("finding or action", "notes", "themes"):
            e.add_column(col)
        for target, ev in report.evidence.items():
            e.add_row(target, ev.text, ", ".join(f"#{x}" for x in ev.tags))
        out.append(e)
    return out


@app.command("add")
def add_cmd(
    files: Annotated[list[Path], typer.Argument(help="Markdown notes with YAML front matter.")],
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Store notes (all or nothing); a note added again (same id or path) replaces itself."""
    with open_store(db) as store:
        notes, added, replaced = add_notes(store, files)
    if json_out:
        print_json(
            {
                "schema_version": 1,
                "added": added,
                "replaced": replaced,
                "notes": [
                    {
                        "key": n.key,
                        "path": n.path,
                        "title": n.title,
                        "date": n.held_on.isoformat(),
                        "team": n.team,
                        "method": n.method,
                        "tags": n.tags,
                    }
                    for n in notes
                ],
            }
        )
        return
    tags = sorted({t for n in notes for t in n.tags})
    stdout().print(
        f"{len(notes)} notes stored ({added} new, {replaced} replaced); themes: "
        + (", ".join(f"#{t}" for t in tags) or "none")
    )


@app.command("themes")
def themes_cmd(db: DbOption = None, json_out: JsonOption = False) -> None:
    """Themes (tags) counted by team and method, and the findings and actions they support."""
    with open_store(db, must_exist=True) as store:
        report = note_themes(store)
    if json_out:
        print_json(report.model_dump(mode="json"))
        return
    if not report.notes:
        stdout().print("no notes stored: fleetwise notes add FILE.md")
        return
    for t in themes_tables(report):
        stdout().print(t)
