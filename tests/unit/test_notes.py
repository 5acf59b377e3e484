"""Interview and shadowing notes: front matter, inline tags, themes and the evidence they
give a finding."""

from __future__ import annotations

from pathlib import Path

import pytest

from fleetwise.analyze.themes import all_evidence, describe, evidence, themes
from fleetwise.collect.importers.notes import inline_tags, parse
from fleetwise.errors import InputError

ROOT = Path(__file__).parents[2]
DATA = ROOT / "tests" / "data" / "people"
NOTES = sorted((ROOT / "examples" / "people" / "notes").glob("*.md"))


def test_front_matter_tags_and_links() -> None:
    n = parse(DATA / "note_evil_team.md")
    assert n.key == "id:evil-note"
    assert n.method == "focus-group" and n.team.startswith("<script>")
    assert n.roles == ["ML engineer", "ML engineer", "SRE"]
    # An issue number, a comment in code and a fenced block hold no tags; case folds.
    assert n.tags == ["flaky-tests", "queue-wait"]
    assert n.links == {"flaky-tests": ["finding:delivery.flaky_job"]}
    assert n.title == "Focus group: delivery"
    assert n.quotes["flaky-tests"].startswith("Everyone agreed the flaky-tests are the first")


def test_a_note_without_id_is_keyed_by_its_path(tmp_path: Path) -> None:
    note = tmp_path / "n.md"
    note.write_text("---\ndate: 2026-10-01\nmethod: shadowing\nteam: a\n---\nSaw #toil.\n")
    n = parse(note)
    assert n.key == f"path:{note.resolve()}"
    assert n.title == "n" and n.tags == ["toil"] and n.quotes == {"toil": "Saw toil."}


def test_inline_tags_quote_their_paragraph() -> None:
    body = "First paragraph #one,\ncontinued here.\n\n- a list item #two\n- another #One"
    tags = inline_tags(body)
    assert tags == {"one": "First paragraph one, continued here.", "two": "a list item"}


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("note_bad_link.md", r"note_bad_link.md:6: links.flaky-tests: 'ticket:FW-12': expected"),
        ("note_no_front_matter.md", r"note_no_front_matter.md:1: expected YAML front matter"),
    ],
)
def test_bad_notes_name_file_and_line(name: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse(DATA / name)


def test_unknown_key_and_missing_method(tmp_path: Path) -> None:
    note = tmp_path / "n.md"
    note.write_text("---\ndate: 2026-10-01\nmethod: interview\nteam: a\nmood: fine\n---\nx\n")
    with pytest.raises(InputError, match=r"n.md:5: mood: unknown key"):
        parse(note)
    note.write_text("---\ndate: 2026-10-01\nteam: a\n---\nx\n")
    with pytest.raises(InputError, match=r"n.md:2: method: required key missing"):
        parse(note)
    note.write_text("---\ndate: 2026-10-01\nmethod: chat\nteam: a\n---\nx\n")
    with pytest.raises(InputError, match=r"n.md:3: method: "):
        parse(note)
    note.write_text(
        "---\ndate: 2026-10-01\nmethod: interview\nteam: a\nlinks: {x: [finding:a]}\n---\n"
    )
    with pytest.raises(InputError, match=r"#x is not a tag of this note"):
        parse(note)


def test_themes_of_the_five_example_notes() -> None:
    notes = [parse(p) for p in NOTES]
    assert [n.method for n in notes].count("interview") == 3
    found = {t.tag: t for t in themes(notes)}
    flaky = found["flaky-tests"]
    assert flaky.notes == 3
    assert flaky.by_method == {"interview": 2, "shadowing": 1}
    assert flaky.by_team == {"training-platform": 2, "inference": 1}
    assert flaky.links == [
        "action:Quarantine and fix flaky jobs",
        "finding:delivery.flaky_job",
    ]
    assert themes(notes)[0].tag == "flaky-tests"  # the most mentioned first
    ev = evidence(notes, "finding:delivery.flaky_job")
    assert ev is not None
    assert ev.text == "2 interviews, 1 shadowing session, 2 teams"
    assert evidence(notes, "finding:nothing") is None
    assert set(all_evidence(notes)) >= {"finding:on-call.noisy_alert", "finding:cluster.queue_wait"}


def test_describe_plurals() -> None:
    assert describe({"interview": 1}, 1) == "1 interview, 1 team"
    assert describe({"focus-group": 2, "shadowing": 2, "workshop": 1}, 3) == (
        "2 focus groups, 2 shadowing sessions, 1 workshop, 3 teams"
    )
