"""The People page and its JSON twins (``/people.json``, ``/api/people``) on the seeded
store: the same figures as ``fleetwise survey report --json`` and ``notes themes --json``,
the notes beside the findings on the Diagnosis page, stored ``<script>`` inert."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from web_seed import EVIL, seed

from fleetwise.present.cli import main
from fleetwise.present.web import create_app

with warnings.catch_warnings():
    # Starlette deprecates its httpx-based client in favour of a package not installed here.
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> str:
    return seed(tmp_path_factory.mktemp("web") / "fleetwise.db")


@pytest.fixture(scope="module")
def client(seeded: str) -> Iterator[TestClient]:
    with TestClient(create_app(seeded)) as c:
        yield c


def _json(client: TestClient, path: str) -> Any:
    r = client.get(path)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    return r.json()


def test_people_twins_equal_the_cli(
    client: TestClient, seeded: str, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = _json(client, "/people.json")
    assert _json(client, "/api/people") == doc
    assert main(["survey", "report", "--json", "--db", seeded]) == 0
    assert doc["survey"] == json.loads(capsys.readouterr().out)
    assert main(["notes", "themes", "--json", "--db", seeded]) == 0
    assert doc["themes"] == json.loads(capsys.readouterr().out)
    assert [w["wave"] for w in doc["survey"]["waves"]] == ["2026-10", "2026-11"]
    line = next(c for c in doc["constructs"] if c["name"] == "feedback-loops")
    assert line["scores"] == {"2026-10": "35.5 [29.3, 42.1]", "2026-11": "54.0 [47.9, 60.1]"}
    assert line["change"].startswith("higher in 2026-11 (r = +0.49")
    assert doc["themes"]["notes"] == 6  # five examples and the focus group with <script>


def test_people_page_shows_constructs_comparison_and_themes(client: TestClient) -> None:
    page = client.get("/people")
    assert page.status_code == 200
    html = page.text
    assert 'data-chart="chart-constructs"' in html
    assert "54.0 [47.9, 60.1]" in html
    assert "no detectable change" in html
    assert "#flaky-tests" in html and "finding:delivery.flaky_job" in html
    assert EVIL not in html and "&lt;script&gt;" in html  # the team name, escaped
    assert '<a href="/people" aria-current="page">People</a>' in html


def test_diagnosis_shows_the_notes_beside_the_findings(client: TestClient) -> None:
    doc = _json(client, "/diagnosis.json")
    evidence = [e for layer in doc["layers"] for f in layer["findings"] for e in f["evidence"]]
    # Three example notes and the focus group link #flaky-tests to the flaky-job finding.
    assert any(
        e == "qualitative evidence: 2 interviews, 1 focus group, 1 shadowing session, 3 teams "
        "(#flaky-tests)"
        for e in evidence
    ), evidence
    assert "qualitative evidence" in client.get("/diagnosis").text


def test_people_page_without_data_says_what_to_run(tmp_path: Any) -> None:
    with TestClient(create_app(f"sqlite:///{tmp_path / 'empty.db'}")) as c:
        html = c.get("/people").text
        assert "fleetwise survey import FILE --map QUESTIONS.yaml" in html
        assert "fleetwise notes add NOTE.md" in html
        doc = c.get("/people.json").json()
        assert doc["survey"]["waves"] == [] and doc["themes"]["notes"] == 0
