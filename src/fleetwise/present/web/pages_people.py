"""The People page: the developer-experience survey per wave (constructs and items with
their 95% CIs, the last two waves compared) and the themes of the interview and shadowing
notes; the same use-case calls as ``fleetwise survey report`` and ``fleetwise notes themes``."""

from __future__ import annotations

from pydantic import BaseModel

from fleetwise.models import SCHEMA_VERSION
from fleetwise.present import charts
from fleetwise.present import people_text as fmt
from fleetwise.present.web.page import Page, add_chart
from fleetwise.present.web.reader import StoreReader
from fleetwise.store.schema import NoteRow, SurveyWaveRow
from fleetwise.usecases.people import SurveyReport, ThemesReport, note_themes, survey_report


class ConstructLine(BaseModel):
    """One construct across the waves, as the page's table shows it."""

    name: str
    #: Wave -> "score [low, high]".
    scores: dict[str, str]
    change: str


class PeoplePage(BaseModel):
    schema_version: int = SCHEMA_VERSION
    survey: SurveyReport
    themes: ThemesReport
    constructs: list[ConstructLine]


def _lines(report: SurveyReport) -> list[ConstructLine]:
    names: list[str] = []
    for w in report.waves:
        names.extend(c.name for c in w.constructs if c.name not in names)
    changes = {c.key: c for c in report.comparisons if c.subject == "construct"}
    out = []
    for name in names:
        scores = {}
        for w in report.waves:
            found = next((c for c in w.constructs if c.name == name), None)
            scores[w.wave] = fmt.estimate(found.score) if found else "-"
        cmp = changes.get(name)
        out.append(
            ConstructLine(
                name=name,
                scores=scores,
                change=f"{cmp.verdict} ({fmt.effect(cmp)})" if cmp else "-",
            )
        )
    return out


def people_page(reader: StoreReader, charts_wanted: bool = False) -> Page[PeoplePage]:
    survey = reader.cached("people:survey", (SurveyWaveRow,), lambda: survey_report(reader.store))
    themes = reader.cached("people:themes", (NoteRow,), lambda: note_themes(reader.store))
    page = Page(PeoplePage(survey=survey, themes=themes, constructs=_lines(survey)))
    rows = [
        {
            "construct": c.name,
            "wave": w.wave,
            "score": c.score.value,
            "low": c.score.low if c.score.low is not None else c.score.value,
            "high": c.score.high if c.score.high is not None else c.score.value,
        }
        for w in survey.waves
        for c in w.constructs
        if c.score is not None
    ]
    add_chart(
        page, "constructs", lambda: charts.survey_constructs(rows), charts_wanted and bool(rows)
    )
    return page
