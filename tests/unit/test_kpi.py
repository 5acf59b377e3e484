"""KPIs bound to a benchmark series: baseline, current and goal; status follows new runs."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from fleetwise.models import KPI, ResultRecord, RunStatus
from fleetwise.plan.kpis import Reading, kpi_state
from fleetwise.present.cli import main
from fleetwise.stats import summarize
from fleetwise.store import Store
from fleetwise.store.schema import RunRow

GOAL_DATE = (datetime.now(UTC) + timedelta(days=90)).date()


def land_run(store: Store, value: float, workers: int = 2, days_ago: float = 0.0) -> int:
    """Store a completed run with one data-loader result, as a benchmark run would, started
    ``days_ago`` days before now (a trend needs readings that span a day or more)."""
    env = store.save_environment({"host": "h", "cpu": {"model": "m", "cores": 2}}, "env-hash")
    run = store.create_run("loader", {}, environment_id=env)
    if days_ago:
        started = datetime.now(UTC) - timedelta(days=days_ago)
        with store.engine.begin() as conn:
            conn.execute(update(RunRow).where(RunRow.id == run.id).values(started_at=started))
    samples = [value * 0.99, value, value * 1.01]
    (rid,) = store.add_results(
        run.id,
        [
            ResultRecord(
                case_key="k",
                case_index=0,
                benchmark="storage.dataloader",
                layer="storage",
                params={"num_workers": workers, "files": 48},
                metric="samples_per_s",
                unit="samples/s",
                direction="higher",
                samples=samples,
                summary=summarize(samples),
                environment_id=env,
            )
        ],
    )
    store.set_run_status(run.id, RunStatus.COMPLETED)
    return rid


def _kpis(path: Path, source: str, goal: float = 1200.0) -> Path:
    path.write_text(
        "schema_version: 1\nkpis:\n"
        f'  - name: loader\n    source: "{source}"\n'
        f"    goal_value: {goal}\n    goal_date: {GOAL_DATE}\n"
    )
    return path


def _list(db: str, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    assert main(["kpi", "list", "--db", db, "--json"]) == 0
    (doc,) = json.loads(capsys.readouterr().out)["kpis"]
    return doc  # type: ignore[no-any-return]


def test_status_changes_as_runs_land(
    store: Store, db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    land_run(store, 999.0, workers=0)  # another series the parameter filter leaves out
    first = land_run(store, 1000.0, days_ago=20)
    path = _kpis(tmp_path / "kpis.yaml", "series:storage.dataloader:samples_per_s?num_workers=2")
    assert main(["kpi", "add", str(path), "--db", db_url]) == 0
    assert "loader" in capsys.readouterr().out
    doc = _list(db_url, capsys)
    assert (doc["baseline"], doc["current"], doc["goal_value"]) == (1000.0, 1000.0, 1200.0)
    assert doc["unit"] == "samples/s" and doc["direction"] == "higher"
    assert doc["status"] == "at risk" and "no trend" in doc["note"]

    land_run(store, 900.0, days_ago=10)  # worse: the trend heads away from the goal
    doc = _list(db_url, capsys)
    assert doc["current"] == 900.0 and doc["status"] == "off track"

    last = land_run(store, 1300.0)  # the goal is met
    doc = _list(db_url, capsys)
    assert doc["current"] == 1300.0 and doc["status"] == "on track"

    assert main(["kpi", "show", "loader", "--db", db_url, "--json"]) == 0
    points = json.loads(capsys.readouterr().out)["points"]
    assert [p["ref"] for p in (points[0], points[-1])] == [f"result:{first}", f"result:{last}"]


def test_bad_kpi_files_write_nothing(
    store: Store, db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    land_run(store, 1000.0)
    land_run(store, 1000.0, workers=0)
    cases = {
        "series:storage.dataloader": "matches 2 series",
        "series:nothing.here": "matches no series",
        "bogus": "expected series:<series id prefix>",
    }
    for source, message in cases.items():
        path = _kpis(tmp_path / "k.yaml", source)
        assert main(["kpi", "add", str(path), "--db", db_url]) == 2
        err = capsys.readouterr().err
        assert f"{path}:4: kpis.0.source:" in err and message in err, err
    path = tmp_path / "k.yaml"
    path.write_text("kpis:\n  - name: x\n    source: series:storage\n    goal_value: lots\n")
    assert main(["kpi", "add", str(path), "--db", db_url]) == 2
    assert "kpis.0.goal_value" in capsys.readouterr().err
    assert store.kpis() == []


def test_projection_and_goal_date_passed() -> None:
    kpi = KPI(
        name="lat",
        source="series:x",
        direction="lower",
        baseline_value=100.0,
        baseline_date=datetime(2026, 1, 1, tzinfo=UTC),
        goal_value=50.0,
        goal_date=date(2026, 3, 1),
    )
    steady = [
        Reading(datetime(2026, 1, d, tzinfo=UTC), 100.0 - 2 * d, f"r{d}") for d in (1, 11, 21)
    ]
    s = kpi_state(kpi, steady, today=date(2026, 1, 21))
    # -2/day from 58 on Jan 21 for 39.99 days to the end of Mar 1 -> about -22
    assert s.projected == pytest.approx(58 - 2 * (39 + 86399 / 86400), rel=1e-6)
    assert s.status == "on track"
    slow = [
        Reading(datetime(2026, 1, d, tzinfo=UTC), 100.0 - 0.5 * d, f"r{d}") for d in (1, 11, 21)
    ]
    assert kpi_state(kpi, slow, today=date(2026, 1, 21)).status == "at risk"
    assert kpi_state(kpi, slow, today=date(2026, 3, 2)).status == "off track"


def test_readings_minutes_apart_project_nothing() -> None:
    kpi = KPI(
        name="lat",
        source="series:x",
        direction="lower",
        baseline_value=100.0,
        baseline_date=datetime(2026, 1, 1, tzinfo=UTC),
        goal_value=50.0,
        goal_date=date(2026, 3, 1),
    )
    close = [Reading(datetime(2026, 1, 1, 9, m, tzinfo=UTC), 100.0 - m, f"r{m}") for m in (0, 5)]
    s = kpi_state(kpi, close, today=date(2026, 1, 1))
    assert s.projected is None and "less than a day" in s.note and s.status == "at risk"


def test_kpi_bound_to_a_dora_metric_of_stored_analyses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # SQLite only: the process commands are exercised on PostgreSQL by their own tests.
    db_url = f"sqlite:///{tmp_path / 'fleetwise.db'}"
    sample = Path(__file__).parents[1] / "data" / "process" / "fourkeys_sample"
    assert main(["process", "import", str(sample), "--db", db_url]) == 0
    assert main(["process", "dora", "--db", db_url]) == 0
    capsys.readouterr()
    path = tmp_path / "kpis.yaml"
    path.write_text(
        "kpis:\n  - name: lead-time\n    source: analysis:process:overall.lead_time_hours\n"
        f"    direction: lower\n    unit: h\n    goal_value: 400\n    goal_date: {GOAL_DATE}\n"
    )
    assert main(["kpi", "add", str(path), "--db", db_url]) == 0
    capsys.readouterr()
    doc = _list(db_url, capsys)
    # Four Keys' own figure for this sample: median lead time 503.42 h
    assert doc["baseline"] == pytest.approx(503.42, abs=0.01)
    assert doc["current"] == doc["baseline"] and doc["status"] == "at risk"
