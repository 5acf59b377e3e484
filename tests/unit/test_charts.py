"""The shared chart specs: each renders offline, with its marks, from typed data."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from fleetwise.models import KPI, Series, SeriesKey, SeriesPoint
from fleetwise.plan.capacity import Backtest, Forecast
from fleetwise.plan.invest import compare, scenario_inputs
from fleetwise.plan.kpis import KPIState
from fleetwise.present import charts

EVIL = "<script>alert(1)</script>"


def _series() -> Series:
    start = datetime(2026, 11, 1, tzinfo=UTC)
    values = [100.0] * 6 + [80.0] * 6
    points = [
        SeriesPoint(
            run_id=i + 1,
            result_id=i + 1,
            time=start + timedelta(days=i),
            median=v,
            ci_low=v - 1,
            ci_high=v + 1,
            n=5,
        )
        for i, v in enumerate(values)
    ]
    key = SeriesKey(
        benchmark=EVIL, metric="gflops", params_hash="ab" * 8, env_class="cd" * 8, unit="GFLOP/s"
    )
    return Series(key=key, points=points)


def _forecast() -> Forecast:
    days = [f"2026-11-{d:02d}" for d in range(1, 11)]
    ahead = [f"2026-11-{d:02d}" for d in range(11, 16)]
    mean = [10.0 + i for i in range(5)]
    return Forecast(
        unit="GPU-hours/day",
        model="AutoETS",
        history_days=days,
        history=[9.0] * 10,
        days=ahead,
        mean=mean,
        lo_80=[m - 1 for m in mean],
        hi_80=[m + 1 for m in mean],
        lo_95=[m - 2 for m in mean],
        hi_95=[m + 2 for m in mean],
        backtests=[Backtest("AutoETS", 3, 21, 1.0, 0.8, 0.95)],
    )


def _kpi_state(current: float) -> KPIState:
    kpi = KPI(
        name="lat", source="series:x", goal_value=50, goal_date=date(2027, 1, 1), direction="lower"
    )
    now = datetime(2026, 11, 1, tzinfo=UTC)
    return KPIState(kpi, 100.0, now, current, now, None, None, "at risk", 2)


def test_every_chart_renders_to_svg_with_marks() -> None:
    inv = compare(scenario_inputs({}))
    built = [
        charts.benchmark_history(_series(), [6]),
        charts.efficiency_vs_peak([charts.EfficiencyBar("gemm", 0.42, "H100 datasheet")]),
        charts.time_breakdown(
            [charts.TimeShare("rank 0", "idle", 3.0), charts.TimeShare("rank 0", "compute", 1.0)]
        ),
        charts.kpi_progress([_kpi_state(75.0)]),
        charts.forecast_fan(_forecast()),
        charts.queue_waits([charts.WaitQuantiles("nlp", 10, 0.1, 0.5, 2.0)]),
        charts.dora_trends(
            [
                {
                    "week": "2026-11-02",
                    "deployments": 3,
                    "lead_time_hours": 20.0,
                    "change_failure_rate": 0.1,
                }
            ]
        ),
        charts.tornado(inv.tornado, inv.npv_usd),
    ]
    for chart in built:
        svg = charts.to_svg(chart)
        assert svg.startswith("<svg") and ("<path" in svg or "<rect" in svg)
    assert charts.to_png(built[0]).startswith(b"\x89PNG")


def test_user_text_in_a_chart_stays_text() -> None:
    svg = charts.to_svg(charts.benchmark_history(_series(), [6]))
    assert "<script" not in svg and "&lt;script&gt;" in svg


def _values(spec: dict[str, Any], layer: dict[str, Any]) -> list[dict[str, Any]]:
    """A layer's inline rows (Altair moves them to the top-level ``datasets``)."""
    data = layer.get("data", spec.get("data", {}))
    rows: list[dict[str, Any]] = (
        data["values"] if "values" in data else spec["datasets"][data["name"]]
    )
    return rows


def test_history_marks_each_change_point_at_its_run() -> None:
    spec = charts.spec(charts.benchmark_history(_series(), [6, 99]))
    (rule,) = [layer for layer in spec["layer"] if layer["mark"]["type"] == "rule"]
    assert [v["run"] for v in _values(spec, rule)] == [7]  # index 99 is past the end


def test_kpi_progress_puts_baseline_at_zero_and_goal_at_one() -> None:
    spec = charts.spec(charts.kpi_progress([_kpi_state(75.0)]))
    assert _values(spec, spec["layer"][0])[0]["progress"] == pytest.approx(0.5)


def test_tornado_leaves_out_inputs_that_do_not_move_npv() -> None:
    inv = compare(scenario_inputs({}))
    spec = charts.spec(charts.tornado(inv.tornado, inv.npv_usd))
    rows = _values(spec, spec["layer"][0])
    moving = [b for b in inv.tornado if b.npv_at_high != b.npv_at_low]
    assert len(rows) == len(moving) < len(inv.tornado)
    swings = [r["hi"] - r["lo"] for r in rows]
    assert swings == sorted(swings, reverse=True)
