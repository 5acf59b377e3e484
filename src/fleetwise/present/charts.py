"""Chart specs shared by the dashboard and the reports (Altair, i.e. Vega-Lite).

Each builder takes typed data that the analysis or plan layer already returned and gives
back an Altair chart; nothing here reads the store or computes a figure of its own. The
dashboard embeds ``chart.to_dict()`` and renders it with the locally served Vega bundle;
the reports render the same spec to SVG or PNG with vl-convert (no browser, no network).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import altair as alt

from fleetwise import units
from fleetwise.analyze.valuestream import ValueStream
from fleetwise.errors import MissingDependencyError
from fleetwise.models import Series
from fleetwise.plan.capacity import Forecast
from fleetwise.plan.invest import TornadoBar
from fleetwise.plan.kpis import KPIState

#: Width of every chart in CSS pixels: fits an A4 page with margins and a 16:9 slide.
WIDTH = 560
HEIGHT = 220
_STATUS_COLORS = {"on track": "#2e7d32", "at risk": "#f9a825", "off track": "#c62828"}


@dataclass(frozen=True)
class EfficiencyBar:
    """One benchmark case's measured value as a fraction of its hardware peak."""

    label: str
    efficiency: float
    peak_source: str = ""


@dataclass(frozen=True)
class TimeShare:
    """Time spent in one category (compute, idle...) by one group (a rank, a step)."""

    group: str
    category: str
    seconds: float


@dataclass(frozen=True)
class WaitQuantiles:
    """Queue-wait percentiles of one group of jobs (a team, a size class), in hours."""

    group: str
    jobs: int
    p50_h: float
    p95_h: float
    p99_h: float


#: Every builder returns a top-level chart (single, layered or faceted).
Chart = alt.TopLevelMixin


def _data(rows: Sequence[Mapping[str, Any]]) -> Any:
    # Inline values keep each spec self-contained: the dashboard and vl-convert need no URL.
    return {"values": [dict(r) for r in rows]}


def _frame(width: int = WIDTH, height: int = HEIGHT) -> dict[str, Any]:
    return {"width": width, "height": height}


def benchmark_history(series: Series, change_indexes: Sequence[int] = ()) -> Chart:
    """A series' medians with their 95% CI band and a rule at each change point.

    ``change_indexes`` are indexes of the first point after a change (as
    ``analyze.changepoints.ChangePoint.index``).
    """
    rows = [
        {
            "time": p.time.isoformat(),
            "median": p.median,
            "ci_low": p.ci_low,
            "ci_high": p.ci_high,
            "run": p.run_id,
        }
        for p in series.points
    ]
    changes = [
        {"time": series.points[i].time.isoformat(), "run": series.points[i].run_id}
        for i in change_indexes
        if 0 <= i < len(series.points)
    ]
    unit = series.key.unit or "value"
    base = alt.Chart(_data(rows)).encode(x=alt.X("time:T", title="run started"))
    band = base.mark_area(opacity=0.25).encode(y=alt.Y("ci_low:Q", title=unit), y2="ci_high:Q")
    line = base.mark_line(point=True).encode(
        y="median:Q", tooltip=["run:Q", "median:Q", "ci_low:Q", "ci_high:Q"]
    )
    layers: list[Any] = [band, line]
    if changes:
        rules = (
            alt.Chart(_data(changes))
            .mark_rule(color="#c62828", strokeDash=[4, 3])
            .encode(x="time:T", tooltip=["run:Q"])
        )
        layers.append(rules)
    out: Chart = alt.layer(*layers).properties(title=series.key.id, **_frame())
    return out


def efficiency_vs_peak(bars: Sequence[EfficiencyBar]) -> Chart:
    """Measured / hardware peak per case; the rule at 100% is the peak itself."""
    rows = [{"case": b.label, "efficiency": b.efficiency, "peak": b.peak_source} for b in bars]
    chart = (
        alt.Chart(_data(rows))
        .mark_bar()
        .encode(
            y=alt.Y("case:N", sort="-x", title=None),
            x=alt.X("efficiency:Q", axis=alt.Axis(format="%"), title="of hardware peak"),
            tooltip=["case:N", alt.Tooltip("efficiency:Q", format=".1%"), "peak:N"],
        )
    )
    out: Chart = chart.properties(title="efficiency vs peak", width=WIDTH)
    return out


def time_breakdown(shares: Sequence[TimeShare], title: str = "time breakdown") -> Chart:
    """Stacked shares of time per group (HTA's temporal breakdown: idle/compute/other)."""
    rows = [{"group": s.group, "category": s.category, "seconds": s.seconds} for s in shares]
    chart = (
        alt.Chart(_data(rows))
        .mark_bar()
        .encode(
            y=alt.Y("group:N", title=None),
            x=alt.X("seconds:Q", stack="normalize", axis=alt.Axis(format="%"), title="share"),
            color=alt.Color("category:N", title=None),
            tooltip=["group:N", "category:N", "seconds:Q"],
        )
    )
    out: Chart = chart.properties(title=title, width=WIDTH)
    return out


def kpi_progress(states: Sequence[KPIState]) -> Chart:
    """Each KPI on one scale: baseline at 0, goal at 1, the current value where it stands.

    KPIs have different units, so the axis is progress toward the goal; the tooltips carry
    the raw baseline, current and goal.
    """
    rows = []
    for s in states:
        if s.baseline is None or s.current is None:
            continue
        span = s.kpi.goal_value - s.baseline
        progress = (s.current - s.baseline) / span if span else 1.0
        rows.append(
            {
                "kpi": s.kpi.name,
                "progress": progress,
                "baseline": s.baseline,
                "current": s.current,
                "goal": s.kpi.goal_value,
                "status": s.status,
            }
        )
    base = alt.Chart(_data(rows)).encode(y=alt.Y("kpi:N", title=None))
    track = base.mark_rule(color="#9e9e9e").encode(x=alt.datum(0), x2=alt.datum(1))
    goal = base.mark_tick(color="#000000", thickness=2).encode(x=alt.datum(1))
    now = base.mark_point(filled=True, size=90).encode(
        x=alt.X("progress:Q", axis=alt.Axis(format="%"), title="progress from baseline to goal"),
        color=alt.Color(
            "status:N",
            scale=alt.Scale(domain=list(_STATUS_COLORS), range=list(_STATUS_COLORS.values())),
        ),
        tooltip=["kpi:N", "baseline:Q", "current:Q", "goal:Q", "status:N"],
    )
    out: Chart = alt.layer(track, goal, now).properties(
        title="KPIs: baseline, current, goal", width=WIDTH
    )
    return out


def forecast_fan(f: Forecast) -> Chart:
    """History and the forecast mean with its 80% and 95% prediction intervals."""
    hist = [{"day": d, "value": v} for d, v in zip(f.history_days, f.history, strict=True)]
    ahead = [
        {"day": d, "mean": m, "lo80": a, "hi80": b, "lo95": c, "hi95": e}
        for d, m, a, b, c, e in zip(f.days, f.mean, f.lo_80, f.hi_80, f.lo_95, f.hi_95, strict=True)
    ]
    x = alt.X("day:T", title=None)
    past = (
        alt.Chart(_data(hist))
        .mark_line(color="#424242")
        .encode(x=x, y=alt.Y("value:Q", title=f.unit))
    )
    fut = alt.Chart(_data(ahead)).encode(x=x)
    band95 = fut.mark_area(opacity=0.18, color="#1565c0").encode(y="lo95:Q", y2="hi95:Q")
    band80 = fut.mark_area(opacity=0.32, color="#1565c0").encode(y="lo80:Q", y2="hi80:Q")
    mean = fut.mark_line(color="#1565c0").encode(y="mean:Q", tooltip=["day:T", "mean:Q"])
    out: Chart = alt.layer(past, band95, band80, mean).properties(
        title=f"demand forecast ({f.model}), 80% and 95% intervals", **_frame()
    )
    return out


def queue_waits(groups: Sequence[WaitQuantiles], title: str = "queue wait by team") -> Chart:
    """p50 / p95 / p99 queue wait per group, in hours."""
    rows = [
        {"group": g.group, "percentile": name, "hours": value, "jobs": g.jobs}
        for g in groups
        for name, value in (("p50", g.p50_h), ("p95", g.p95_h), ("p99", g.p99_h))
    ]
    chart = (
        alt.Chart(_data(rows))
        .mark_bar()
        .encode(
            y=alt.Y("group:N", title=None),
            yOffset="percentile:N",
            x=alt.X("hours:Q", title="wait, hours"),
            color=alt.Color("percentile:N", title=None),
            tooltip=["group:N", "percentile:N", "hours:Q", "jobs:Q"],
        )
    )
    out: Chart = chart.properties(title=title, width=WIDTH)
    return out


def dora_trends(
    weeks: Sequence[Mapping[str, Any]],
    metrics: Sequence[str] = ("deployments", "lead_time_hours", "change_failure_rate"),
) -> Chart:
    """Weekly DORA figures (rows of ``analyze.dora``'s ``weeks``), one panel per metric."""
    rows = [
        {"week": w["week"], "metric": m, "value": w[m]}
        for w in weeks
        for m in metrics
        if isinstance(w.get(m), int | float)
    ]
    chart = (
        alt.Chart(_data(rows))
        .mark_line(point=True)
        .encode(
            x=alt.X("week:T", title=None),
            y=alt.Y("value:Q", title=None),
            tooltip=["week:T", "metric:N", "value:Q"],
        )
        .properties(width=WIDTH, height=90)
    )
    out: Chart = (
        chart.facet(row=alt.Row("metric:N", title=None))
        .resolve_scale(y="independent")
        .properties(title="delivery (DORA) per week")
    )
    return out


def tornado(bars: Sequence[TornadoBar], base_npv: float) -> Chart:
    """NPV of buying when each input moves down / up; widest swing on top, inputs that
    do not move it left out."""
    ordered = sorted(bars, key=lambda b: abs(b.npv_at_high - b.npv_at_low), reverse=True)
    rows = [
        {
            "input": b.input,
            "lo": min(b.npv_at_low, b.npv_at_high),
            "hi": max(b.npv_at_low, b.npv_at_high),
            "npv_at_low": b.npv_at_low,
            "npv_at_high": b.npv_at_high,
        }
        for b in ordered
        if b.npv_at_high != b.npv_at_low
    ]
    order = [str(r["input"]) for r in rows]
    bar = (
        alt.Chart(_data(rows))
        .mark_bar()
        .encode(
            y=alt.Y("input:N", sort=order, title=None),
            x=alt.X("lo:Q", title="NPV of buying vs renting, USD"),
            x2="hi:Q",
            tooltip=["input:N", "npv_at_low:Q", "npv_at_high:Q"],
        )
    )
    rule = alt.Chart(_data([{"npv": base_npv}])).mark_rule(color="#000000").encode(x="npv:Q")
    out: Chart = alt.layer(bar, rule).properties(title="sensitivity of NPV (tornado)", width=WIDTH)
    return out


class Bar(Protocol):
    """A waterfall bar (``usecases.story.Bar``): a ledger bucket's GPU-hours a year and
    its kind: ``total`` (capacity, productive: standing on the axis), ``loss`` (hanging
    from the running level) or ``unattributed`` (the same, drawn grey)."""

    @property
    def label(self) -> str: ...
    @property
    def gpu_hours_per_year(self) -> float: ...
    @property
    def kind(self) -> str: ...


def waterfall(steps: Sequence[Bar], title: str = "where the GPU-hours go (a year)") -> Chart:
    """Capacity down to productive GPU-hours: each loss bucket a bar falling from the level
    the previous ones left, the totals standing on the axis, with their share as a label."""
    rows = []
    level = steps[0].gpu_hours_per_year if steps else 0.0
    capacity = level if level > 0 else 1.0
    for n, s in enumerate(steps):
        if s.kind == "total":
            lo, hi = 0.0, s.gpu_hours_per_year
        else:
            lo, hi = level - s.gpu_hours_per_year, level
            level = lo
        rows.append(
            {
                "order": n,
                "bucket": s.label,
                "lo": lo,
                "hi": hi,
                "gpu_hours": s.gpu_hours_per_year,
                "share": s.gpu_hours_per_year / capacity,
                "kind": s.kind,
            }
        )
    base = alt.Chart(_data(rows)).encode(
        x=alt.X("bucket:N", sort=alt.SortField("order"), title=None, axis=alt.Axis(labelAngle=-30))
    )
    bars = base.mark_bar().encode(
        y=alt.Y("lo:Q", title="GPU-hours a year", axis=alt.Axis(format="~s")),
        y2="hi:Q",
        color=alt.Color(
            "kind:N",
            scale=alt.Scale(
                domain=["total", "loss", "unattributed"], range=["#2e7d32", "#c62828", "#9e9e9e"]
            ),
            legend=None,
        ),
        tooltip=[
            "bucket:N",
            alt.Tooltip("gpu_hours:Q", format=",.0f"),
            alt.Tooltip("share:Q", format=".1%"),
        ],
    )
    labels = base.mark_text(dy=-6, fontSize=10).encode(
        y=alt.Y("hi:Q"), text=alt.Text("share:Q", format=".1%")
    )
    out: Chart = (bars + labels).properties(title=title, width=WIDTH, height=HEIGHT)
    return out


def ledger_trend(rows: Sequence[Mapping[str, Any]], title: str = "the ledger by month") -> Chart:
    """Each month's GPU-hours by bucket, stacked to that month's capacity (share of it).

    ``rows`` are ``{"month", "bucket", "gpu_hours"}`` (the buckets in ledger order)."""
    order = list(dict.fromkeys(str(r["bucket"]) for r in rows))
    chart = (
        alt.Chart(_data(rows))
        .mark_bar()
        .encode(
            x=alt.X("month:N", title=None),
            y=alt.Y("gpu_hours:Q", stack="normalize", axis=alt.Axis(format="%"), title="share"),
            color=alt.Color("bucket:N", sort=order, title=None),
            order=alt.Order("rank:Q"),
            tooltip=["month:N", "bucket:N", alt.Tooltip("gpu_hours:Q", format=",.0f")],
        )
        .transform_calculate(rank=f"indexof({order!r}, datum.bucket)")
    )
    out: Chart = chart.properties(title=title, width=WIDTH, height=HEIGHT)
    return out


_VSM_PARTS = alt.Scale(domain=["wait", "active"], range=["#bdbdbd", "#1565c0"])


def _ladder(vs: ValueStream, state: str, height: int) -> Any:
    rows = []
    for n, r in enumerate(vs.ladder):
        for part, lo, hi in (
            ("wait", r.wait_start_hours, r.active_start_hours),
            ("active", r.active_start_hours, r.end_hours),
        ):
            rows.append(
                {
                    "order": n,
                    "step": r.step.name + ("  (constraint)" if r.constraint else ""),
                    "part": part,
                    "lo": lo,
                    "hi": hi,
                    "hours": hi - lo,
                    "ca": r.step.complete_accurate,
                    "constraint": r.constraint,
                }
            )
    title = (
        f"{state}: lead time {units.duration(vs.lead_time_hours)}, flow efficiency "
        f"{units.percent(vs.flow_efficiency)}, "
        f"rolled %C&A {units.percent(vs.rolled_complete_accurate)}"
    )
    return (
        alt.Chart(_data(rows))
        .mark_bar(strokeWidth=2)
        .encode(
            y=alt.Y("step:N", sort=alt.SortField("order"), title=None),
            x=alt.X("lo:Q", title="hours from the start of the stream"),
            x2="hi:Q",
            color=alt.Color("part:N", scale=_VSM_PARTS, title=None),
            stroke=alt.condition("datum.constraint", alt.value("#c62828"), alt.value(None)),
            tooltip=[
                "step:N",
                "part:N",
                alt.Tooltip("hours:Q", format=",.2f"),
                alt.Tooltip("ca:Q", format=".0%", title="%C&A"),
            ],
        )
        .properties(title=title, width=WIDTH, height=height)
    )


def value_stream_map(current: ValueStream, future: ValueStream | None = None) -> Chart:
    """The lead-time ladder: each step's wait (grey) then its active time (blue) along the
    stream, the constraint outlined in red; the future state below on the same axis."""
    height = max(18 * len(current.ladder), 60)
    charts = [_ladder(current, "current", height)]
    if future is not None:
        charts.append(_ladder(future, "future", height))
    out: Chart = alt.vconcat(*charts).resolve_scale(x="shared")
    return out


def survey_constructs(rows: Sequence[Mapping[str, Any]]) -> Chart:
    """Each construct's 0-100 score per survey wave with its 95% CI (rows: construct, wave,
    score, low, high), waves side by side."""
    base = alt.Chart(_data(rows)).encode(
        y=alt.Y("construct:N", title=None),
        yOffset="wave:N",
        color=alt.Color("wave:N", title="wave"),
    )
    ci = base.mark_rule(strokeWidth=2).encode(
        x=alt.X("low:Q", title="score 0-100 (95% CI)", scale=alt.Scale(domain=[0, 100])),
        x2="high:Q",
    )
    dot = base.mark_point(filled=True, size=60).encode(
        x="score:Q", tooltip=["construct:N", "wave:N", "score:Q", "low:Q", "high:Q"]
    )
    out: Chart = alt.layer(ci, dot).properties(title="survey constructs by wave", width=WIDTH)
    return out


def _vl_convert() -> Any:
    try:
        import vl_convert
    except ImportError as exc:
        raise MissingDependencyError("vl-convert-python", "reports") from exc
    return vl_convert


def spec(chart: Chart) -> dict[str, Any]:
    """The chart's Vega-Lite JSON (data inline), for the dashboard and JSON twins."""
    doc: dict[str, Any] = chart.to_dict()
    return doc


def svg_from_spec(vega_lite: dict[str, Any]) -> str:
    """Render a Vega-Lite spec offline to SVG text (vl-convert embeds its own Vega)."""
    svg: str = _vl_convert().vegalite_to_svg(vega_lite)
    return svg


def png_from_spec(vega_lite: dict[str, Any], scale: float = 2.0) -> bytes:
    """Render a Vega-Lite spec offline to PNG bytes; ``scale`` 2 keeps slide text sharp."""
    png: bytes = _vl_convert().vegalite_to_png(vega_lite, scale=scale)
    return png


def to_svg(chart: Chart) -> str:
    return svg_from_spec(spec(chart))


def to_png(chart: Chart, scale: float = 2.0) -> bytes:
    return png_from_spec(spec(chart), scale)
