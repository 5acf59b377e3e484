"""Objections and answers: what a steering committee asks, answered from the data.

- Why not rent instead of buy? The break-even utilization of each rent option
  (``plan.invest``), set beside the utilization the cluster analysis measured.
- How sure are these numbers? Confidence intervals where they exist: experiments' $/yr,
  the forecast's prediction intervals and their backtest coverage, actions' confidence.
- What if demand grows faster? The forecast's growth scenarios (``plan.capacity.scenarios``).
- What does the plan cost if an action slips? Each scheduled action's risk-adjusted savings
  per month of delay, with the actions that wait for it (``plan.rollout.schedule``).
- What did stakeholders ask? The objections raised in meetings, open ones first, each with
  the answer given (``fleetwise alignment``).
"""

from __future__ import annotations

from fleetwise.plan.capacity import scenarios
from fleetwise.plan.scoring import score
from fleetwise.present.reports import alignment
from fleetwise.present.reports.facts import GROWTH_CASES, Facts
from fleetwise.present.reports.model import Figure, Item, Section, usd
from fleetwise.units import series_label, sig


def _rent(facts: Facts) -> Item:
    inv = facts.invest
    lines = []
    for r in inv.rent:
        be = r.break_even_utilization
        when = (
            "renting is always cheaper"
            if be is None
            else "owning is always cheaper"
            if be == 0
            else f"owning is cheaper above {be:.0%} utilization"
        )
        lines.append(f"{r.name} at {usd(r.usd_per_used_gpu_hour)}/used GPU-hour: {when}")
    cl = facts.latest("cluster")
    measured = cl.summary.get("measured_utilization") if cl else None
    if isinstance(measured, int | float):
        confidence = (cl.summary.get("utilization_confidence") if cl else "") or (
            "GPU_UTIL only: overstates use, low confidence"
        )
        lines.append(
            f"measured GPU utilization: {measured:.0%}, {confidence} "
            f"(cluster analysis {cl.id if cl else ''})"
        )
    else:
        lines.append(
            f"assumed utilization {inv.inputs.utilization:.0%} ({facts.invest_source}); "
            "import telemetry (fleetwise cluster analyze --telemetry FILE) to measure it"
        )
    return Item(title="Why not rent instead of buy?", lines=lines, source=facts.invest_source)


def _sure(facts: Facts) -> Item:
    lines: list[str] = []
    for e in facts.experiments:
        for o in e.outcomes:
            if o.usd_per_year_low is not None and o.usd_per_year_high is not None:
                lines.append(
                    f"experiment {e.id} ({e.name}) {o.variant}: {usd(o.usd_per_year)}/yr, 95% CI "
                    f"{usd(o.usd_per_year_low)} to {usd(o.usd_per_year_high)} ({o.verdict})"
                )
    f = facts.forecast
    if f is not None:
        best = next(b for b in f.backtests if b.model == f.model)
        lines.append(
            f"forecast: 95% interval {sig(f.lo_95[-1])} to {sig(f.hi_95[-1])} {f.unit} on "
            f"{f.days[-1]}; in backtests the 95% interval held {best.coverage_95:.0%} of days"
        )
    if facts.ranked:
        conf = [r.action.confidence for r in facts.ranked]
        lines.append(
            f"savings are risk-adjusted by each action's confidence "
            f"({min(conf):.0%} to {max(conf):.0%})"
        )
    for s in facts.series[:3]:
        if s.points:
            p = s.points[-1]
            lines.append(
                f"{series_label(s.key)}: median {sig(p.median)}, 95% CI {sig(p.ci_low)} to "
                f"{sig(p.ci_high)} {s.key.unit}"
            )
    if not lines:
        lines.append("no intervals yet: run experiments (fleetwise experiment run FILE)")
    return Item(title="How sure are these numbers?", lines=lines, source="experiments, forecast")


def _growth(facts: Facts) -> tuple[Item, list[Figure]]:
    f = facts.forecast
    title = "What if demand grows faster?"
    if f is None:
        return Item(title=title, lines=["no demand history: fleetwise cluster import FILE"]), []
    figures = []
    lines = []
    for s in scenarios(f, GROWTH_CASES):
        key = f"objections.growth.{s.growth_per_year:g}"
        figures.append(
            Figure(
                key=key,
                label=f"{s.name}: 95% upper bound on {f.days[-1]}",
                value=s.last_hi_95,
                text=sig(s.last_hi_95),
                source=f"fleetwise capacity forecast --growth {s.growth_per_year:g}",
            )
        )
        lines.append(
            f"{s.name}: {sig(s.last_mean)} {f.unit} expected on {f.days[-1]} "
            f"(95% upper bound {sig(s.last_hi_95)})"
        )
    return Item(title=title, lines=lines, source="fleetwise capacity forecast"), figures


def _slip(facts: Facts) -> Item:
    title = "What does the plan cost if an action slips?"
    if not facts.timeline:
        return Item(
            title=title,
            lines=[
                "no approved work scheduled: approve actions "
                "(fleetwise decide ID approve) and set dates"
            ],
        )
    waiting: dict[int, list[int]] = {}
    for it in facts.timeline:
        for d in it.waits_for:
            waiting.setdefault(d, []).append(it.action.id or 0)
    by_id = {it.action.id: it for it in facts.timeline}
    lines = []
    for it in facts.timeline:
        delayed = _downstream(it.action.id or 0, waiting)
        monthly = sum(
            score(by_id[i].action).benefit_usd_per_year / 12 for i in delayed if i in by_id
        )
        also = [f"#{i}" for i in delayed[1:]]
        lines.append(
            f"#{it.action.id} {it.action.title} (ends {it.end or '-'}): a month late costs "
            f"{usd(monthly)} of savings" + (f", delaying {', '.join(also)} too" if also else "")
        )
    return Item(title=title, lines=lines, source="fleetwise plan schedule, plan rank")


def _downstream(start: int, waiting: dict[int, list[int]]) -> list[int]:
    order, todo = [start], [start]
    while todo:
        for nxt in waiting.get(todo.pop(), []):
            if nxt not in order:
                order.append(nxt)
                todo.append(nxt)
    return order


def section(facts: Facts) -> Section:
    growth, figures = _growth(facts)
    return Section(
        key="objections",
        title="Objections and answers",
        items=[
            _rent(facts),
            _sure(facts),
            growth,
            _slip(facts),
            *alignment.meeting_objections(facts.alignment),
        ],
        figures=figures,
    )
