"""The steering story's answer, the same everywhere: the headline sentence and the waterfall
from capacity down to productive GPU-hours, computed from the ledger and the backlog that
the briefing, the deck and the dashboard all read (``usecases.plan.PlanTotals``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from fleetwise.analyze.ledger import BUCKETS, LABELS
from fleetwise.plan.scoring import Ranked
from fleetwise.units import count, percent, usd
from fleetwise.usecases.ledger import LedgerView
from fleetwise.usecases.plan import Recoverable

NO_ACTIONS = "no backlog: fleetwise plan seed, or fleetwise plan import FILE"


@dataclass(frozen=True)
class Bar:
    label: str
    gpu_hours_per_year: float
    #: ``total`` (capacity, productive), ``loss``, or ``unattributed``.
    kind: str


def headline(view: LedgerView, rec: Recoverable, open_ranked: Sequence[Ranked]) -> str:
    """ "Of N GPU-hours a year, P% is productive; $X/yr is recoverable by K actions costing $Y."""
    lg = view.ledger
    cap_year = lg.capacity * view.per_year
    productive, unattributed = lg.share("productive"), lg.share("unattributed")
    gpus = lg.inventory.gpus if lg.inventory else 0
    sentence = (
        f"Of {count(cap_year)} GPU-hours a year ({count(gpus)} GPUs), {percent(productive)} is "
        "measured productive"
        + (f" and {percent(unattributed)} is active but unattributed" if unattributed else "")
        + f"; {percent(max(1 - productive - unattributed, 0.0))} is lost or idle."
    )
    k = len(open_ranked)
    if k:
        cost = sum(r.scores.investment_usd for r in open_ranked)
        sentence += (
            f" {usd(rec.ledger_backed_usd)}/yr (GPU and engineer time) is recoverable by "
            f"{k} open action{'s' if k != 1 else ''} costing {usd(cost)}."
        )
    else:
        sentence += f" No action is open yet: {NO_ACTIONS}."
    return sentence


def waterfall(view: LedgerView) -> list[Bar]:
    """Capacity, each non-empty loss bucket, unattributed time, productive (a year)."""
    lg = view.ledger
    bars = [Bar("capacity", lg.capacity * view.per_year, "total")]
    for b in BUCKETS:
        hours = lg.buckets[b] * view.per_year
        if b == "productive" or hours <= 0:
            continue
        bars.append(Bar(LABELS[b], hours, "unattributed" if b == "unattributed" else "loss"))
    bars.append(Bar(LABELS["productive"], lg.buckets["productive"] * view.per_year, "total"))
    return bars
