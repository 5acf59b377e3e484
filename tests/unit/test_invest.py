"""The buy-vs-rent model reproduces the published TCO anchor and validates its inputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fleetwise.errors import InputError
from fleetwise.plan.invest import (
    compare,
    load_defaults,
    load_scenario,
    owned_usd_per_gpu_hour,
    scenario_inputs,
)
from fleetwise.present.cli import main

#: /work/shared/data/README.md: 8-GPU server $300k, 10.2 kW, $184.06/kW-month, 5-year
#: straight line -> $1.18/GPU-h; 10% cost of capital -> $1.45; break-even vs $2.50 near 58%.
ANCHOR = {
    "server_price_usd": 300_000,
    "gpus_per_server": 8,
    "server_power_kw": 10.2,
    "colocation_usd_per_kw_month": 184.06,
    "electricity_usd_per_kwh": 0.0,
    "overhead_fraction": 0.0,
    "depreciation_years": 5,
    "cost_of_capital": 0.10,
    "on_demand_usd_per_gpu_hour": 2.50,
}


def test_tco_anchor() -> None:
    result = compare(scenario_inputs(ANCHOR))
    assert round(result.usd_per_gpu_hour_full, 2) == 1.18
    assert round(result.usd_per_gpu_hour_full_with_capital, 2) == 1.45
    on_demand = next(r for r in result.rent if r.name == "on-demand")
    assert on_demand.break_even_utilization == pytest.approx(0.58, abs=0.005)


def test_defaults_are_the_anchor_and_each_is_dated_and_sourced() -> None:
    defaults = load_defaults()
    for name, value in ANCHOR.items():
        assert defaults[name].value == value, name
    for d in defaults.values():
        assert d.source and d.unit and d.date[:2] == "20", d.name


def test_npv_is_zero_at_the_irr_and_payback_matches_cash_flows() -> None:
    result = compare(scenario_inputs({"utilization": 0.8}))
    assert result.irr is not None
    at_irr = compare(scenario_inputs({"utilization": 0.8, "cost_of_capital": result.irr}))
    assert at_irr.npv_usd == pytest.approx(0.0, abs=1e-3)
    flows = result.cash_flows_usd
    assert result.payback_years == pytest.approx(-flows[0] / flows[1])


def test_owning_below_break_even_loses_money() -> None:
    below = compare(scenario_inputs({"utilization": 0.5}))
    above = compare(scenario_inputs({"utilization": 0.7}))
    assert below.npv_usd < 0 < above.npv_usd


@settings(max_examples=50, deadline=None)
@given(st.floats(0.05, 1.0), st.floats(0.05, 1.0))
def test_cost_per_used_hour_falls_as_utilization_rises(u1: float, u2: float) -> None:
    i = scenario_inputs({})
    low, high = sorted((u1, u2))
    assert owned_usd_per_gpu_hour(i, high, True) <= owned_usd_per_gpu_hour(i, low, True)
    assert owned_usd_per_gpu_hour(i, low, True) >= owned_usd_per_gpu_hour(i, low, False)


def test_tornado_covers_every_nonzero_input_largest_first() -> None:
    result = compare(scenario_inputs({}))
    names = {b.input for b in result.tornado}
    nonzero = {n for n, v in result.inputs.model_dump().items() if v != 0}
    assert names == nonzero
    swings = [b.swing for b in result.tornado]
    assert swings == sorted(swings, reverse=True)


def test_unknown_and_invalid_inputs_are_named(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"unknown input.*gpu_price"):
        scenario_inputs({"gpu_price": 3})
    with pytest.raises(InputError, match="utilization"):
        scenario_inputs({"utilization": 1.5})
    bad = tmp_path / "bad.yaml"
    bad.write_text("servers: [1,\n")
    with pytest.raises(InputError, match=r"bad.yaml:\d+:\d+: not valid YAML"):
        load_scenario(bad)


def test_cli_json_and_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text("servers: 4\nutilization: 0.8\n")
    assert main(["invest", "compare", str(scenario), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["gpus"] == 32
    assert doc["inputs"]["servers"]["source"] == "scenario"
    assert "CBRE" in doc["inputs"]["colocation_usd_per_kw_month"]["source"]
    assert round(doc["usd_per_gpu_hour_full_with_capital"], 2) == 1.45
    assert main(["invest", "compare", str(scenario)]) == 0
    assert "NPV of buying" in capsys.readouterr().out
    scenario.write_text("server_price: 1\n")
    assert main(["invest", "compare", str(scenario)]) == 2
    assert "unknown input(s) server_price" in capsys.readouterr().err
