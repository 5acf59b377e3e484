"""Results taken on an unhealthy host are annotated in ``bench history`` and left out of
change-point detection by default (``regressions``, ``bench history``);
``--include-unhealthy`` puts them back, and the output says how many and why."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from fleetwise.collect import host_health as hh
from fleetwise.models import ResultRecord, RunStatus
from fleetwise.present.cli import main
from fleetwise.stats import summarize
from fleetwise.store import Store

XID = (
    "GPU XID 79 on PCI:0000:3b:00 during the case (GPU has fallen off the bus): drain the "
    "node; check power, PCIe, firmware; the result measured a failing GPU"
)


def fill(db: Path, points: list[tuple[float, list[str]]]) -> None:
    store = Store(f"sqlite:///{db}")
    env = store.save_environment(
        {"host": "h", "cpu": {"model": "Test CPU", "cores": 2}, "libraries": {}}, "e" * 64
    )
    rng = np.random.default_rng(1)
    for median, warnings in points:
        run = store.create_run("quick", {"cases": []}, environment_id=env)
        samples = list(median * (1 + rng.normal(0, 0.002, 5)))
        store.add_results(
            run.id,
            [
                ResultRecord(
                    case_key="000-a",
                    case_index=0,
                    benchmark="compute.gemm",
                    layer="compute",
                    params={"size": 256, "dtype": "fp32", "device": "cuda"},
                    metric="tflops",
                    unit="TFLOP/s",
                    direction="higher",
                    samples=samples,
                    summary=summarize(samples),
                    environment_id=env,
                    started_at=datetime(2026, 1, 1, tzinfo=UTC),
                    warnings=warnings,
                )
            ],
        )
        store.set_run_status(run.id, RunStatus.COMPLETED)
    store.close()


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main(list(argv)) == 0
    return capsys.readouterr().out


def test_unhealthy_points_are_left_out_unless_asked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "h.db"
    steal = "CPU steal 12.0% > 5%: a noisy neighbour on this VM; use dedicated hosts"
    fill(
        db,
        [(1.0, [])] * 20 + [(0.7, [XID])] * 5 + [(0.7, [XID, steal])],
    )
    assert hh.health_reasons([XID, steal]) == ["XID", "CPU steal"]
    doc = json.loads(cli(capsys, "regressions", "--db", str(db), "--json"))
    assert doc["change_points"] == []
    assert doc["unhealthy_points"] == {"points": 6, "XID": 6, "CPU steal": 1}
    assert doc["include_unhealthy"] is False
    doc = json.loads(cli(capsys, "regressions", "--db", str(db), "--json", "--include-unhealthy"))
    assert [c["kind"] for c in doc["change_points"]][:1] == ["regression"]
    out = " ".join(cli(capsys, "regressions", "--db", str(db)).split())
    assert (
        "6 point(s) on unhealthy hosts (CPU steal 1, XID 6) left out of detection; "
        "--include-unhealthy puts them back"
    ) in out
    series = json.loads(cli(capsys, "bench", "series", "--db", str(db), "--json"))["series"]
    sid = series[0]["id"]
    hist = json.loads(cli(capsys, "bench", "history", sid, "--db", str(db), "--json"))
    marks = [p["unhealthy"] for p in hist["points"]]
    assert marks[19:21] == [[], ["XID"]] and marks[-1] == ["XID", "CPU steal"]
    assert hist["change_points"] == []
    table = " ".join(cli(capsys, "bench", "history", sid, "--db", str(db)).split())
    assert "left out: XID, CPU steal" in table and "left out of detection" in table


def test_a_real_regression_is_found_around_left_out_points(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "r.db"
    fill(db, [(1.0, [])] * 15 + [(0.5, [XID])] * 2 + [(0.8, [])] * 15)
    doc = json.loads(cli(capsys, "regressions", "--db", str(db), "--json"))
    (cp,) = doc["change_points"]
    # the change sits after the left-out points; "before" is the last healthy run
    assert cp["kind"] == "regression" and cp["index"] == 17 and cp["before_index"] == 14
    assert (cp["before"], cp["after"]) == ("run 15", "run 18")
    assert cp["change"] == pytest.approx(-0.2, abs=0.01)
