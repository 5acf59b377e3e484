"""``fleetwise ledger``: the fleet's GPU-hours in buckets that sum to capacity, with the
findings' bounded claims on them and the assumptions every dollar used."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from fleetwise.analyze.ledger import BUCKETS, LABELS
from fleetwise.present.cli.common import (
    DbOption,
    FleetOption,
    JsonOption,
    open_store,
    print_json,
    stdout,
)
from fleetwise.units import count, percent, usd
from fleetwise.usecases.fleet import profile_for
from fleetwise.usecases.ledger import LedgerView, ledger_for


def ledger_cmd(
    period: Annotated[
        str | None,
        typer.Option(help="YYYY, YYYY-MM or YYYY-MM-DD..YYYY-MM-DD (default: the job log's span)."),
    ] = None,
    by: Annotated[
        str | None, typer.Option(help="Split the buckets by team, month or pool.")
    ] = None,
    fleet: FleetOption = None,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Where the fleet's GPU-hours went: down, idle, stranded, lost, idle while allocated,
    runtime badput, unattributed and productive, summing to capacity."""
    profile = profile_for(fleet)
    with open_store(db, must_exist=True) as store:
        view = ledger_for(store, profile, period, by, now=datetime.now(UTC))
    if json_out:
        print_json(view.document())
        return
    _render(view)


def _render(view: LedgerView) -> None:
    out = stdout()
    lg = view.ledger
    inv = lg.inventory
    out.print(
        f"fleet ledger, {view.period.start:%Y-%m-%d %H:%M} to {view.period.end:%Y-%m-%d %H:%M} "
        f"UTC ({view.period.label}, {count(lg.hours)} h): capacity {count(lg.capacity)} GPU-hours"
        + (f" of {count(inv.gpus)} GPUs ({inv.source})" if inv else "")
    )
    t = Table(title_justify="left")
    for col in ("bucket", "GPU-hours", "share", "GPU-h/yr", "$/yr", "confidence", "evidence"):
        t.add_column(
            col, justify="left" if col in ("bucket", "confidence", "evidence") else "right"
        )
    for line in view.lines():
        t.add_row(
            line.label,
            count(line.gpu_hours),
            percent(line.share),
            count(line.gpu_hours_per_year),
            usd(line.usd_per_year),
            line.confidence,
            ", ".join(line.evidence[:3]),
        )
    t.add_row(
        "capacity",
        count(lg.capacity),
        "100.0%",
        count(lg.capacity * view.per_year),
        usd(view.usd_per_year(lg.capacity)),
        "",
        "",
    )
    out.print(t)
    if lg.badput:
        out.print(
            "runtime badput: "
            + "; ".join(f"{k} {count(v)} GPU-h" for k, v in sorted(lg.badput.items()))
        )
    g = lg.goodput
    out.print(
        "goodput (ML Productivity Goodput, arXiv 2502.06982): "
        + ", ".join(f"{k} {percent(v) if v is not None else 'unknown'}" for k, v in g.items())
    )
    if lg.ettr:
        out.print(
            "ETTR by job size (GPUs): "
            + ", ".join(
                f"{r['size']}: {percent(float(r['ettr']))} ({r['jobs']:,} jobs)" for r in lg.ettr
            )
        )
    if view.by:
        _rows(view)
    c = view.claims
    out.print(
        f"findings claim {count(c.gpu_hours)} GPU-h/yr ({usd(c.gpu_usd)}/yr) of the ledger's "
        f"{count(lg.capacity * view.per_year)}; engineer time {usd(c.people_usd)}/yr"
    )
    for u in c.buckets:
        if u.overlap_gpu_hours > 0:
            out.print(
                f"  {u.bucket}: {u.claims} findings asked {count(u.asked_gpu_hours)} GPU-h/yr, "
                f"combined {count(u.combined_gpu_hours)} of {count(u.available_gpu_hours)} "
                f"(overlap {count(u.overlap_gpu_hours)})"
            )
    for n in view.notes:
        out.print(f"note: {n}")
    out.print(f"assumptions: {view.profile.describe()}")


def _rows(view: LedgerView) -> None:
    lg = view.ledger
    t = Table(title=f"by {view.by} (GPU-hours)", title_justify="left")
    t.add_column(view.by or "")
    for b in BUCKETS:
        t.add_column(LABELS[b], justify="right")
    source = lg.by_team if view.by == "team" else {n: r.buckets for n, r in view.rows.items()}
    for name, vals in source.items():
        t.add_row(name, *(count(vals.get(b, 0.0)) for b in BUCKETS))
    stdout().print(t)
