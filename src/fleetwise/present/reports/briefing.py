"""The executive briefing: a one-page summary, then one section per area.

``build_briefing(store)`` is what the HTML, PDF and PPTX renderers and the dashboard's
overview all read, so every face shows the same numbers.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from fleetwise.models import ActionStatus, Severity
from fleetwise.plan.fleet import FleetProfile
from fleetwise.present import charts
from fleetwise.present.reports import alignment, areas, objections, valuestream
from fleetwise.present.reports.areas import NO_JOBS
from fleetwise.present.reports.facts import Facts, gather
from fleetwise.present.reports.model import Figure, Item, Report, Section, Table, absent, usd
from fleetwise.present.reports.people import add_finding_evidence
from fleetwise.present.reports.people import section as people_section
from fleetwise.store import Store
from fleetwise.units import amount, count, percent, sig
from fleetwise.usecases import story

TOP = 5
NO_FINDINGS = "no diagnosis stored: fleetwise diagnose --trace DIR, fleetwise cluster analyze"
NO_ACTIONS = "no backlog: fleetwise plan seed, or fleetwise plan import FILE"
NO_KPIS = "no KPIs defined: fleetwise kpi add FILE"


def ledger_section(facts: Facts) -> Section:
    """Where the fleet's GPU-hours went: the ledger's buckets, summing to capacity (its
    capacity and productive share head page 1, in ``headline``)."""
    view = facts.ledger
    src = f"fleetwise ledger ({view.period.label})"
    figures: list[Figure] = []
    rows = []
    for line in view.lines():
        figures.append(
            Figure(
                key=f"ledger.{line.bucket}.usd_per_year",
                label=line.label,
                value=line.usd_per_year,
                text=f"{count(line.gpu_hours_per_year)} GPU-h/yr, {percent(line.share)}",
                source=src,
            )
        )
        rows.append(
            [
                line.label,
                count(line.gpu_hours_per_year),
                percent(line.share),
                usd(line.usd_per_year),
                line.confidence,
            ]
        )
    table = Table(
        title="fleet ledger (per year)",
        columns=["bucket", "GPU-h/yr", "share", "$/yr", "confidence"],
        rows=rows,
        source=src,
    )
    return Section(
        key="ledger_detail",
        title="The fleet ledger",
        figures=figures,
        tables=[table],
        paragraphs=[*view.notes, f"Assumptions: {facts.profile.describe()}"],
    )


def losses(facts: Facts) -> Section:
    """What the current findings claim of the ledger, each bounded by its bucket."""
    claims = facts.ledger.claims
    priced = [c for c in claims.claims if c.scope in ("fleet", "workload", "people") and c.usd > 0]
    priced.sort(key=lambda c: c.usd, reverse=True)
    local = [c for c in claims.claims if c.scope == "local"]
    title = "Where the fleet loses time and money"
    if not claims.claims:
        return absent("losses", title, NO_FINDINGS)
    figures = [
        Figure(
            key="losses.total_usd_per_year",
            label=f"GPU time the {len(claims.claims)} current findings claim, per year "
            "(each bounded by its ledger bucket, overlaps combined)",
            value=claims.gpu_usd,
            text=f"{usd(claims.gpu_usd)}/yr",
            source="fleetwise ledger --json (claims)",
        ),
        Figure(
            key="losses.total_gpu_hours_per_year",
            label="GPU-hours they claim per year",
            value=claims.gpu_hours,
            text=count(claims.gpu_hours),
            source="fleetwise ledger --json (claims)",
        ),
        Figure(
            key="losses.people_usd_per_year",
            label=f"engineer time (at {usd(facts.profile.usd_per_engineer_hour)}/h)",
            value=claims.people_usd,
            text=f"{usd(claims.people_usd)}/yr",
            source="fleetwise ledger --json (claims)",
        ),
    ]
    items = []
    for n, c in enumerate(priced[:TOP], 1):
        f = c.finding
        figures.append(
            Figure(
                key=f"losses.{n}.usd_per_year",
                label=f.title,
                value=c.usd,
                text=f"{usd(c.usd)}/yr",
                source=facts.finding_source(f),
            )
        )
        cost = (
            f"{usd(c.usd)}/yr of engineer time"
            if c.scope == "people"
            else f"{usd(c.usd)}/yr, {count(c.gpu_hours)} GPU-h/yr of {c.bucket.replace('_', ' ')}"
        )
        lines = [
            f"{cost} ({c.scope_label}; {f.layer}, {c.severity.value})",
            *([c.note] if c.note else []),
            *[f"{e.label}: {amount(e.value, e.unit)}" for e in f.evidence[:3]],
            *[f"recommendation: {r}" for r in f.recommendations[:2]],
        ]
        items.append(Item(title=f.title, lines=lines, source=facts.finding_source(f)))
    for c in local[: max(TOP - len(items), 0)]:
        items.append(
            Item(
                title=c.finding.title,
                lines=[f"{c.scope_label}: no fleet dollars", c.note],
                source=facts.finding_source(c.finding),
            )
        )
    return Section(key="losses", title=title, figures=figures, items=items)


def detail(summary: Section, key: str, title: str) -> Section:
    """The summary's items as their own section (one slide each in the deck); the summary
    keeps only its figures so that it fits on one page."""
    out = Section(key=key, title=title, items=summary.items)
    summary.items = []
    return out


def top_actions(facts: Facts) -> Section:
    """The open actions with the highest NPV, with their cost and $ impact."""
    title = "Top actions"
    if not facts.ranked:
        return absent("actions", title, NO_ACTIONS)
    figures, items, rows = [], [], []
    for r in facts.ranked[:TOP]:
        a, s = r.action, r.scores
        src = f"action {a.id}, plan rank --by npv"
        figures.append(
            Figure(
                key=f"actions.{a.id}.npv",
                label=f"NPV of {a.title} (costs {usd(s.investment_usd)}, saves "
                f"{usd(a.savings_usd_per_year)}/yr)",
                value=s.npv,
                text=usd(s.npv),
                source=src,
            )
        )
        payback = "-" if s.payback_months is None else f"{s.payback_months:.1f} months"
        items.append(
            Item(
                title=a.title,
                lines=[
                    f"saves {usd(a.savings_usd_per_year)}/yr at {a.confidence:.0%} confidence "
                    f"(risk-adjusted {usd(s.benefit_usd_per_year)}/yr)",
                    f"costs {usd(s.investment_usd)} ({a.effort_days:g} person-days + "
                    f"{usd(a.one_time_cost_usd)})",
                    f"NPV {usd(s.npv)}, payback {payback}; owner {a.owner or '-'}, "
                    f"status {a.status.value}",
                ],
                source=src,
            )
        )
        rows.append(
            [
                str(a.id),
                a.title,
                usd(a.savings_usd_per_year),
                usd(s.investment_usd),
                usd(s.npv),
                payback,
                a.status.value,
            ]
        )
    table = Table(
        title="top actions by NPV",
        columns=["id", "action", "savings/yr", "cost", "NPV", "payback", "status"],
        rows=rows,
        source="fleetwise plan rank --by npv",
    )
    return Section(key="actions", title=title, figures=figures, items=items, tables=[table])


def investment_ask(facts: Facts) -> Section:
    """Buy or rent the hardware: the scenario the story passed (named), or the defaults."""
    inv = facts.invest
    figures = [
        Figure(
            key="ask.capex",
            label=f"buying {inv.gpus:,} GPUs",
            value=inv.capex_usd,
            text=usd(inv.capex_usd),
            source=facts.invest_source,
        ),
        Figure(
            key="ask.npv",
            label="NPV of buying vs renting on demand",
            value=inv.npv_usd,
            text=usd(inv.npv_usd),
            source=facts.invest_source,
        ),
    ]
    if inv.payback_years is not None:
        figures.append(
            Figure(
                key="ask.payback_years",
                label="payback of buying",
                value=inv.payback_years,
                text=f"{inv.payback_years:.1f} years",
                source=facts.invest_source,
            )
        )
    scenario = f"scenario {facts.scenario}" if facts.scenario else "the sourced defaults"
    return Section(
        key="investment_ask",
        title="Buy or rent",
        paragraphs=[f"From {scenario} ({facts.invest_source})."],
        figures=figures,
    )


def capacity_outlook(facts: Facts) -> Section:
    title = "Capacity outlook"
    f = facts.forecast
    if f is None:
        return absent("outlook", title, facts.why_absent("capacity", NO_JOBS))
    src = "fleetwise capacity forecast (stored jobs)"
    notes = facts.outlook.notes if facts.outlook else []
    return Section(
        key="outlook",
        title=title,
        paragraphs=list(notes),
        figures=[
            Figure(
                key="outlook.last_history",
                label=f"demand on {f.history_days[-1]} (the last complete day of data)",
                value=f.history[-1],
                text=f"{sig(f.history[-1])} {f.unit}",
                source=src,
            ),
            Figure(
                key="outlook.mean",
                label=f"forecast for {f.days[-1]} ({f.model})",
                value=f.mean[-1],
                text=f"{sig(f.mean[-1])} {f.unit}",
                source=src,
            ),
            Figure(
                key="outlook.hi_95",
                label="95% upper bound that day",
                value=f.hi_95[-1],
                text=f"{sig(f.hi_95[-1])} {f.unit}",
                source=src,
            ),
        ],
    )


def kpi_status(facts: Facts) -> Section:
    title = "KPI status"
    if not facts.kpis:
        return absent("kpi_status", title, facts.problems.get("kpis", NO_KPIS))
    counts = {s: 0 for s in ("on track", "at risk", "off track")}
    for state, _ in facts.kpis:
        counts[state.status] += 1
    figures = [
        Figure(
            key=f"kpis.{name.replace(' ', '_')}",
            label=f"KPIs {name}",
            value=n,
            text=str(n),
            source="fleetwise kpi list",
        )
        for name, n in counts.items()
    ]
    return Section(key="kpi_status", title=title, figures=figures)


def risks(facts: Facts) -> Section:
    lines: list[Item] = []
    for state, _ in facts.kpis:
        if state.status != "on track":
            lines.append(
                Item(
                    title=f"KPI {state.kpi.name} is {state.status}",
                    lines=[state.note] if state.note else [],
                    source=f"kpi {state.kpi.id}",
                )
            )
    for it in facts.timeline:
        if it.milestone in ("late", "blocked"):
            lines.append(
                Item(
                    title=f"action #{it.action.id} {it.action.title} is {it.milestone}",
                    lines=it.notes,
                    source="fleetwise plan schedule",
                )
            )
    answered = {fid for a in facts.actions for fid in a.finding_ids}
    for f in facts.findings:
        if f.severity in (Severity.HIGH, Severity.CRITICAL) and f.id not in answered:
            lines.append(
                Item(
                    title=f"{f.severity.value} finding without an action: {f.title}",
                    source=facts.finding_source(f),
                )
            )
    for r in facts.ranked[:TOP]:
        if r.action.confidence < 0.5:
            lines.append(
                Item(
                    title=f"low confidence ({r.action.confidence:.0%}) in "
                    f"#{r.action.id} {r.action.title}",
                    source=f"action {r.action.id}",
                )
            )
    for key, why in facts.problems.items():
        lines.append(Item(title=f"{key}: {why}", source="report"))
    if not lines:
        return Section(key="risks", title="Risks", paragraphs=["No risk flagged by the data."])
    return Section(key="risks", title="Risks", items=lines[:6])


def headline(facts: Facts) -> Section:
    """The answer first: one sentence from the ledger and the backlog, and the waterfall
    from capacity down to productive GPU-hours (``usecases.story``, as the dashboard)."""
    view = facts.ledger
    lg = view.ledger
    cap_year = lg.capacity * view.per_year
    productive = lg.share("productive")
    sentence = story.headline(view, facts.recoverable, facts.ranked)
    return Section(
        key="headline",
        title="The answer",
        paragraphs=[sentence],
        figures=[
            Figure(
                key="ledger.capacity_gpu_hours_per_year",
                label=f"capacity: {count(lg.inventory.gpus if lg.inventory else 0)} GPUs "
                f"x {count(facts.profile.hours_per_year)} h",
                value=cap_year,
                text=f"{count(cap_year)} GPU-h/yr ({usd(view.usd_per_year(lg.capacity))}/yr)",
                source=f"fleetwise ledger ({view.period.label})",
            ),
            Figure(
                key="ledger.productive_share",
                label="measured productive (the rest of the active time is unattributed)",
                value=productive,
                text=percent(productive),
                source=f"fleetwise ledger ({view.period.label})",
            ),
        ],
        charts=[
            areas.chart(
                "waterfall",
                "where the GPU-hours go (a year)",
                charts.waterfall(story.waterfall(view)),
            )
        ],
    )


def the_ask(facts: Facts) -> Section:
    """What the steering committee is asked: decisions with owner and date, and what the
    open backlog costs and recovers."""
    rec = facts.recoverable
    ask = sum(r.scores.investment_usd for r in facts.ranked)
    figures = [
        Figure(
            key="ask.plan_investment",
            label=f"one-time investment of {len(facts.ranked)} open actions",
            value=ask,
            text=usd(ask),
            source="plan rank (investment_usd)",
        ),
        Figure(
            key="ask.recoverable",
            label="what they recover per year, drawn from the findings' ledger claims "
            "(actions on one finding combined)",
            value=rec.ledger_backed_usd,
            text=f"{usd(rec.ledger_backed_usd)}/yr",
            source="plan rank (ledger-backed savings)",
        ),
        Figure(
            key="ask.plan_benefit",
            label="the same, risk-adjusted by each action's confidence",
            value=rec.risk_adjusted_usd,
            text=f"{usd(rec.risk_adjusted_usd)}/yr",
            source="plan rank (ledger-backed savings x confidence)",
        ),
    ]
    if rec.hand_written_usd > 0:
        figures.append(
            Figure(
                key="ask.hand_written",
                label="savings typed by hand on actions no finding backs (not in the totals)",
                value=rec.hand_written_usd,
                text=f"{usd(rec.hand_written_usd)}/yr",
                source="fleetwise plan list",
            )
        )
    when = {it.action.id: it for it in facts.timeline}
    items = []
    for r in [r for r in facts.ranked if r.action.status is ActionStatus.PROPOSED][:3]:
        a, sc = r.action, r.scores
        it = when.get(a.id)
        dates = (
            f"{it.start} to {it.end}"
            if it and it.start and it.end
            else f"no dates yet (fleetwise plan update {a.id} --start DATE)"
        )
        items.append(
            Item(
                title=f"Approve #{a.id}: {a.title}",
                lines=[
                    f"owner {a.owner or 'to name'}; {dates}; costs {usd(sc.investment_usd)}, "
                    f"recovers {usd(a.savings_usd_per_year)}/yr, NPV {usd(sc.npv)}"
                ],
                source=f"action {a.id}",
            )
        )
    paragraphs = [] if items else ["No proposed action is waiting for a decision."]
    return Section(key="ask", title="The ask", figures=figures, items=items, paragraphs=paragraphs)


def assumptions(facts: Facts) -> Section:
    """The fleet, its prices with their dates, the money scenario and where every input
    comes from (measured here, a real log, or an example file), said plainly."""
    lines = [f"{facts.profile.describe().capitalize()}."]
    lines.append(
        f"Money: engineer {usd(facts.profile.usd_per_engineer_hour)}/h, discount rate "
        f"{percent(facts.profile.discount_rate, 0)}, horizon {facts.profile.horizon_years} years;"
        f" buy vs rent from {facts.invest_source}."
    )
    for i in facts.inputs:
        lines.append(f"{i.what}: {i.where} ({i.origin}" + (f"; {i.note}" if i.note else "") + ")")
    return Section(key="assumptions", title="Assumptions and inputs", paragraphs=lines)


def build_briefing(
    store: Store,
    *,
    today: date | None = None,
    scenario: Path | None = None,
    with_forecast: bool = True,
    profile: FleetProfile | None = None,
) -> Report:
    """The briefing of ``store`` as of ``today`` (default: today, UTC).

    The demand forecast takes seconds (model fitting and backtests); a page that must answer
    fast (the dashboard's overview) passes ``with_forecast=False`` and its capacity section
    points to ``fleetwise capacity forecast`` instead.
    """
    day = today or datetime.now(UTC).date()
    facts = gather(store, day, scenario, with_forecast=with_forecast, profile=profile)
    # Page 1, answer first (pyramid principle): the headline and its waterfall, the ask,
    # the top three risks, the assumptions. The evidence follows, the tables last.
    top_risks = risks(facts)
    top_risks.items = top_risks.items[:3]
    summary = [headline(facts), the_ask(facts), top_risks, assumptions(facts)]
    ledger = ledger_section(facts)
    loss, act = losses(facts), top_actions(facts)
    act_table = act.tables
    act.tables = []
    finding_items = detail(loss, "top_findings", "Top findings")
    action_items = detail(act, "top_actions", "The top actions in detail")
    add_finding_evidence(store, facts, [finding_items, action_items])
    action_items.tables = act_table
    evidence = [
        ledger,
        loss,
        finding_items,
        act,
        action_items,
        investment_ask(facts),
        capacity_outlook(facts),
        kpi_status(facts),
    ]
    return Report(
        kind="briefing",
        title="Fleet optimization briefing",
        subtitle=f"as of {day}",
        generated_at=datetime.now(UTC),
        store=facts.store_url,
        summary=summary,
        sections=[
            *evidence,
            *areas.sections(facts),
            people_section(store),
            valuestream.section(facts),
            *alignment.sections(facts),
            objections.section(facts),
        ],
    )
