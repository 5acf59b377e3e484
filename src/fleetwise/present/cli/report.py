"""``fleetwise report briefing|performance|improvement``: reports built from the store.

Each command builds one ``Report`` (``present.reports``) and renders it as HTML, PDF or
PPTX; ``--json`` prints the report model itself, every figure with its source.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from fleetwise.checked import Day
from fleetwise.errors import InputError
from fleetwise.present.cli.common import (
    DbOption,
    FleetOption,
    JsonOption,
    checked,
    open_store,
    print_json,
    stdout,
)
from fleetwise.store import Store
from fleetwise.usecases.fleet import profile_for

if TYPE_CHECKING:
    from fleetwise.present.reports.model import Report

# The report builders and renderers (Altair, Jinja, python-pptx, a browser for PDF) are
# imported when a report is made: every other command starts without them.

app = typer.Typer(
    help="Reports from the store: briefing, performance, improvement.", no_args_is_help=True
)


class Format(StrEnum):
    html = "html"
    pdf = "pdf"
    pptx = "pptx"


def _renderer(fmt: Format) -> Callable[[Report, Path], Path]:
    if fmt is Format.pdf:
        from fleetwise.present.reports.pdf import render_pdf

        return render_pdf
    if fmt is Format.pptx:
        from fleetwise.present.reports.pptx import render_pptx

        return render_pptx
    from fleetwise.present.reports.html import render_html

    return render_html


FormatOption = Annotated[Format, typer.Option("--format", "-f", help="Output format.")]
OutOption = Annotated[
    Path | None,
    typer.Option("--output", "-o", help="File to write (default: ./<report>.<format>)."),
]
TodayOption = Annotated[
    date | None,
    typer.Option(help="Date to report on (default: today).", callback=checked(Day)),
]


def _today(day: date | None) -> date:
    return day or datetime.now(UTC).date()


def _emit(
    db: str | None,
    build: Callable[[Store], Report],
    fmt: Format,
    output: Path | None,
    json_out: bool,
) -> None:
    with open_store(db, must_exist=True) as store:
        report = build(store)
    if json_out:
        print_json(report.model_dump(mode="json"))
        return
    target = output or Path(f"{report.kind}.{fmt.value}")
    try:
        path = _renderer(fmt)(report, target)
    except OSError as exc:
        raise InputError(f"{target}: cannot write: {exc.strerror or exc}") from exc
    missing = [s.title for s in [*report.summary, *report.sections] if s.missing]
    stdout().print(f"wrote {path}")
    if missing:
        stdout().print(
            "without data: " + ", ".join(missing) + " (see the report for how to add it)"
        )


@app.command("briefing")
def briefing_cmd(
    fmt: FormatOption = Format.html,
    output: OutOption = None,
    scenario: Annotated[
        Path | None, typer.Option(help="Investment scenario YAML (default: the sourced defaults).")
    ] = None,
    today: TodayOption = None,
    fleet: FleetOption = None,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Executive briefing: one-page summary, one section per area, objections and answers;
    every dollar priced with the fleet profile."""
    from fleetwise.present.reports.briefing import build_briefing

    day = _today(today)
    profile = profile_for(fleet)
    _emit(
        db,
        lambda s: build_briefing(s, today=day, scenario=scenario, profile=profile),
        fmt,
        output,
        json_out,
    )


@app.command("performance")
def performance_cmd(
    fmt: FormatOption = Format.html,
    output: OutOption = None,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Benchmark results, history and change points, with a reproducibility appendix."""
    from fleetwise.present.reports.performance import build_performance

    _emit(db, build_performance, fmt, output, json_out)


@app.command("improvement")
def improvement_cmd(
    fmt: FormatOption = Format.html,
    output: OutOption = None,
    today: TodayOption = None,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Before/after KPIs per sprint, retrospectives, KPIs now."""
    day = _today(today)
    from fleetwise.present.reports.improvement import build_improvement

    _emit(db, lambda s: build_improvement(s, today=day), fmt, output, json_out)
