"""``fleetwise stakeholder|meeting|alignment|comms``: the register, RACI, the alignment log
and the communication plan (thin adapters over ``usecases.alignment``)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from fleetwise.checked import Day
from fleetwise.errors import InputError
from fleetwise.present.cli.common import (
    DbOption,
    JsonOption,
    checked,
    open_store,
    print_json,
    stdout,
)
from fleetwise.usecases import alignment as uc

stakeholder_app = typer.Typer(
    help="The stakeholder register, the influence/interest grid and RACI per action.",
    no_args_is_help=True,
)
meeting_app = typer.Typer(help="Stakeholder meetings: the alignment log.", no_args_is_help=True)
comms_app = typer.Typer(
    help="The communication plan made from the rollout and RACI.", no_args_is_help=True
)
TodayOption = Annotated[
    date | None,
    typer.Option(help="Plan from this day (default: today).", callback=checked(Day)),
]
Names = Annotated[list[str] | None, typer.Option(help="A stakeholder name (repeat for more).")]


def _today(day: date | None) -> date:
    return day or datetime.now(UTC).date()


@stakeholder_app.command("import")
def import_cmd(
    file: Annotated[Path, typer.Argument(help="Register YAML: stakeholders and RACI.")],
    db: DbOption = None,
) -> None:
    """Add or update stakeholders and the RACI of the actions the file names."""
    with open_store(db) as store:
        done = uc.import_register(store, file)
    stdout().print(
        f"{file}: {_n(done.added, 'stakeholder')} added, {done.updated} updated; "
        f"RACI for {_n(len(done.raci_actions), 'action')}",
        markup=False,
    )


@stakeholder_app.command("list")
def list_cmd(db: DbOption = None, json_out: JsonOption = False) -> None:
    """The register with each person's grid quadrant and current stance."""
    with open_store(db, must_exist=True) as store:
        view = uc.alignment_view(store, _today(None))
    if json_out:
        print_json(
            {
                "schema_version": 1,
                "grid": view.grid,
                "stakeholders": [
                    v.model_dump(mode="json", include=_LIST_KEYS) for v in view.stakeholders
                ],
            }
        )
        return
    t = Table(title=f"{len(view.stakeholders)} stakeholders", title_justify="left")
    for col in ("name", "role", "team", "influence", "interest", "grid", "stance", "RACI"):
        t.add_column(col)
    for v in view.stakeholders:
        t.add_row(
            escape(v.name),
            escape(v.role),
            escape(v.team),
            str(v.influence),
            str(v.interest),
            v.quadrant,
            v.stance or "-",
            _raci_counts(list(v.raci.values())),
        )
    stdout().print(t)
    stdout().print("grid: " + "; ".join(f"{q} {len(names)}" for q, names in view.grid.items()))


def _raci_counts(letters: list[str]) -> str:
    """``A 4, R 1``: how many actions a person holds each letter on."""
    joined = "".join(letters)
    return ", ".join(f"{r} {joined.count(r)}" for r in "RACI" if r in joined) or "-"


_LIST_KEYS = {"name", "role", "team", "influence", "interest", "quadrant", "stance", "raci"}


@stakeholder_app.command("raci")
def raci_cmd(
    action: Annotated[str, typer.Argument(help="The action: its title, slug or catalog key.")],
    responsible: Names = None,
    accountable: Names = None,
    consulted: Names = None,
    informed: Names = None,
    db: DbOption = None,
) -> None:
    """Set an action's RACI (exactly one --accountable)."""
    with open_store(db, must_exist=True) as store:
        got, raci = uc.set_raci(
            store, action, responsible or [], accountable or [], consulted or [], informed or []
        )
    letters = "; ".join(f"{r} {n}" for r, n in raci.letters())
    stdout().print(f"RACI of '{got.title}': {letters}", markup=False)


@meeting_app.command("add")
def meeting_add_cmd(
    file: Annotated[
        Path, typer.Argument(help="Meeting file: YAML, or Markdown with front matter.")
    ],
    db: DbOption = None,
) -> None:
    """Record a meeting (adding it again replaces it); its decisions join the decision log."""
    with open_store(db, must_exist=True) as store:
        done = uc.add_meeting(store, file)
    m = done.meeting
    verb = "replaced" if done.replaced else "stored"
    stdout().print(
        f"meeting {m.date} '{m.title}' {verb}: {_n(len(m.attendees), 'attendee')}, "
        f"{_n(len(m.objections), 'objection')}, {_n(len(m.stances), 'stance change')}; "
        f"{_n(done.logged, 'decision')} logged"
        + (f" ({done.already} logged before)" if done.already else ""),
        markup=False,
    )


def _n(k: int, noun: str) -> str:
    return f"{k} {noun}{'' if k == 1 else 's'}"


@meeting_app.command("list")
def meeting_list_cmd(db: DbOption = None, json_out: JsonOption = False) -> None:
    """Meetings, oldest first."""
    with open_store(db, must_exist=True) as store:
        view = uc.alignment_view(store, _today(None))
    if json_out:
        print_json({"schema_version": 1, "meetings": view.meetings})
        return
    t = Table(title=f"{len(view.meetings)} meetings", title_justify="left")
    for col in ("date", "title", "attendees", "decisions", "objections", "stance changes"):
        t.add_column(col)
    for m in view.meetings:
        t.add_row(
            str(m["date"]),
            escape(str(m["title"])),
            str(m["attendees"]),
            str(m["decisions"]),
            str(m["objections"]),
            str(m["stance_changes"]),
        )
    stdout().print(t)


def alignment_cmd(
    today: TodayOption = None, db: DbOption = None, json_out: JsonOption = False
) -> None:
    """The alignment log: per stakeholder, what they asked and what changed."""
    with open_store(db, must_exist=True) as store:
        view = uc.alignment_view(store, _today(today))
    if json_out:
        print_json({"schema_version": 1, **view.model_dump(mode="json")})
        return
    from fleetwise.present.reports.alignment import alignment_lines

    out = stdout()
    for line in alignment_lines(view):
        out.print(line, markup=False)


@comms_app.command("plan")
def comms_plan_cmd(
    fmt: Annotated[str, typer.Option("--format", help="md (Markdown) or ics (iCalendar).")] = "md",
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write to FILE.")] = None,
    today: TodayOption = None,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Who hears what, when, on which channel, owned by whom (from today on)."""
    if fmt not in ("md", "ics"):
        raise InputError(f"--format: {fmt!r} is not md or ics")
    with open_store(db, must_exist=True) as store:
        view = uc.alignment_view(store, _today(today))
    if json_out:
        doc: dict[str, Any] = {
            "schema_version": 1,
            "programme_lead": view.programme_lead,
            "without_raci": view.without_raci,
            "blocked": view.blocked,
            "events": [c.model_dump(mode="json") for c in view.comms],
        }
        print_json(doc)
        return
    from fleetwise.present.reports.alignment import comms_ics, comms_markdown

    text = comms_ics(view, datetime.now(UTC)) if fmt == "ics" else comms_markdown(view)
    if output is None:
        typer.echo(text, nl=False)
        return
    try:
        output.write_bytes(text.encode("utf-8"))
    except OSError as exc:
        raise InputError(f"{output}: cannot write: {exc.strerror or exc}") from exc
    stdout().print(f"wrote {output} ({_n(len(view.comms), 'message')})", markup=False)
