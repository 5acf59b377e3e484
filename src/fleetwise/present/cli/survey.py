"""``fleetwise survey import|report``: survey exports, each wave's statistics and the last
two waves compared."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from fleetwise.present import people_text as fmt
from fleetwise.present.cli.common import (
    DbOption,
    FleetOption,
    JsonOption,
    open_store,
    print_json,
    stdout,
)
from fleetwise.usecases.fleet import profile_for
from fleetwise.usecases.people import SurveyReport, import_survey, survey_report

app = typer.Typer(
    help="Developer-experience surveys: import exports, report waves.", no_args_is_help=True
)


def wave_tables(report: SurveyReport) -> list[Table]:
    """Each wave's constructs and items, then the comparison (what ``survey report`` prints)."""
    out = []
    for w in report.waves:
        size = f" of {w.team_size}" if w.team_size else ""
        t = Table(
            title=f"wave {w.wave}: {w.respondents} responses{size} "
            f"({fmt.FORMATS.get(w.format, w.format)}, {w.first_at:%Y-%m-%d} to "
            f"{w.last_at:%Y-%m-%d}), response rate {fmt.rate(w.response_rate)}",
            title_justify="left",
        )
        for col in ("construct", "n", "response rate", "score 0-100 [95% CI]", "top-2-box", "eNPS"):
            t.add_column(col)
        for c in w.constructs:
            t.add_row(
                c.name,
                str(c.n),
                fmt.rate(c.response_rate),
                fmt.estimate(c.score),
                fmt.share(c.top2),
                fmt.enps(c.enps),
            )
        out.append(t)
        it = Table(title=f"wave {w.wave}: items", title_justify="left")
        for col in ("item", "construct", "scale", "n", "mean [95% CI]", "top-2-box", "eNPS"):
            it.add_column(col)
        for i in w.items:
            scale = i.scale + (" (reverse)" if i.reverse else "")
            mean = fmt.estimate(i.mean) if i.scale != "text" else f"{i.n} free-text answers"
            it.add_row(
                i.key,
                i.construct_name or "-",
                scale,
                str(i.n),
                mean,
                fmt.share(i.top2),
                fmt.enps(i.enps),
            )
        out.append(it)
    if report.comparisons:
        c0 = report.comparisons[0]
        ct = Table(
            title=f"{c0.before} -> {c0.after}: Mann-Whitney U, two-sided; effect = rank-biserial "
            "r (+: higher in the later wave) [95% CI]",
            title_justify="left",
        )
        for col in fmt.COMPARISON_COLUMNS:
            ct.add_column(col)
        for cmp in report.comparisons:
            ct.add_row(*fmt.comparison_cells(cmp))
        out.append(ct)
    return out


@app.command("import")
def import_cmd(
    file: Annotated[
        Path, typer.Argument(help="CSV export of Google Forms, Microsoft Forms or Typeform.")
    ],
    wave: Annotated[
        str | None, typer.Option("--wave", help="Wave name (default: the file's name).")
    ] = None,
    map_file: Annotated[
        Path | None,
        typer.Option("--map", help="Question map YAML: each question's scale and construct."),
    ] = None,
    team_size: Annotated[
        int | None,
        typer.Option(
            "--team-size",
            min=1,
            max=10_000_000,
            help="People asked (default: engineers of the fleet profile's teams).",
        ),
    ] = None,
    fleet: FleetOption = None,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Import one wave; importing a wave of the same name again replaces it."""
    profile = profile_for(fleet) if team_size is None else None
    with open_store(db) as store:
        done = import_survey(
            store, file, wave=wave, map_path=map_file, team_size=team_size, profile=profile
        )
    if json_out:
        print_json(
            {
                "schema_version": 1,
                "wave": done.wave,
                "format": done.format,
                "responses": done.responses,
                "replaced": done.replaced,
                "stats": done.stats.model_dump(mode="json"),
            }
        )
        return
    how = "replaced the stored wave" if done.replaced else "stored"
    size = f" of {done.stats.team_size}" if done.stats.team_size else ""
    stdout().print(
        f"wave {done.wave}: {done.responses} responses{size} "
        f"({fmt.FORMATS[done.format]} export) {how}; response rate "
        f"{fmt.rate(done.stats.response_rate)}; {len(done.stats.constructs)} constructs, "
        f"{len(done.stats.items)} items (fleetwise survey report)"
    )


@app.command("report")
def report_cmd(
    team: Annotated[
        str | None,
        typer.Option(
            "--team",
            help="Only the respondents of this team (the map's team_question; at least 5 "
            "answers per wave).",
        ),
    ] = None,
    fleet: FleetOption = None,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Every wave per construct and item (mean, top-2-box, eNPS with 95% CIs) and the last
    two waves compared."""
    profile = profile_for(fleet) if team is not None else None
    with open_store(db, must_exist=True) as store:
        report = survey_report(store, team=team, profile=profile)
    if json_out:
        print_json(report.model_dump(mode="json"))
        return
    console = stdout()
    if not report.waves:
        console.print("no survey stored: fleetwise survey import FILE --map QUESTIONS.yaml")
        return
    if team is not None:
        console.print(f"team {team}: its respondents only")
    for t in wave_tables(report):
        console.print(t)
    for n in report.notes:
        console.print(f"note: {n}")
