"""Backlog files and commands: import with dependencies; bad input is one clear message,
exit 2, and nothing written."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from fleetwise.models import KPI
from fleetwise.present.cli import main
from fleetwise.store import Store

EXAMPLES = Path(__file__).parents[2] / "examples"


@pytest.fixture
def with_kpi(store: Store, db_url: str) -> str:
    store.add_kpi(
        KPI(
            name="loader-throughput",
            source="series:storage.dataloader",
            baseline_value=100,
            goal_value=200,
            goal_date="2027-03-31",
        )
    )
    return db_url


def _json(args: list[str], capsys: pytest.CaptureFixture[str]) -> Any:
    assert main(args) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


def test_import_resolves_dependencies_by_key(
    with_kpi: str, store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = _json(
        ["plan", "import", str(EXAMPLES / "actions.yaml"), "--db", with_kpi, "--json"], capsys
    )
    workers, shards = doc["created"]
    assert shards["depends_on"] == [workers["id"]]
    assert shards["source"] == "yaml:actions.yaml"
    listed = _json(["plan", "list", "--db", with_kpi, "--json"], capsys)["actions"]
    assert [a["title"] for a in listed] == [workers["title"], shards["title"]]
    shown = _json(["plan", "show", str(shards["id"]), "--db", with_kpi, "--json"], capsys)
    assert shown["scores"]["investment_usd"] == 5000 + 10 * 1000


BAD = {
    "missing field": ("actions:\n  - savings_usd_per_year: 10\n", ":2: actions.0.title: required"),
    "wrong type": (
        "actions:\n  - title: t\n    effort_days: lots\n",
        ":3: actions.0.effort_days: Input should be a valid number",
    ),
    "unknown KPI": (
        "actions:\n  - title: t\n    effects:\n      - {kpi: nope, change: 0.1}\n",
        ":4: actions.0.effects.0.kpi: unknown KPI 'nope'",
    ),
    "unknown key": (
        "actions:\n  - title: t\n    savings: 3\n",
        ":3: actions.0.savings: unknown key",
    ),
    "dangling dependency": (
        "actions:\n  - title: t\n    depends_on: [later]\n",
        "no action with key 'later'",
    ),
    "cycle": (
        "actions:\n  - {key: a, title: a, depends_on: [b]}\n"
        "  - {key: b, title: b, depends_on: [a]}\n",
        "dependencies form a cycle",
    ),
    "not YAML": ("actions: [\n", "not valid YAML"),
    "store key": ("actions:\n  - {title: t, id: 4}\n", "actions.0.id: set by fleetwise"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_actions_file_is_one_message_exit_2_nothing_written(
    case: str, with_kpi: str, store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text, expected = BAD[case]
    good = "  - {title: fine, effort_days: 1}\n"
    path = tmp_path / "actions.yaml"
    path.write_text(text if case == "not YAML" else text.replace("actions:\n", "actions:\n" + good))
    if case != "not YAML":
        expected = expected.replace("actions.0", "actions.1")
        line = expected.split(":")[1] if expected.startswith(":") else ""
        if line.isdigit():
            expected = expected.replace(f":{line}:", f":{int(line) + 1}:", 1)
    assert main(["plan", "import", str(path), "--db", with_kpi]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fleetwise: error: ") and err.count("\n") == 1
    assert str(path) in err and expected in err, err
    assert store.actions() == []


def test_add_by_hand_checks_kpis_and_ranges(
    with_kpi: str, store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plan", "add", "--title", "x", "--effect", "nope=+10%", "--db", with_kpi]) == 2
    assert "unknown KPI 'nope'" in capsys.readouterr().err
    assert main(["plan", "add", "--title", "x", "--confidence", "1.5", "--db", with_kpi]) == 2
    assert "--confidence" in capsys.readouterr().err
    assert store.actions() == []
    doc = _json(
        [
            "plan",
            "add",
            "--title",
            "x",
            "--effect",
            "loader-throughput=+10%",
            "--savings",
            "1000",
            "--db",
            with_kpi,
            "--json",
        ],
        capsys,
    )
    assert doc["effects"] == [{"kpi": "loader-throughput", "change": pytest.approx(0.1)}]
    assert main(["plan", "rank", "--db", with_kpi]) == 0
    assert "backlog ranked by roi" in capsys.readouterr().out
