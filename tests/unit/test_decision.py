"""The decision log: who, when, why; decisions move the action's status."""

from __future__ import annotations

import json
from typing import Any

import pytest

from fleetwise.models import Action, ActionStatus
from fleetwise.present.cli import main
from fleetwise.store import Store


def _json(args: list[str], capsys: pytest.CaptureFixture[str]) -> Any:
    assert main(args) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


def test_decisions_move_status_and_are_logged(
    store: Store, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = store.add_actions([Action(title="workers"), Action(title="shards")])
    doc = _json(
        [
            "decide",
            str(a),
            "approve",
            "--by",
            "CTO",
            "--note",
            "cheap, measured",
            "--db",
            db_url,
            "--json",
        ],
        capsys,
    )
    assert doc["status"] == "approved" and doc["decision"]["by"] == "CTO"
    assert (
        main(["decide", str(b), "defer", "--by", "VP Eng", "--note", "after Q1", "--db", db_url])
        == 0
    )
    assert "status proposed -> proposed" in capsys.readouterr().out
    assert main(["decide", str(b), "reject", "--by", "VP Eng", "--db", db_url]) == 0
    capsys.readouterr()
    assert store.get_action(a).status is ActionStatus.APPROVED
    assert store.get_action(b).status is ActionStatus.REJECTED
    log = _json(["plan", "decisions", "--db", db_url, "--json"], capsys)["decisions"]
    assert [(d["action_id"], d["decision"], d["by"]) for d in log] == [
        (a, "approve", "CTO"),
        (b, "defer", "VP Eng"),
        (b, "reject", "VP Eng"),
    ]
    assert log[0]["action_title"] == "workers" and log[0]["note"] == "cheap, measured"
    shown = _json(["plan", "show", str(b), "--db", db_url, "--json"], capsys)
    assert [d["decision"] for d in shown["decisions"]] == ["defer", "reject"]


def test_done_work_is_not_redecided_and_bad_input_exits_2(
    store: Store, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (a,) = store.add_actions([Action(title="x", status=ActionStatus.DONE)])
    assert main(["decide", str(a), "reject", "--by", "me", "--db", db_url]) == 2
    assert "is done" in capsys.readouterr().err
    assert main(["decide", "99", "approve", "--by", "me", "--db", db_url]) == 2
    assert "no action 99" in capsys.readouterr().err
    assert main(["decide", str(a), "approve", "--by", " ", "--db", db_url]) == 2
    assert store.decisions() == []
