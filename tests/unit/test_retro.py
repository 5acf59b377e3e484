"""Retrospectives: stored with their actions; the improvement report reads KPIs around them."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from fleetwise.models import KPI, Action, KPIEffect, Retrospective
from fleetwise.plan.kpis import Reading
from fleetwise.plan.retro import improvement_report
from fleetwise.present.cli import main
from fleetwise.store import Store

EXAMPLES = Path(__file__).parents[2] / "examples"


def test_retro_add_creates_backlog_actions(
    store: Store, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    store.add_kpi(
        KPI(
            name="loader-throughput",
            source="series:storage.dataloader",
            baseline_value=100,
            goal_value=200,
            goal_date="2027-03-31",
        )
    )
    assert main(["retro", "add", str(EXAMPLES / "retro.yaml"), "--db", db_url, "--json"]) == 0
    retro = json.loads(capsys.readouterr().out)["retrospective"]
    (aid,) = retro["action_ids"]
    assert retro["team"] == "training-infra" and retro["date"] == "2026-11-27"
    assert store.get_action(aid).source == f"retro:{retro['id']}"
    assert main(["retro", "list", "--db", db_url, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["retrospectives"][0]["id"] == retro["id"]
    assert main(["retro", "report", "--db", db_url, "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)["rows"]
    assert (row["action"], row["kpi"], row["before"], row["after"]) == (
        aid,
        "loader-throughput",
        None,
        None,
    )


def test_unknown_kpi_in_a_retro_writes_nothing(
    store: Store, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["retro", "add", str(EXAMPLES / "retro.yaml"), "--db", db_url]) == 2
    err = capsys.readouterr().err
    assert "retro.yaml:16: actions.0.effects.0.kpi: unknown KPI 'loader-throughput'" in err
    assert store.retrospectives() == [] and store.actions() == []


def test_report_reads_before_and_after_each_sprint() -> None:
    kpi = KPI(
        name="k", source="series:x", baseline_value=1, goal_value=2, goal_date=date(2027, 1, 1)
    )
    action = Action(id=1, title="t", effects=[KPIEffect(kpi="k", change=0.5)])
    sprints = [
        Retrospective(id=1, date=date(2026, 1, 10), team="a", action_ids=[1]),
        Retrospective(id=2, date=date(2026, 1, 24), team="a"),
    ]
    readings = {
        "k": [
            Reading(datetime(2026, 1, d, tzinfo=UTC), v, f"r{d}")
            for d, v in ((5, 100.0), (15, 120.0), (20, 150.0), (30, 170.0))
        ]
    }
    (row,) = improvement_report(sprints, [action], [kpi], readings)
    # before: last reading by the retro (Jan 5); after: last before the next retro (Jan 20)
    assert (row.before, row.after, row.after_ref) == (100.0, 150.0, "r20")
    assert row.change == pytest.approx(0.5)
