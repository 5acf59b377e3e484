"""The people side: survey waves and their comparison, interview and shadowing notes and
their themes; what ``fleetwise survey`` / ``fleetwise notes``, the People page and the
briefing's people section all call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from fleetwise.analyze.survey import Comparison, WaveStats, compare_waves, wave_stats
from fleetwise.analyze.themes import Evidence, Theme, all_evidence, themes
from fleetwise.collect.importers import notes as notes_importer
from fleetwise.collect.importers import survey as survey_importer
from fleetwise.collect.importers.notes import Note
from fleetwise.errors import InputError
from fleetwise.models import SCHEMA_VERSION
from fleetwise.plan.fleet import FleetProfile
from fleetwise.plan.questions import load_map
from fleetwise.store import Store
from fleetwise.store.people import StoredWave

#: Below this share of the team answering, a wave's report says who it speaks for.
LOW_RESPONSE_RATE = 0.5
#: The smallest group of respondents a report shows (fewer could be told apart).
MIN_GROUP = 5


class SurveyReport(BaseModel):
    schema_version: int = SCHEMA_VERSION
    waves: list[WaveStats]
    #: The last two waves compared, item by item and construct by construct.
    comparisons: list[Comparison]
    notes: list[str]


class ThemesReport(BaseModel):
    schema_version: int = SCHEMA_VERSION
    notes: int
    by_method: dict[str, int]
    by_team: dict[str, int]
    themes: list[Theme]
    #: ``finding:<kind>`` / ``action:<title>`` -> the notes behind it.
    evidence: dict[str, Evidence]


@dataclass(frozen=True)
class SurveyImport:
    wave: str
    format: str
    responses: int
    replaced: bool
    stats: WaveStats


def team_size_of(profile: FleetProfile) -> int | None:
    """The engineers of the fleet profile's teams (None when no team states a number)."""
    sizes = [t.engineers for t in profile.teams if t.engineers is not None]
    return sum(sizes) if sizes else None


def summary_of(stats: WaveStats) -> dict[str, Any]:
    """The wave's figures as an analysis summary (what a survey KPI reads)."""

    def figures(x: Any, names: Sequence[str]) -> dict[str, float]:
        out = {}
        for n in names:
            est = getattr(x, n)
            if est is not None:
                out[n] = est.value
        return out

    return {
        "wave": stats.wave,
        "date": stats.last_at.isoformat(),
        "respondents": stats.respondents,
        "response_rate": stats.response_rate,
        "constructs": {c.name: figures(c, ("score", "top2", "enps")) for c in stats.constructs},
        "items": {
            i.key: figures(i, ("mean", "top2", "enps")) for i in stats.items if i.scale != "text"
        },
    }


def _stats(w: StoredWave) -> WaveStats:
    return wave_stats(w.name, w.format, w.source, w.items, w.responses, w.team_size)


def import_survey(
    store: Store,
    path: Path,
    *,
    wave: str | None = None,
    map_path: Path | None = None,
    team_size: int | None = None,
    profile: FleetProfile | None = None,
) -> SurveyImport:
    """Parse, check and store one export as wave ``wave`` (default: the file's stem),
    replacing a stored wave of that name."""
    qmap = load_map(map_path) if map_path is not None else None
    export = survey_importer.parse(path, qmap, map_path)
    name = wave or path.stem
    if not name.strip() or len(name) > 128:
        raise InputError(f"wave name {name!r}: 1 to 128 characters")
    size = team_size if team_size is not None else team_size_of(profile) if profile else None
    if size is not None and size < len(export.responses):
        raise InputError(
            f"{path}: {len(export.responses)} responses but a team of {size}: pass the team's "
            "size with --team-size"
        )
    stats = wave_stats(name, export.format, str(path), export.items, export.responses, size)
    _, replaced = store.save_survey_wave(name, export, size, summary_of(stats))
    return SurveyImport(name, export.format, len(export.responses), replaced, stats)


def _team_waves(waves: list[StoredWave], team: str, size: int | None) -> list[StoredWave]:
    """The waves restricted to the respondents of ``team`` (the map's team question);
    a wave where fewer than ``MIN_GROUP`` of them answered is refused, not shown."""
    out = []
    for w in waves:
        mine = [r for r in w.responses if r.team.casefold() == team.casefold()]
        if len(mine) < MIN_GROUP:
            raise InputError(
                f"team {team!r}: {len(mine)} answers in wave {w.name}; fewer than {MIN_GROUP} "
                "are not shown, to keep answers anonymous"
            )
        out.append(replace(w, responses=mine, team_size=size))
    return out


def survey_report(
    store: Store, *, team: str | None = None, profile: FleetProfile | None = None
) -> SurveyReport:
    """Every stored wave's statistics, and the last two waves compared; with ``team``,
    those of that team's respondents (its size from the fleet profile's engineers)."""
    waves = store.survey_waves()
    if team is not None:
        found = [t for t in (profile.teams if profile else []) if t.name == team]
        waves = _team_waves(waves, team, found[0].engineers if found else None)
    stats = [_stats(w) for w in waves]
    notes: list[str] = []
    comparisons: list[Comparison] = []
    if len(waves) >= 2:
        a, b = waves[-2], waves[-1]
        comparisons = compare_waves(
            (a.name, b.name), (a.items, b.items), (a.responses, b.responses)
        )
        if not comparisons:
            notes.append(f"waves {a.name} and {b.name} share no scale item to compare")
    elif waves:
        notes.append("one wave stored: import a second (--wave NAME) to compare them")
    for st in stats:
        if st.response_rate is not None and st.response_rate < LOW_RESPONSE_RATE:
            notes.append(
                f"wave {st.wave}: {st.respondents} of {st.team_size} answered "
                f"({st.response_rate:.0%}): its figures speak for those who answered, not "
                "for the whole team"
            )
    if any(s.team_size is None for s in stats):
        notes.append(
            "response rates need the team size: --team-size N, or engineers per team in the "
            "fleet profile"
        )
    return SurveyReport(waves=stats, comparisons=comparisons, notes=notes)


def add_notes(store: Store, paths: Sequence[Path]) -> tuple[list[Note], int, int]:
    """Parse every note first (all or nothing), then store them; (notes, added, replaced)."""
    by_key: dict[str, Note] = {}
    for p in paths:
        n = notes_importer.parse(p)
        by_key[n.key] = n
    parsed = list(by_key.values())
    added, replaced = store.save_notes(parsed)
    return parsed, added, replaced


def _count(values: Sequence[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        out[v] = out.get(v, 0) + 1
    return dict(sorted(out.items(), key=lambda kv: (-kv[1], kv[0])))


def note_themes(store: Store) -> ThemesReport:
    """The stored notes' themes, counted by team and method, and what they are evidence for."""
    stored = store.notes()
    return ThemesReport(
        notes=len(stored),
        by_method=_count([n.method for n in stored]),
        by_team=_count([n.team for n in stored]),
        themes=themes(stored),
        evidence=all_evidence(stored),
    )


def qualitative_evidence(store: Store) -> dict[str, Evidence]:
    """``finding:<kind>`` / ``action:<title>`` -> the notes linked to it."""
    return all_evidence(store.notes())


def evidence_line(evidence: dict[str, Evidence], target: str) -> str:
    """The line "qualitative evidence: 3 interviews, 2 teams (#flaky-tests)" for ``target``
    (``finding:<kind>`` or ``action:<title>``), or "" when no note is linked to it."""
    ev = evidence.get(target)
    if ev is None:
        return ""
    tags = ", ".join(f"#{t}" for t in ev.tags)
    return f"qualitative evidence: {ev.text} ({tags})"
