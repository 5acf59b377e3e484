"""``fleetwise stakeholder|meeting|alignment|comms`` end to end on the example register and
meetings: idempotent re-adds, decisions logged once, the iCalendar export parsed by an
independent parser, the briefing's sections, and bad input as one line naming the file."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import icalendar
import pytest
from alignment_seed import MEETINGS, PEOPLE, seed_people

from fleetwise.present.cli import main
from fleetwise.present.reports.briefing import build_briefing
from fleetwise.store import Store

TODAY = "2026-12-07"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "fleetwise.db"
    seed_people(path)
    return path


def test_re_adding_meetings_changes_nothing(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "plan", "decisions", "--json", "--db", str(db))
    assert code == 0
    before = json.loads(out)
    code, out, _ = run(capsys, "alignment", "--json", "--today", TODAY, "--db", str(db))
    first = json.loads(out)
    for path in MEETINGS:
        code, out, _ = run(capsys, "meeting", "add", str(path), "--db", str(db))
        assert code == 0 and "replaced" in out and "0 decisions logged" in out
    code, out, _ = run(capsys, "plan", "decisions", "--json", "--db", str(db))
    assert json.loads(out) == before
    code, out, _ = run(capsys, "alignment", "--json", "--today", TODAY, "--db", str(db))
    assert json.loads(out) == first
    # the figures the examples show
    assert {q: len(n) for q, n in first["grid"].items()} == {
        "manage closely": 3,
        "keep satisfied": 2,
        "keep informed": 5,
        "monitor": 1,
    }
    assert first["stance_moves"] == 6 and first["objections_total"] == 6
    assert [o["by"] for o in first["open_objections"]] == ["Lena Park", "Grace Kim"]
    assert first["stance_counts"] == {"opposed": 0, "neutral": 2, "supportive": 8, "unknown": 1}
    decisions = [d for d in before["decisions"] if "meeting 2026-11" in d["note"]]
    assert len(decisions) == 6


def test_lists_and_text_report(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "stakeholder", "list", "--db", str(db))
    assert code == 0 and "Omar Haddad" in out and "manage closely 3" in out
    code, out, _ = run(capsys, "stakeholder", "list", "--json", "--db", str(db))
    doc = json.loads(out)
    assert len(doc["stakeholders"]) == 11 and doc["stakeholders"][0]["quadrant"]
    code, out, _ = run(capsys, "meeting", "list", "--db", str(db))
    assert code == 0 and "Steering committee: rollout wave 1" in out
    code, out, _ = run(capsys, "alignment", "--today", TODAY, "--db", str(db))
    assert "opposed (register) -> neutral (2026-11-23" in out and "OPEN: no answer yet" in out
    assert "#" not in out.replace("#idle", "")  # actions by title, never by id


def test_comms_plan_markdown_and_icalendar(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    md = tmp_path / "comms.md"
    ics = tmp_path / "comms.ics"
    code, out, _ = run(capsys, "comms", "plan", "--today", TODAY, "-o", str(md), "--db", str(db))
    assert code == 0 and "29 messages" in out
    assert md.read_text().count("\n| 2026-") == 29
    code, out, _ = run(
        capsys,
        "comms",
        "plan",
        "--format",
        "ics",
        "--today",
        TODAY,
        "-o",
        str(ics),
        "--db",
        str(db),
    )
    assert code == 0
    raw = ics.read_bytes()
    assert raw.count(b"\r\n") == raw.count(b"\n")  # CRLF only
    assert all(len(line) <= 75 for line in raw.split(b"\r\n"))
    cal = icalendar.Calendar.from_ical(raw)
    events = list(cal.walk("VEVENT"))
    assert len(events) == 29
    days = sorted(e.decoded("DTSTART") for e in events)
    assert (days[0], days[-1]) == (date(2026, 12, 7), date(2026, 12, 21))
    assert any("Reclaim idle reserved GPUs" in str(e.get("SUMMARY")) for e in events)
    code, out, _ = run(capsys, "comms", "plan", "--json", "--today", TODAY, "--db", str(db))
    kinds = {e["kind"] for e in json.loads(out)["events"]}
    assert kinds == {"steering", "consult", "kickoff", "review", "announce"}


def test_briefing_shows_alignment_comms_and_meeting_objections(db: Path) -> None:
    with Store(f"sqlite:///{db}") as store:
        report = build_briefing(store, today=date(2026, 12, 7), with_forecast=False)
    sections = {s.key: s for s in report.sections}
    assert report.figure("alignment.open_objections").value == 2
    assert report.figure("alignment.stance_moves").value == 6
    assert sections["comms"].tables[0].rows and not sections["comms"].missing
    asked = [i for i in sections["objections"].items if i.title.startswith("What stakeholders")]
    assert asked and asked[0].title == "What stakeholders asked (2 of 6 open)"
    assert asked[0].lines[0].startswith("OPEN - ")


def test_empty_store_briefing_says_what_to_run(tmp_path: Path) -> None:
    with Store(f"sqlite:///{tmp_path / 'e.db'}") as store:
        report = build_briefing(store, today=date(2026, 12, 7), with_forecast=False)
    sections = {s.key: s for s in report.sections}
    assert "fleetwise stakeholder import" in sections["alignment"].missing


def _one_line_error(code: int, err: str, path: Path, what: str) -> None:
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0] and what in lines[0], err


def test_bad_inputs_exit_2_naming_file_and_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "f.db"
    seed_people(db, meetings=False)
    register = (PEOPLE / "stakeholders.yaml").read_text()
    two_a = tmp_path / "two_a.yaml"
    two_a.write_text(
        register.replace("    A: Marcus Lee\n", "    A: [Marcus Lee, Dana Whitfield]\n", 1)
    )
    code, _, err = run(capsys, "stakeholder", "import", str(two_a), "--db", str(db))
    _one_line_error(code, err, two_a, "exactly one A")
    unknown_key = tmp_path / "meeting_key.yaml"
    unknown_key.write_text(MEETINGS[0].read_text().replace("attendees:", "atendees:"))
    code, _, err = run(capsys, "meeting", "add", str(unknown_key), "--db", str(db))
    _one_line_error(code, err, unknown_key, "unknown key")
    stranger = tmp_path / "stranger.yaml"
    stranger.write_text(
        MEETINGS[0].read_text().replace("  - stakeholder: Sam Ortiz", "  - stakeholder: Sam Ortis")
    )
    code, _, err = run(capsys, "meeting", "add", str(stranger), "--db", str(db))
    _one_line_error(code, err, stranger, "unknown stakeholder 'Sam Ortis'")
    code, _, err = run(
        capsys,
        "stakeholder",
        "raci",
        "reclaim_idle_gpus",
        "--responsible",
        "Henrik Olsen",
        "--db",
        str(db),
    )
    assert code == 2 and "exactly one A" in err and len(err.strip().splitlines()) == 1
    code, _, err = run(capsys, "comms", "plan", "--format", "pdf", "--db", str(db))
    assert code == 2 and "--format" in err
    # nothing stored by the refused files; the good ones still go in
    code, out, _ = run(capsys, "meeting", "list", "--json", "--db", str(db))
    assert json.loads(out)["meetings"] == []
    code, _, _ = run(capsys, "meeting", "add", str(MEETINGS[0]), "--db", str(db))
    assert code == 0


def test_meeting_before_register_and_markdown_copy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "f.db"
    Store(f"sqlite:///{db}").close()
    code, _, err = run(capsys, "meeting", "add", str(MEETINGS[0]), "--db", str(db))
    _one_line_error(code, err, MEETINGS[0], "register is empty")
    md = next(p for p in MEETINGS if p.suffix == ".md")
    copy = tmp_path / md.name
    shutil.copy(md, copy)
    copy.write_text(copy.read_text().replace("date: 2026-11-23", "date: 2026-13-23"))
    seed_people(tmp_path / "g.db", meetings=False)
    code, _, err = run(capsys, "meeting", "add", str(copy), "--db", str(tmp_path / "g.db"))
    _one_line_error(code, err, copy, ".md:3: not valid YAML")


def test_names_with_brackets_print_as_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "f.db"
    Store(f"sqlite:///{db}").close()
    register = tmp_path / "r.yaml"
    register.write_text(
        "stakeholders:\n  - {name: 'Ann [ops]', role: '[bold]VP', influence: 4, interest: 4}\n"
    )
    code, out, _ = run(capsys, "stakeholder", "import", str(register), "--db", str(db))
    assert code == 0 and "1 stakeholder added" in out
    code, out, _ = run(capsys, "stakeholder", "list", "--db", str(db))
    assert "Ann [ops]" in out and "[bold]VP" in out
