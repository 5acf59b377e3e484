"""Golden renders of ``fleetwise survey report`` and ``fleetwise notes themes`` on the
example two-wave survey and five notes (fixed-width colourless console), and of the
report's JSON.

Regenerate after an intended change with ``pytest tests/golden --update-goldens`` and
review the diff of ``tests/golden/expected/``.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

from rich.console import Console, RenderableType

from fleetwise.present.cli.notes import themes_tables
from fleetwise.present.cli.survey import wave_tables
from fleetwise.store import Store
from fleetwise.usecases.people import add_notes, import_survey, note_themes, survey_report

PEOPLE = Path(__file__).parents[2] / "examples" / "people"
EXPECTED = Path(__file__).parent / "expected"


def render(*things: RenderableType) -> str:
    buf = io.StringIO()
    console = Console(file=buf, width=150, color_system=None, force_terminal=False)
    for thing in things:
        console.print(thing)
    return buf.getvalue()


def check(name: str, text: str, update: bool) -> None:
    path = EXPECTED / name
    if update:
        path.write_text(text)
    assert text == path.read_text()


def _store(tmp_path: Path) -> Store:
    store = Store(f"sqlite:///{tmp_path / 'g.db'}")
    for wave, name in (
        ("2026-10", "dx-survey-2026-10-google-forms.csv"),
        ("2026-11", "dx-survey-2026-11-microsoft-forms.csv"),
    ):
        import_survey(
            store, PEOPLE / name, wave=wave, map_path=PEOPLE / "questions.yaml", team_size=52
        )
    add_notes(store, sorted((PEOPLE / "notes").glob("*.md")))
    return store


def test_survey_report_and_themes(tmp_path: Path, update_goldens: bool) -> None:
    store = _store(tmp_path)
    report = survey_report(store)
    check("people_survey_report.txt", render(*wave_tables(report)), update_goldens)
    check("people_notes_themes.txt", render(*themes_tables(note_themes(store))), update_goldens)
    doc = report.model_dump(mode="json")
    for w in doc["waves"]:
        w["source"] = Path(w["source"]).name  # where the checkout is does not matter
    check(
        "people_survey_report.json",
        json.dumps(doc, indent=1, sort_keys=True) + "\n",
        update_goldens,
    )
    store.close()
