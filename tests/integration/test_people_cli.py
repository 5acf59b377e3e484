"""``fleetwise survey`` and ``fleetwise notes`` end to end: import two waves, report, import
again (it replaces), bad input (exit 2, file:line:column, nothing stored lost), a survey
construct as a KPI, and the people in the briefing and the deck."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from pptx import Presentation

from fleetwise.present.cli import main
from fleetwise.present.reports.briefing import build_briefing
from fleetwise.present.reports.pptx import MAX_SLIDES, to_pptx
from fleetwise.store import Store

ROOT = Path(__file__).parents[2]
PEOPLE = ROOT / "examples" / "people"
DATA = ROOT / "tests" / "data" / "people"
PROCESS = ROOT / "tests" / "data" / "process"
WAVE1 = PEOPLE / "dx-survey-2026-10-google-forms.csv"
WAVE2 = PEOPLE / "dx-survey-2026-11-microsoft-forms.csv"
QUESTIONS = PEOPLE / "questions.yaml"
NOTES = sorted(str(p) for p in (PEOPLE / "notes").glob("*.md"))


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def _import(capsys: pytest.CaptureFixture[str], db: str, path: Path, wave: str) -> str:
    code, out, err = run(
        capsys,
        "survey",
        "import",
        str(path),
        "--wave",
        wave,
        "--map",
        str(QUESTIONS),
        "--team-size",
        "52",
        "--db",
        db,
    )
    assert code == 0, err
    return out


def _counts(db: str) -> tuple[int, int, int]:
    store = Store(f"sqlite:///{db}")
    waves = store.survey_waves()
    out = (len(waves), sum(len(w.responses) for w in waves), len(store.analyses("survey")))
    store.close()
    return out


def test_two_waves_report_and_reimport(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    db = str(tmp_path / "p.db")
    out = _import(capsys, db, WAVE1, "2026-10")
    assert "wave 2026-10: 38 responses of 52 (Google Forms export) stored" in out
    assert "response rate 73%" in out
    out = _import(capsys, db, WAVE2, "2026-11")
    assert "41 responses of 52 (Microsoft Forms export)" in out
    assert _counts(db) == (2, 79, 2)
    # The same wave again replaces it: nothing is added.
    out = _import(capsys, db, WAVE2, "2026-11")
    assert "replaced the stored wave" in out
    assert _counts(db) == (2, 79, 2)

    code, out, _ = run(capsys, "survey", "report", "--json", "--db", db)
    assert code == 0
    doc = json.loads(out)
    assert [w["wave"] for w in doc["waves"]] == ["2026-10", "2026-11"]
    fb = {c["name"]: c for c in doc["waves"][1]["constructs"]}["feedback-loops"]
    assert fb["n"] == 41 and round(fb["response_rate"], 3) == round(41 / 52, 3)
    assert fb["score"]["low"] < fb["score"]["value"] < fb["score"]["high"]
    cmp = {(c["subject"], c["key"]): c for c in doc["comparisons"]}
    assert cmp[("construct", "feedback-loops")]["p"] < 0.001
    assert cmp[("construct", "feedback-loops")]["verdict"].startswith("higher in 2026-11")
    assert cmp[("construct", "cognitive-load")]["verdict"] == "no detectable change"
    advocacy = {c["name"]: c for c in doc["waves"][0]["constructs"]}["advocacy"]
    assert advocacy["enps"]["value"] < 0

    code, out, _ = run(capsys, "survey", "report", "--db", db)
    assert code == 0
    assert "Mann-Whitney U" in out and "no detectable change" in out
    assert "score 0-100 [95% CI]" in out
    # One team's respondents; a team with fewer than five answers is not shown.
    code, out, _ = run(
        capsys, "survey", "report", "--team", "training-platform", "--json", "--db", db
    )
    assert code == 0
    doc = json.loads(out)
    assert [w["respondents"] for w in doc["waves"]] == [15, 12]
    assert all(w["response_rate"] is None for w in doc["waves"])
    code, _, err = run(capsys, "survey", "report", "--team", "infra-sre", "--db", db)
    assert code == 2 and "team 'infra-sre': 4 answers in wave 2026-10; fewer than 5" in err


def test_bad_exports_exit_2_and_keep_what_is_stored(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db = str(tmp_path / "p.db")
    _import(capsys, db, WAVE1, "2026-10")
    bad = DATA / "google_bad_answer.csv"
    code, _, err = run(
        capsys,
        "survey",
        "import",
        str(bad),
        "--wave",
        "2026-10",
        "--map",
        str(DATA / "typeform_questions.yaml"),
        "--db",
        db,
    )
    assert code == 2
    assert f"error: {bad}:7:4: 'Sometimes-ish' is not on the likert5 scale" in err
    assert len(err.strip().splitlines()) == 1
    code, _, err = run(capsys, "survey", "import", str(DATA / "not_a_survey.csv"), "--db", db)
    assert code == 2 and "not a Google Forms, Microsoft Forms or Typeform" in err
    code, _, err = run(
        capsys,
        "survey",
        "import",
        str(WAVE1),
        "--map",
        str(DATA / "map_unknown_key.yaml"),
        "--db",
        db,
    )
    assert code == 2 and "map_unknown_key.yaml:6: items.0.constuct: unknown key" in err
    code, _, err = run(capsys, "survey", "import", str(WAVE1), "--team-size", "10", "--db", db)
    assert code == 2 and "38 responses but a team of 10" in err
    assert _counts(db) == (1, 38, 1)


def test_typeform_without_team_size_says_why_no_rate(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db = str(tmp_path / "p.db")
    code, out, err = run(
        capsys,
        "survey",
        "import",
        str(DATA / "typeform_dx.csv"),
        "--map",
        str(DATA / "typeform_questions.yaml"),
        "--db",
        db,
    )
    assert code == 0, err
    assert "wave typeform_dx: 6 responses (Typeform export) stored; response rate -" in out
    code, out, _ = run(capsys, "survey", "report", "--db", db)
    assert "response rates need the team size" in out
    assert "one wave stored" in out


def test_notes_add_is_idempotent_and_themes_count(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db = str(tmp_path / "n.db")
    code, out, _ = run(capsys, "notes", "add", *NOTES, "--db", db)
    assert code == 0 and "5 notes stored (5 new, 0 replaced)" in out
    code, out, _ = run(capsys, "notes", "add", NOTES[0], "--db", db)
    assert code == 0 and "1 notes stored (0 new, 1 replaced)" in out
    code, out, _ = run(capsys, "notes", "themes", "--json", "--db", db)
    doc = json.loads(out)
    assert doc["notes"] == 5
    assert doc["by_method"] == {"interview": 3, "shadowing": 2}
    flaky = next(t for t in doc["themes"] if t["tag"] == "flaky-tests")
    assert flaky["notes"] == 3 and flaky["by_team"] == {"training-platform": 2, "inference": 1}
    ev = doc["evidence"]["finding:delivery.flaky_job"]
    assert ev["text"] == "2 interviews, 1 shadowing session, 2 teams"
    code, _, err = run(capsys, "notes", "add", NOTES[1], str(DATA / "note_bad_link.md"), "--db", db)
    assert code == 2 and "note_bad_link.md:6: links.flaky-tests" in err
    store = Store(f"sqlite:///{db}")
    assert len(store.notes()) == 5  # the good note of the refused batch was not stored either
    store.close()


def test_survey_kpi_people_section_finding_evidence_and_deck(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db = str(tmp_path / "s.db")
    _import(capsys, db, WAVE1, "2026-10")
    _import(capsys, db, WAVE2, "2026-11")
    assert run(capsys, "notes", "add", *NOTES, "--db", db)[0] == 0
    for argv in (
        ("process", "import", str(PROCESS / "pipeline_runs.csv")),
        ("process", "pipeline"),
    ):
        assert run(capsys, *argv, "--db", db)[0] == 0
    code, _, err = run(capsys, "kpi", "add", str(PEOPLE / "kpis.yaml"), "--db", db)
    assert code == 0, err
    code, out, _ = run(capsys, "kpi", "list", "--json", "--db", db)
    kpi = next(k for k in json.loads(out)["kpis"] if k["name"] == "dx-feedback-loops")
    assert round(kpi["baseline"], 1) == 35.5 and round(kpi["current"], 1) == 54.0
    # A survey construct as an action's expected effect.
    code, _, err = run(capsys, "plan", "import", str(PEOPLE / "actions.yaml"), "--db", db)
    assert code == 0, err

    store = Store(f"sqlite:///{db}")
    report = build_briefing(store, with_forecast=False)
    section = next(s for s in report.sections if s.key == "people")
    assert section.missing == ""
    assert report.figure("people.feedback-loops.score").text == "54.0 [47.9, 60.1]"
    assert report.figure("people.enps").text.startswith("+12")
    changed = section.items[0]
    assert any("no detectable change in" in line for line in changed.lines)
    findings = next(s for s in report.sections if s.key == "top_findings")
    lines = [line for item in findings.items for line in item.lines]
    assert (
        "qualitative evidence: 2 interviews, 1 shadowing session, 2 teams (#flaky-tests)" in lines
    )
    (action,) = store.actions()
    assert [(e.kpi, e.change) for e in action.effects] == [("dx-feedback-loops", 0.25)]
    acts = next(s for s in report.sections if s.key == "top_actions")
    item = next(i for i in acts.items if i.title == action.title)
    assert "qualitative evidence: 1 interview, 1 team (#flaky-tests)" in item.lines
    deck = Presentation(io.BytesIO(to_pptx(report)))
    assert 0 < len(deck.slides) <= MAX_SLIDES
    store.close()


def test_team_size_from_the_fleet_profile(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    fleet = tmp_path / "fleet.yaml"
    text = (ROOT / "examples" / "fleet.yaml").read_text()
    assert "teams: []" in text
    fleet.write_text(
        text.replace(
            "teams: []",
            "teams:\n  - {name: training-platform, engineers: 20}\n"
            "  - {name: research, engineers: 24}\n  - {name: inference}",
        )
    )
    db = str(tmp_path / "f.db")
    code, out, err = run(
        capsys,
        "survey",
        "import",
        str(WAVE1),
        "--map",
        str(QUESTIONS),
        "--fleet",
        str(fleet),
        "--db",
        db,
    )
    assert code == 0, err
    assert "38 responses of 44" in out and "response rate 86%" in out
