"""Survey waves and notes in the store, on SQLite and PostgreSQL: a wave or a note saved
again replaces the stored one (responses, statistics and all), never adds."""

from __future__ import annotations

from pathlib import Path

from fleetwise.collect.importers.notes import parse as parse_note
from fleetwise.store import Store
from fleetwise.usecases.people import import_survey, survey_report

ROOT = Path(__file__).parents[2]
PEOPLE = ROOT / "examples" / "people"
DATA = ROOT / "tests" / "data" / "people"


def test_a_wave_imported_again_replaces_itself(store: Store) -> None:
    qmap = PEOPLE / "questions.yaml"
    wave1 = PEOPLE / "dx-survey-2026-10-google-forms.csv"
    first = import_survey(store, wave1, wave="w1", map_path=qmap, team_size=52)
    assert not first.replaced
    again = import_survey(store, wave1, wave="w1", map_path=qmap, team_size=52)
    assert again.replaced
    (stored,) = store.survey_waves()
    assert (stored.name, stored.format, stored.team_size) == ("w1", "google-forms", 52)
    assert len(stored.responses) == 38
    assert stored.responses[0].line == 2 and stored.responses[0].answers["flow.focus"] == 2.0
    assert stored.responses[0].submitted_at.tzinfo is not None
    reverse = next(i for i in stored.items if i.key == "load.systems")
    assert reverse.reverse and reverse.construct_name == "cognitive-load"
    (analysis,) = store.analyses("survey")
    assert analysis.source == "survey:w1"
    assert analysis.summary["constructs"]["feedback-loops"]["score"] == (
        survey_report(store).waves[0].constructs[1].score.value  # type: ignore[union-attr]
    )
    import_survey(
        store,
        PEOPLE / "dx-survey-2026-11-microsoft-forms.csv",
        wave="w2",
        map_path=qmap,
        team_size=52,
    )
    assert [w.name for w in store.survey_waves()] == ["w1", "w2"]
    assert len(store.analyses("survey")) == 2


def test_a_note_saved_again_replaces_itself(store: Store) -> None:
    note = parse_note(DATA / "note_evil_team.md")
    assert store.save_notes([note]) == (1, 0)
    assert store.save_notes([note]) == (0, 1)
    (stored,) = store.notes()
    assert stored == note
