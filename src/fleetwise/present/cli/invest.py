"""``fleetwise invest compare``: buy vs rent GPUs for one scenario file."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Group
from rich.table import Table
from rich.text import Text

from fleetwise.models import SCHEMA_VERSION
from fleetwise.plan.invest import InvestResult, compare, load_defaults, load_scenario
from fleetwise.present.cli.common import JsonOption, print_json, stdout
from fleetwise.units import sig

app = typer.Typer(help="Buy or rent GPUs: TCO, NPV, IRR, payback, break-even.")


def _usd(value: float) -> str:
    return f"-${sig(-value)}" if value < 0 else f"${sig(value)}"


def invest_document(result: InvestResult) -> dict[str, Any]:
    defaults = load_defaults()
    return {
        "schema_version": SCHEMA_VERSION,
        "inputs": {
            name: {
                "value": value,
                "unit": defaults[name].unit,
                "source": "scenario" if name in result.overridden else defaults[name].source,
                "date": None if name in result.overridden else defaults[name].date,
            }
            for name, value in result.inputs.model_dump().items()
        },
        "gpus": result.gpus,
        "capex_usd": result.capex_usd,
        "yearly_cost_usd": result.yearly_cost_usd,
        "usd_per_gpu_hour_full": result.usd_per_gpu_hour_full,
        "usd_per_gpu_hour_full_with_capital": result.usd_per_gpu_hour_full_with_capital,
        "usd_per_used_gpu_hour": result.usd_per_used_gpu_hour,
        "rent": [asdict(r) for r in result.rent],
        "npv_usd": result.npv_usd,
        "irr": result.irr,
        "payback_years": result.payback_years,
        "cash_flows_usd": list(result.cash_flows_usd),
        "tornado": [asdict(b) for b in result.tornado],
    }


def invest_view(result: InvestResult, scenario: str) -> Group:
    i = result.inputs
    head = Table(title=f"buy vs rent: {scenario}", title_justify="left")
    head.add_column("figure", no_wrap=True)
    head.add_column("value", justify="right", no_wrap=True)
    head.add_row("GPUs", str(result.gpus))
    head.add_row("purchase", _usd(result.capex_usd))
    head.add_row("owned $/GPU-h at 100%, straight line", _usd(result.usd_per_gpu_hour_full))
    head.add_row(
        f"owned $/GPU-h at 100%, {i.cost_of_capital:.0%} cost of capital",
        _usd(result.usd_per_gpu_hour_full_with_capital),
    )
    head.add_row(f"owned $/used GPU-h at {i.utilization:.0%}", _usd(result.usd_per_used_gpu_hour))
    head.add_row(f"NPV of buying vs on-demand ({i.depreciation_years} y)", _usd(result.npv_usd))
    head.add_row("IRR", f"{result.irr:.1%}" if result.irr is not None else "-")
    payback = result.payback_years
    head.add_row("payback", f"{payback:.1f} y" if payback is not None else "never")

    rent = Table(title="rent options", title_justify="left")
    for name in ("option", "$/used GPU-h", "owning cheaper above"):
        rent.add_column(name, justify="right" if name != "option" else "left", no_wrap=True)
    for r in result.rent:
        be = r.break_even_utilization
        shown = "never" if be is None else "always" if be == 0 else f"{be:.0%}"
        rent.add_row(r.name, _usd(r.usd_per_used_gpu_hour), shown)

    tornado = Table(title="sensitivity (each input -20% / +20%)", title_justify="left")
    for name in ("input", "low", "high", "NPV low", "NPV high", "margin low", "margin high"):
        tornado.add_column(name, justify="left" if name == "input" else "right", no_wrap=True)
    for b in result.tornado:
        tornado.add_row(
            b.input,
            sig(b.low_value),
            sig(b.high_value),
            _usd(b.npv_at_low),
            _usd(b.npv_at_high),
            _usd(b.margin_at_low),
            _usd(b.margin_at_high),
        )
    note = Text(
        "margin: owned minus the cheapest rent option per used GPU-hour (negative: owning is "
        "cheaper). Defaults and their sources: --json."
    )
    return Group(head, rent, tornado, note)


@app.command("compare")
def compare_cmd(
    scenario: Annotated[
        Path, typer.Argument(help="YAML mapping of input names to values (all optional).")
    ],
    json_out: JsonOption = False,
) -> None:
    """TCO per GPU-hour owned vs on-demand, reserved and spot; NPV, IRR, payback, tornado."""
    inputs, overridden = load_scenario(scenario)
    result = compare(inputs, overridden)
    if json_out:
        print_json(invest_document(result))
        return
    stdout().print(invest_view(result, str(scenario)))
