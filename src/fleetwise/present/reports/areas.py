"""The briefing's sections after the summary: one per area, each with its charts.

Each builder reads ``Facts`` (gathered once) and returns a ``Section``; absent data gives a
section that names the command adding it.
"""

from __future__ import annotations

from collections import defaultdict

from fleetwise.analyze.changepoints import DEFAULTS
from fleetwise.analyze.regressions import store_series_changes
from fleetwise.plan.capacity import scenarios
from fleetwise.plan.decisions import decision_subject
from fleetwise.present import charts
from fleetwise.present.reports.facts import GROWTH_CASES, Facts
from fleetwise.present.reports.model import ChartSpec, Figure, Section, Table, absent, usd
from fleetwise.units import duration, pvalue, series_label, sig

NO_BENCH = "no benchmark runs stored: fleetwise bench run quick"
NO_CLUSTER = "no cluster analysis stored: fleetwise cluster import FILE, fleetwise cluster analyze"
NO_JOBS = "no cluster data imported: fleetwise cluster import FILE"
NO_DORA = "no delivery data: fleetwise process import FILE, fleetwise process dora"
NO_TRACE = "no trace diagnosis stored: fleetwise diagnose --trace DIR"


def chart(name: str, title: str, built: charts.Chart) -> ChartSpec:
    return ChartSpec(name=name, title=title, spec=charts.spec(built))


def diagnosis(facts: Facts) -> Section:
    title = "Diagnosis: findings by layer"
    if not facts.findings:
        return absent("diagnosis", title, "no diagnosis stored: fleetwise diagnose --trace DIR")
    by_layer: dict[str, list[float]] = defaultdict(list)
    for f in facts.findings:
        by_layer[f.layer].append(f.cost.usd_per_year if f.cost else 0.0)
    layers = Table(
        title="findings by layer",
        columns=["layer", "findings", "$/yr"],
        rows=[[k, str(len(v)), usd(sum(v))] for k, v in sorted(by_layer.items())],
        source="findings of the latest analysis of each input",
    )
    rows = [
        [
            str(f.id),
            f.layer,
            f.severity.value,
            f.title,
            usd(f.cost.usd_per_year) if f.cost else "-",
            facts.finding_source(f),
        ]
        for f in facts.findings
    ]
    every = Table(
        title="findings",
        columns=["id", "layer", "severity", "finding", "$/yr", "source"],
        rows=rows,
    )
    section = Section(key="diagnosis", title=title, tables=[layers, every])
    trace = facts.latest("trace")
    if trace is not None:
        shares = [
            charts.TimeShare(f"rank {t['rank']}", cat, t[f"{cat}_us"] / 1e6)
            for t in trace.summary.get("temporal", [])
            for cat in ("compute", "non_compute", "idle")
        ]
        if shares:
            section.charts.append(
                chart(
                    "trace_breakdown",
                    f"GPU time, trace analysis {trace.id}",
                    charts.time_breakdown(shares, "GPU time by rank"),
                )
            )
    return section


def benchmarks(facts: Facts) -> Section:
    title = "Benchmarks"
    if not facts.runs:
        return absent("benchmarks", title, NO_BENCH)
    section = Section(key="benchmarks", title=title)
    section.figures.append(
        Figure(
            key="bench.runs",
            label="benchmark runs stored",
            value=len(facts.runs),
            text=str(len(facts.runs)),
            source="fleetwise bench list",
        )
    )
    for s in facts.series:
        last = s.points[-1] if s.points else None
        if last is None:
            continue
        changes = store_series_changes(s, DEFAULTS, {})
        if changes and len(section.charts) < 3:
            section.charts.append(
                chart(
                    f"history_{len(section.charts)}",
                    s.key.id,
                    charts.benchmark_history(s, [c.index for c in changes]),
                )
            )
        for c in changes:
            section.paragraphs.append(
                f"{series_label(s.key)}: {c.kind} of {c.change:+.1%} at run {c.after} "
                f"({pvalue(c.pvalue)})"
            )
    eff = _efficiency(facts)
    if eff:
        bars = [charts.EfficiencyBar(label, value, src) for label, value, src in eff]
        section.charts.append(
            chart("efficiency", "efficiency vs peak", charts.efficiency_vs_peak(bars))
        )
    return section


def _efficiency(facts: Facts) -> list[tuple[str, float, str]]:
    """Efficiency of the latest run's results that have a hardware peak."""
    return [
        (f"{r.benchmark} {r.case_key}", r.efficiency, r.peak.source if r.peak else "")
        for r in facts.latest_results
        if r.efficiency is not None
    ]


def cluster(facts: Facts) -> Section:
    title = "Cluster: queueing and lost work"
    a = facts.latest("cluster")
    if a is None:
        return absent("cluster", title, NO_CLUSTER)
    s, src = a.summary, f"cluster analysis {a.id}"
    figures = [
        Figure(
            key=f"cluster.{name}",
            label=label,
            value=float(s[name]),
            text=sig(float(s[name])),
            source=src,
        )
        for name, label in (("gpu_jobs", "GPU jobs"), ("gpu_hours", "GPU-hours run"))
        if isinstance(s.get(name), int | float) and s.get("job_log", True)
    ]
    measured = s.get("measured_utilization")
    if isinstance(measured, int | float):
        # Analyses stored before the basis was recorded read GPU_UTIL, the only field then.
        basis = s.get("utilization_confidence") or "GPU_UTIL only: overstates use, low confidence"
        figures.append(
            Figure(
                key="cluster.measured_utilization",
                label=f"measured GPU utilization ({basis})",
                value=float(measured),
                text=f"{measured:.0%}",
                source=src,
            )
        )
    lost = s.get("lost_gpu_hours") or {}
    if lost:
        total = float(sum(lost.values()))
        figures.append(
            Figure(
                key="cluster.lost_gpu_hours",
                label="GPU-hours of failed, cancelled or timed-out jobs",
                value=total,
                text=sig(total),
                source=src,
            )
        )
    now = s.get("now") or {}
    for name, label in (
        ("largest_gang", "largest gang that could be placed now (GPUs)"),
        ("stranded_gpus", "GPUs free on partly used nodes now"),
    ):
        if isinstance(now.get(name), int):
            figures.append(
                Figure(
                    key=f"cluster.{name}_now",
                    label=label,
                    value=float(now[name]),
                    text=f"{now[name]:,}",
                    source=f"{src}, {now.get('basis', '')}",
                )
            )
    placed = s.get("placement") or {}
    if isinstance(placed.get("blocked_stranded_gpu_hours"), int | float):
        value = float(placed["blocked_stranded_gpu_hours"])
        figures.append(
            Figure(
                key="cluster.blocked_stranded_gpu_hours",
                label="GPU-hours idle on partly used nodes while a job could not be placed",
                value=value,
                text=sig(value),
                source=src,
            )
        )
    section = Section(key="cluster", title=title, figures=figures)
    if s.get("job_log") is False:
        section.paragraphs.append(
            "Analysed from telemetry and the node list alone: queue waits, GPU-hours by team "
            "and lost work need a job log (fleetwise cluster import FILE)."
        )
    waits = [
        charts.WaitQuantiles(w["group"], w["jobs"], w["p50_h"], w["p95_h"], w["p99_h"])
        for w in s.get("waits_by_team", [])
    ]
    if waits:
        section.charts.append(chart("queue_waits", "queue wait by team", charts.queue_waits(waits)))
        section.tables.append(
            Table(
                title="queue wait by team (hours)",
                columns=["team", "jobs", "p50", "p95", "p99"],
                rows=[
                    [
                        w.group,
                        f"{w.jobs:,}",
                        duration(w.p50_h),
                        duration(w.p95_h),
                        duration(w.p99_h),
                    ]
                    for w in waits
                ],
                source=src,
            )
        )
    return section


def delivery(facts: Facts) -> Section:
    title = "Delivery (DORA)"
    dora = next(
        (a for a in reversed(facts.analyses) if a.kind == "process" and "overall" in a.summary),
        None,
    )
    if dora is None:
        return absent("delivery", title, NO_DORA)
    o, src = dora.summary["overall"], f"process analysis {dora.id} (fleetwise process dora)"
    figures = [
        Figure(key=f"dora.{k}", label=label, value=float(o[k]), text=sig(float(o[k])), source=src)
        for k, label in (
            ("deploys_per_week", "deployments per week"),
            ("lead_time_hours", "lead time for changes, hours"),
            ("change_failure_rate", "change failure rate"),
            ("recovery_time_hours", "time to restore, hours"),
        )
        if isinstance(o.get(k), int | float)
    ]
    section = Section(key="delivery", title=title, figures=figures)
    weeks = dora.summary.get("weeks", [])
    if weeks:
        section.charts.append(chart("dora", "DORA per week", charts.dora_trends(weeks)))
    return section


def capacity(facts: Facts) -> Section:
    title = "Capacity: demand forecast"
    f = facts.forecast
    if f is None:
        return absent("capacity", title, facts.why_absent("capacity", NO_JOBS))
    backtests = Table(
        title="backtest (rolling origin)",
        columns=["model", "MAE", "80% coverage", "95% coverage"],
        rows=[
            [b.model, sig(b.mae), f"{b.coverage_80:.0%}", f"{b.coverage_95:.0%}"]
            for b in f.backtests
        ],
        source="fleetwise capacity forecast",
    )
    cases = Table(
        title=f"scenarios on {f.days[-1]} ({f.unit})",
        columns=["scenario", "growth/yr", "mean", "95% upper"],
        rows=[
            [s.name, f"{s.growth_per_year:.0%}", sig(s.last_mean), sig(s.last_hi_95)]
            for s in scenarios(f, GROWTH_CASES)
        ],
        source="fleetwise capacity forecast --growth G",
    )
    return Section(
        key="capacity",
        title=title,
        tables=[backtests, cases],
        charts=[chart("forecast", "demand forecast", charts.forecast_fan(f))],
    )


def investment(facts: Facts) -> Section:
    inv, src = facts.invest, facts.invest_source
    rent = Table(
        title="owning vs renting",
        columns=["option", "$/used GPU-hour", "owning cheaper above"],
        rows=[["own", usd(inv.usd_per_used_gpu_hour), "-"]]
        + [
            [r.name, usd(r.usd_per_used_gpu_hour), _break_even(r.break_even_utilization)]
            for r in inv.rent
        ],
        source=src,
    )
    return Section(
        key="investment",
        title="Investment: buy or rent",
        tables=[rent],
        charts=[chart("tornado", "NPV sensitivity", charts.tornado(inv.tornado, inv.npv_usd))],
    )


def _break_even(be: float | None) -> str:
    return "never" if be is None else "always" if be == 0 else f"{be:.0%} utilization"


def plan(facts: Facts) -> Section:
    title = "Plan: backlog, rollout, decisions"
    if not facts.actions:
        return absent("plan", title, "no backlog: fleetwise plan seed")
    tables = [
        Table(
            title="open backlog ranked by NPV",
            columns=["#", "id", "action", "owner", "NPV", "ROI"],
            rows=[
                [
                    str(r.position),
                    str(r.action.id),
                    r.action.title,
                    r.action.owner or "-",
                    usd(r.scores.npv),
                    "-" if r.scores.roi is None else f"{r.scores.roi:.2f}",
                ]
                for r in facts.ranked
            ],
            source="fleetwise plan rank --by npv",
        )
    ]
    if facts.timeline:
        tables.append(
            Table(
                title="rollout",
                columns=["id", "action", "start", "end", "milestone", "waits for"],
                rows=[
                    [
                        str(i.action.id),
                        i.action.title,
                        str(i.start or "-"),
                        str(i.end or "-"),
                        i.milestone,
                        ", ".join(f"#{d}" for d in i.waits_for) or "-",
                    ]
                    for i in facts.timeline
                ],
                source="fleetwise plan schedule",
            )
        )
    if facts.decisions:
        titles: dict[int | None, str] = {a.id: a.title for a in facts.actions}
        tables.append(
            Table(
                title="decision log",
                columns=["when", "about", "decision", "by", "note"],
                rows=[
                    [
                        str(d.decided_at)[:16],
                        decision_subject(d, titles),
                        d.decision.value,
                        d.by,
                        d.note,
                    ]
                    for d in facts.decisions
                ],
                source="fleetwise plan decisions",
            )
        )
    return Section(key="plan", title=title, tables=tables)


def kpis(facts: Facts) -> Section:
    title = "KPIs"
    if not facts.kpis:
        return absent("kpis", title, facts.problems.get("kpis", "no KPIs: fleetwise kpi add FILE"))
    states = [s for s, _ in facts.kpis]
    rows = [
        [
            s.kpi.name,
            s.kpi.unit,
            _num(s.baseline),
            _num(s.current),
            _num(s.kpi.goal_value),
            str(s.kpi.goal_date),
            s.status,
        ]
        for s in states
    ]
    figures = [
        Figure(
            key=f"kpi.{s.kpi.name}.current",
            label=f"{s.kpi.name} now",
            value=s.current,
            text=_num(s.current),
            source=f"kpi {s.kpi.id} ({s.kpi.source})",
        )
        for s in states
    ]
    return Section(
        key="kpis",
        title=title,
        figures=figures,
        tables=[
            Table(
                title="KPIs",
                columns=["KPI", "unit", "baseline", "current", "goal", "by", "status"],
                rows=rows,
                source="fleetwise kpi list",
            )
        ],
        charts=[chart("kpis", "KPIs", charts.kpi_progress(states))],
    )


def _num(x: float | None) -> str:
    return "-" if x is None else sig(x)


def sections(facts: Facts) -> list[Section]:
    return [
        diagnosis(facts),
        benchmarks(facts),
        cluster(facts),
        delivery(facts),
        capacity(facts),
        investment(facts),
        plan(facts),
        kpis(facts),
    ]
