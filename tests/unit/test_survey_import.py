"""Survey exports: the three tools told apart by their header, answers on their scales,
and every malformed file refused with file:line:column."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from fleetwise.collect.importers.survey import parse, parse_time, scale_value, sniff
from fleetwise.errors import InputError
from fleetwise.plan.questions import load_map

ROOT = Path(__file__).parents[2]
DATA = ROOT / "tests" / "data" / "people"
EXAMPLES = ROOT / "examples" / "people"


def test_sniff_tells_the_three_tools_apart() -> None:
    assert sniff(["Timestamp", "Q1"]) == "google-forms"
    assert sniff(["ID", "Start time", "Completion time", "Email", "Name", "Q1"]) == (
        "microsoft-forms"
    )
    assert sniff(["#", "Q1", "Start Date (UTC)", "Submit Date (UTC)", "Network ID"]) == "typeform"
    assert sniff(["name", "score"]) is None


def test_google_forms_example_with_its_map() -> None:
    qmap = load_map(EXAMPLES / "questions.yaml")
    export = parse(EXAMPLES / "dx-survey-2026-10-google-forms.csv", qmap)
    assert export.format == "google-forms"
    assert len(export.responses) == 38
    first = export.responses[0]
    assert first.line == 2
    assert first.team == "training-platform"
    assert first.answers["flow.focus"] == 2.0  # "Disagree"
    assert first.submitted_at.tzinfo is not None
    keys = [i.key for i in export.items]
    assert keys[0] == "flow.focus" and keys[-1] == "slows-down"
    reverse = next(i for i in export.items if i.key == "load.systems")
    assert reverse.reverse and reverse.construct_name == "cognitive-load"


def test_microsoft_forms_example_drops_names_and_emails() -> None:
    qmap = load_map(EXAMPLES / "questions.yaml")
    export = parse(EXAMPLES / "dx-survey-2026-11-microsoft-forms.csv", qmap)
    assert export.format == "microsoft-forms"
    assert len(export.responses) == 41
    assert all("anonymous" not in map(str, r.answers.values()) for r in export.responses)
    assert export.responses[0].submitted_at == datetime(2026, 11, 23, 13, 39, 46, tzinfo=UTC)


def test_typeform_numbers_blanks_and_a_two_line_answer() -> None:
    export = parse(DATA / "typeform_dx.csv", load_map(DATA / "typeform_questions.yaml"))
    assert export.format == "typeform"
    assert [r.line for r in export.responses] == [2, 3, 4, 6, 7, 8]
    third = export.responses[2]
    assert third.answers["slows-down"] == "Reruns.\nEvery day, several times."
    assert "oncall.sustainable" not in export.responses[3].answers  # left blank
    assert export.responses[4].answers["enps"] == 10.0
    assert export.responses[0].submitted_at == datetime(2026, 11, 2, 9, 4, 53, tzinfo=UTC)


def test_without_a_map_scales_are_inferred() -> None:
    export = parse(DATA / "typeform_dx.csv")
    scales = {i.question: i.scale for i in export.items}
    assert scales["CI gives me a result I trust in under 20 minutes."] == "likert5"
    assert scales["How likely are you to recommend our ML platform to a colleague?"] == "nps0-10"
    assert scales["Which team are you on?"] == "text"
    assert scales["What is the one thing that slows you down the most?"] == "text"


@pytest.mark.parametrize(
    ("scale", "text", "value"),
    [
        ("likert5", "Strongly agree", 5.0),
        ("likert5", "  strongly   DISAGREE ", 1.0),
        ("likert5", "Neutral", 3.0),
        ("likert5", "4", 4.0),
        ("likert5", "4 - Agree", 4.0),
        ("likert5", "4.0", 4.0),
        ("likert5", "6", None),
        ("likert5", "4 - Disagree", None),
        ("likert5", "Sometimes-ish", None),
        ("likert7", "Somewhat agree", 5.0),
        ("likert7", "Agree", 6.0),
        ("likert7", "7", 7.0),
        ("nps0-10", "0", 0.0),
        ("nps0-10", "10", 10.0),
        ("nps0-10", "11", None),
        ("nps0-10", "7.5", None),
    ],
)
def test_scale_values(scale: str, text: str, value: float | None) -> None:
    assert scale_value(scale, text) == value


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10/5/2026 9:14:03", datetime(2026, 10, 5, 9, 14, 3, tzinfo=UTC)),
        ("11/23/26 13:31:00", datetime(2026, 11, 23, 13, 31, tzinfo=UTC)),
        ("2026-11-02 09:04:53", datetime(2026, 11, 2, 9, 4, 53, tzinfo=UTC)),
        ("2026/10/05 9:14:03 AM GMT+1", datetime(2026, 10, 5, 8, 14, 3, tzinfo=UTC)),
        ("2026/10/05 1:00:00 PM GMT-5", datetime(2026, 10, 5, 18, 0, tzinfo=UTC)),
        ("yesterday", None),
    ],
)
def test_submission_times(text: str, expected: datetime | None) -> None:
    assert parse_time(text) == expected


def test_an_answer_off_the_scale_names_file_line_and_column() -> None:
    path = DATA / "google_bad_answer.csv"
    qmap = load_map(DATA / "typeform_questions.yaml")
    with pytest.raises(InputError) as exc:
        parse(path, qmap)
    msg = str(exc.value)
    assert msg.startswith(f"{path}:7:4: 'Sometimes-ish' is not on the likert5 scale")
    assert "\n" not in msg


def test_not_a_survey_export_is_refused() -> None:
    path = DATA / "not_a_survey.csv"
    with pytest.raises(InputError, match=r"not_a_survey.csv:1:1: not a Google Forms, Microsoft"):
        parse(path)


def test_unknown_map_key_names_the_file_the_line_and_the_key() -> None:
    path = DATA / "map_unknown_key.yaml"
    with pytest.raises(InputError) as exc:
        load_map(path)
    assert str(exc.value).startswith(f"{path}:6: items.0.constuct: unknown key")


def test_a_mapped_question_missing_from_the_export(tmp_path: Path) -> None:
    qmap = tmp_path / "q.yaml"
    qmap.write_text("items:\n  - question: Not asked at all\n    key: x\n    scale: likert5\n")
    with pytest.raises(InputError, match="item x: question 'Not asked at all' is not a column"):
        parse(DATA / "typeform_dx.csv", load_map(qmap), qmap)


def test_ragged_row_and_bad_time(tmp_path: Path) -> None:
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("Timestamp,Q\n10/5/2026 9:14:03,Agree\n10/5/2026 9:15:03,Agree,extra\n")
    with pytest.raises(InputError, match=r"ragged.csv:3:3: 3 fields, the header has 2"):
        parse(ragged)
    bad_time = tmp_path / "time.csv"
    bad_time.write_text("Timestamp,Q\nsoon,Agree\n")
    with pytest.raises(InputError, match=r"time.csv:2:1: 'soon' is not a time"):
        parse(bad_time)


def test_empty_and_header_only_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(InputError, match="empty file"):
        parse(empty)
    header = tmp_path / "header.csv"
    header.write_text("Timestamp,Q\n")
    with pytest.raises(InputError, match="no responses"):
        parse(header)


def test_duplicate_keys_in_the_map(tmp_path: Path) -> None:
    qmap = tmp_path / "q.yaml"
    qmap.write_text(
        "items:\n"
        "  - {question: A, key: x, scale: likert5}\n"
        "  - {question: B, key: x, scale: likert5}\n"
    )
    with pytest.raises(InputError, match=r"q.yaml:3: items.1: key repeats item 0"):
        load_map(qmap)


def test_blank_and_repeated_question_headers(tmp_path: Path) -> None:
    blank = tmp_path / "blank.csv"
    blank.write_text("Timestamp,Q,\n10/5/2026 9:14:03,Agree,x\n")
    with pytest.raises(InputError, match=r"blank.csv:1:3: a question column without a header"):
        parse(blank)
    twice = tmp_path / "twice.csv"
    twice.write_text("Timestamp,Q,Q\n10/5/2026 9:14:03,Agree,Disagree\n")
    qmap = tmp_path / "q.yaml"
    qmap.write_text("items:\n  - {question: Q, key: q, scale: likert5}\n")
    with pytest.raises(InputError, match=r"twice.csv:1: question 'Q' heads columns 2, 3"):
        parse(twice, load_map(qmap), qmap)
    unmapped = parse(twice)  # without a map each column is its own item
    assert [i.key for i in unmapped.items] == ["q2", "q3"]
