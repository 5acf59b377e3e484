"""Survey waves and interview/shadowing notes in the store (a ``Store`` mixin).

A wave is known by its name and a note by its key (front-matter id, else path): saving
either again replaces the stored one, in one transaction, so a re-import never adds.
A wave's statistics are also kept as an analysis of kind ``survey`` (source
``survey:<wave>``), which is what a KPI bound to a survey construct reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from fleetwise.collect.importers.notes import Note
from fleetwise.collect.importers.survey import MapItem, SurveyExport, SurveyResponse
from fleetwise.store.findings import add_analysis
from fleetwise.store.schema import (
    AnalysisRow,
    NoteRow,
    SurveyResponseRow,
    SurveyWaveRow,
)
from fleetwise.timeutil import as_utc

#: The analysis kind a wave's statistics are stored under.
SURVEY_KIND = "survey"


@dataclass(frozen=True)
class StoredWave:
    id: int
    name: str
    source: str
    format: str
    team_size: int | None
    first_at: datetime
    last_at: datetime
    items: list[MapItem]
    responses: list[SurveyResponse]


def _utc(d: datetime | None) -> datetime:
    out = as_utc(d)
    assert out is not None  # the columns are NOT NULL
    return out


def _note_record(row: NoteRow) -> Note:
    d = row.data or {}
    return Note(
        key=row.key,
        path=row.path,
        title=str(d.get("title", "")),
        held_on=_utc(row.held_on).date(),
        team=row.team,
        method=row.method,
        roles=[str(r) for r in d.get("roles", [])],
        tags=[str(t) for t in d.get("tags", [])],
        links={str(k): [str(x) for x in v] for k, v in d.get("links", {}).items()},
        body=str(d.get("body", "")),
        quotes={str(k): str(v) for k, v in d.get("quotes", {}).items()},
    )


def _day(d: date) -> datetime:
    return datetime.combine(d, time(), UTC)


class PeopleStore:
    """Surveys and notes: mixed into the facade."""

    def _session(self) -> AbstractContextManager[Session]:  # pragma: no cover - Store's
        raise NotImplementedError

    def save_survey_wave(
        self,
        name: str,
        export: SurveyExport,
        team_size: int | None,
        summary: dict[str, Any],
    ) -> tuple[int, bool]:
        """Store wave ``name`` (replacing a stored wave of that name and its statistics);
        returns (wave id, whether one was replaced)."""
        times = [r.submitted_at for r in export.responses]
        with self._session() as s:
            old = s.execute(select(SurveyWaveRow).where(SurveyWaveRow.name == name)).scalar()
            if old is not None:
                s.execute(delete(SurveyResponseRow).where(SurveyResponseRow.wave_id == old.id))
                s.delete(old)
                s.flush()
            s.execute(
                delete(AnalysisRow).where(
                    AnalysisRow.kind == SURVEY_KIND, AnalysisRow.source == f"survey:{name}"
                )
            )
            row = SurveyWaveRow(
                name=name,
                source=str(export.path),
                format=export.format,
                team_size=team_size,
                first_at=min(times).astimezone(UTC),
                last_at=max(times).astimezone(UTC),
                imported_at=datetime.now(UTC),
                items=[i.model_dump(mode="json", by_alias=True) for i in export.items],
            )
            s.add(row)
            s.flush()
            s.add_all(
                [
                    SurveyResponseRow(
                        wave_id=row.id,
                        line=r.line,
                        submitted_at=r.submitted_at.astimezone(UTC),
                        team=r.team,
                        answers=dict(r.answers),
                    )
                    for r in export.responses
                ]
            )
            add_analysis(s, SURVEY_KIND, f"survey:{name}", summary, [], ["survey"])
            return row.id, old is not None

    def survey_waves(self) -> list[StoredWave]:
        """Every stored wave with its responses, the earliest first."""
        with self._session() as s:
            waves = s.execute(select(SurveyWaveRow).order_by(SurveyWaveRow.first_at)).scalars()
            out = []
            for w in list(waves):
                rows = s.execute(
                    select(SurveyResponseRow)
                    .where(SurveyResponseRow.wave_id == w.id)
                    .order_by(SurveyResponseRow.line)
                ).scalars()
                out.append(
                    StoredWave(
                        id=w.id,
                        name=w.name,
                        source=w.source,
                        format=w.format,
                        team_size=w.team_size,
                        first_at=_utc(w.first_at),
                        last_at=_utc(w.last_at),
                        items=[MapItem.model_validate(i) for i in w.items],
                        responses=[
                            SurveyResponse(
                                line=r.line,
                                submitted_at=_utc(r.submitted_at),
                                team=r.team,
                                answers=dict(r.answers),
                            )
                            for r in rows
                        ],
                    )
                )
            return out

    def save_notes(self, notes: Sequence[Note]) -> tuple[int, int]:
        """Store ``notes`` (a note with a stored key replaces it); returns (added, replaced)."""
        added = replaced = 0
        with self._session() as s:
            for n in notes:
                old = s.execute(select(NoteRow).where(NoteRow.key == n.key)).scalar()
                if old is not None:
                    s.delete(old)
                    s.flush()
                    replaced += 1
                else:
                    added += 1
                s.add(
                    NoteRow(
                        key=n.key,
                        path=n.path,
                        held_on=_day(n.held_on),
                        team=n.team,
                        method=n.method,
                        imported_at=datetime.now(UTC),
                        data={
                            "title": n.title,
                            "roles": list(n.roles),
                            "tags": list(n.tags),
                            "links": {k: list(v) for k, v in n.links.items()},
                            "body": n.body,
                            "quotes": dict(n.quotes),
                        },
                    )
                )
                s.flush()
        return added, replaced

    def notes(self) -> list[Note]:
        """Every stored note, the oldest first."""
        with self._session() as s:
            rows = s.execute(select(NoteRow).order_by(NoteRow.held_on, NoteRow.id)).scalars()
            return [_note_record(r) for r in rows]
