"""The briefing's people section: the developer-experience survey (constructs per wave with
their CIs, what changed between the last two waves) and the themes of the interview and
shadowing notes; and the notes beside the findings they support ("3 interviews, 2 teams").
"""

from __future__ import annotations

import re

from fleetwise.analyze.themes import describe
from fleetwise.present import people_text as fmt
from fleetwise.present.reports.facts import Facts
from fleetwise.present.reports.model import Figure, Item, Section, Table, absent
from fleetwise.store import Store
from fleetwise.units import percent
from fleetwise.usecases.people import (
    SurveyReport,
    ThemesReport,
    evidence_line,
    note_themes,
    qualitative_evidence,
    survey_report,
)

TITLE = "What the people say"
NO_PEOPLE = (
    "no survey or notes stored: fleetwise survey import FILE --map QUESTIONS.yaml, "
    "fleetwise notes add NOTE.md"
)
TOP_THEMES = 5


def _survey_parts(report: SurveyReport) -> tuple[list[Figure], list[Table], list[Item]]:
    last = report.waves[-1]
    src = f"fleetwise survey report (wave {last.wave})"
    figures = [
        Figure(
            key=f"people.{c.name}.score",
            label=f"{c.name} score 0-100, wave {last.wave} (95% CI)",
            value=c.score.value,
            text=fmt.estimate(c.score),
            source=src,
        )
        for c in last.constructs
        if c.score is not None
    ]
    enps = next((c.enps for c in last.constructs if c.enps is not None), None)
    if enps is not None:
        figures.append(
            Figure(
                key="people.enps",
                label=f"eNPS, wave {last.wave} (95% CI)",
                value=enps.value,
                text=fmt.enps(enps),
                source=src,
            )
        )
    if last.response_rate is not None:
        figures.append(
            Figure(
                key="people.response_rate",
                label=f"response rate, wave {last.wave} ({last.respondents} of {last.team_size})",
                value=last.response_rate,
                text=percent(last.response_rate, 0),
                source=src,
            )
        )
    waves = report.waves[-2:]
    changes = {c.key: c for c in report.comparisons if c.subject == "construct"}
    rows = []
    for name in [c.name for c in last.constructs]:
        cells = [name]
        for w in waves:
            found = next((c for c in w.constructs if c.name == name), None)
            cells.append(fmt.estimate(found.score) if found else "-")
        cmp = changes.get(name)
        cells.append(f"{cmp.verdict} ({fmt.effect(cmp)})" if cmp else "-")
        rows.append(cells)
    table = Table(
        title="survey constructs, score 0-100 [95% CI]",
        columns=["construct", *(f"wave {w.wave}" for w in waves), "change"],
        rows=rows,
        source="fleetwise survey report",
    )
    items = []
    changed = [c for c in report.comparisons if c.subject == "item" and c.p < 0.05]
    same = [c for c in report.comparisons if c.subject == "item" and c.p >= 0.05]
    if report.comparisons:
        lines = [
            f"{c.label}: mean {fmt.comparison_cells(c)[2]}, {c.verdict}, "
            f"{fmt.comparison_cells(c)[5]}"
            for c in changed
        ]
        if same:
            lines.append(
                f"no detectable change in {len(same)} items: " + ", ".join(c.key for c in same)
            )
        c0 = report.comparisons[0]
        items.append(
            Item(
                title=f"What changed from wave {c0.before} to {c0.after}",
                lines=lines,
                source="fleetwise survey report (Mann-Whitney U)",
            )
        )
    return figures, [table], items


def _theme_items(report: ThemesReport) -> list[Item]:
    out = []
    methods = ", ".join(f"{n} {m}" for m, n in report.by_method.items())
    lines = []
    for th in report.themes[:TOP_THEMES]:
        evidence = f"; evidence for {', '.join(th.links)}" if th.links else ""
        quote = f' "{th.quote}"' if th.quote else ""
        lines.append(f"#{th.tag}: {describe(th.by_method, len(th.by_team))}{evidence}.{quote}")
    out.append(
        Item(
            title=f"Themes of {report.notes} notes ({methods}) from {len(report.by_team)} teams",
            lines=lines,
            source="fleetwise notes themes",
        )
    )
    return out


def section(store: Store) -> Section:
    """The survey and the notes, or what to run to add them."""
    survey = survey_report(store)
    themes = note_themes(store)
    if not survey.waves and not themes.notes:
        return absent("people", TITLE, NO_PEOPLE)
    figures: list[Figure] = []
    tables: list[Table] = []
    items: list[Item] = []
    paragraphs: list[str] = []
    if survey.waves:
        figures, tables, items = _survey_parts(survey)
        paragraphs.extend(survey.notes)
    else:
        paragraphs.append("no survey stored: fleetwise survey import FILE --map QUESTIONS.yaml")
    if themes.notes:
        items.extend(_theme_items(themes))
    else:
        paragraphs.append("no interview or shadowing notes: fleetwise notes add NOTE.md")
    return Section(
        key="people",
        title=TITLE,
        paragraphs=paragraphs,
        figures=figures,
        tables=tables,
        items=items,
    )


_FINDING_SOURCE = re.compile(r"^finding (\d+),")


def add_finding_evidence(store: Store, facts: Facts, sections: list[Section]) -> None:
    """Beside each finding or action an item shows, the notes linked to it ("qualitative
    evidence: 2 interviews, 1 shadowing session, 2 teams (#flaky-tests)")."""
    evidence = qualitative_evidence(store)
    if not evidence:
        return
    kinds = {f.id: f.kind for f in facts.findings}
    for sec in sections:
        for item in sec.items:
            m = _FINDING_SOURCE.match(item.source)
            kind = kinds.get(int(m.group(1))) if m else None
            line = evidence_line(evidence, f"finding:{kind}") if kind else ""
            line = line or evidence_line(evidence, f"action:{item.title}")
            if line and line not in item.lines:
                item.lines.append(line)
