"""Demand forecast with backtest coverage on a real series; sizing by simulation and bisection."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from fleetwise.collect.importers.telemetry import import_telemetry
from fleetwise.errors import InputError
from fleetwise.models import JobRecord, JobState
from fleetwise.plan.capacity import daily_gpu_hours, forecast_daily, scenarios
from fleetwise.plan.sizing import parse_slo, size_cluster
from fleetwise.present.cli import main
from fleetwise.store import Store

DATA = Path(__file__).parents[1] / "data" / "clusters"
PHILLY_SEQ = DATA / "philly_node_sequence_10min.csv"


def philly_daily() -> tuple[list[str], np.ndarray]:
    days, busy = import_telemetry(PHILLY_SEQ).daily_mean_busy()
    # the first and last days of the trace are partial
    return [str(d) for d in days[1:-1]], busy[1:-1]


def test_forecast_backtest_covers_held_back_days_on_philly() -> None:
    days, busy = philly_daily()
    f = forecast_daily(days, busy, "busy nodes", horizon=14)
    assert {b.model for b in f.backtests} == {"AutoETS", "AutoTheta", "SeasonalNaive"}
    chosen = next(b for b in f.backtests if b.model == f.model)
    assert chosen.mae == min(b.mae for b in f.backtests)
    assert chosen.points == 21
    assert chosen.coverage_95 >= 0.9
    assert len(f.days) == 14 and f.days[0] == "2017-12-15"
    for lo95, lo80, mean, hi80, hi95 in zip(
        f.lo_95, f.lo_80, f.mean, f.hi_80, f.hi_95, strict=True
    ):
        assert lo95 <= lo80 <= mean <= hi80 <= hi95
    base, grown = scenarios(f, [("growth", 0.5, 0.1)])
    assert base.last_mean == pytest.approx(f.mean[-1])
    assert grown.last_mean == pytest.approx(f.mean[-1] * 1.5 ** (14 / 365) * 0.9)


def test_forecast_needs_enough_history() -> None:
    with pytest.raises(InputError, match="needs at least 35"):
        forecast_daily([f"2024-01-{d:02d}" for d in range(1, 21)], np.ones(20))


def test_daily_gpu_hours_splits_jobs_across_days() -> None:
    t0 = datetime(2024, 1, 1, 22, tzinfo=UTC)
    job = JobRecord(
        job_id="a",
        submit_time=t0,
        start_time=t0,
        end_time=t0 + timedelta(hours=4),
        gpus=2,
        state=JobState.COMPLETED,
    )
    days, hours = daily_gpu_hours([job])
    assert days == ["2024-01-01", "2024-01-02"]
    assert hours.tolist() == pytest.approx([4.0, 4.0])


@pytest.mark.parametrize(
    ("text", "stat", "limit"),
    [
        ("p95 wait < 1h", "p95", 3600),
        ("mean wait <= 30 min", "mean", 1800),
        ("P99 wait < 2.5 h", "p99", 9000),
        ("median wait < 90s", "p50", 90),
    ],
)
def test_parse_slo(text: str, stat: str, limit: float) -> None:
    slo = parse_slo(text)
    assert (slo.statistic, slo.limit_s) == (stat, limit)


@pytest.mark.parametrize("text", ["p95 < 1h", "p95 wait < 1 fortnight", "p42 wait < 1h", ""])
def test_bad_slo(text: str) -> None:
    with pytest.raises(InputError, match="--slo"):
        parse_slo(text)


def test_sizing_bisection_finds_the_smallest_size() -> None:
    data = np.loadtxt(DATA / "philly_job_sizes.csv", delimiter=",", skiprows=1)
    gpus, durations = data[:, 1].astype(np.int64), data[:, 0]
    slo = parse_slo("p95 wait < 1h")
    s = size_cluster(gpus, durations, 0.8 * 64 * 24, slo, "fifo", 8, n_jobs=20_000)
    assert s.gpus % 8 == 0 and slo.met_by(s.result)
    below = [x for x in s.steps if x.gpus == s.gpus - 8]
    assert below and not below[0].met  # one node fewer misses the SLO
    assert s.erlang_c_gpus < s.gpus  # the closed form is a lower bound
    assert s.offered_gpus == pytest.approx(51.2)


def test_cli_capacity_size_and_forecast(capsys: pytest.CaptureFixture[str]) -> None:
    sizes = DATA / "philly_job_sizes.csv"
    args = ["capacity", "size", "--slo", "p95 wait < 1h", "--sizes", str(sizes)]
    args += ["--demand", "1228.8", "--jobs", "10000"]
    assert main([*args, "--policy", "backfill", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["policy"] == "backfill" and doc["gpus"] >= 64
    assert doc["at_size"]["p95_wait_s"] < 3600
    assert main(args) == 0
    assert "smallest cluster:" in capsys.readouterr().out
    assert main(["capacity", "size", "--slo", "p95 in 1h", "--demand", "10"]) == 2
    forecast = ["capacity", "forecast", "--telemetry", str(PHILLY_SEQ), "--growth", "0.3"]
    assert main([*forecast, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["model"] in {"AutoETS", "AutoTheta", "SeasonalNaive"}
    assert [s["name"] for s in doc["scenarios"]] == ["baseline", "scenario"]


def test_cli_forecast_without_jobs(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    Store(db_url).close()  # a store, but no jobs in it
    assert main(["capacity", "forecast", "--db", db_url]) == 2
    assert "no jobs" in capsys.readouterr().err
