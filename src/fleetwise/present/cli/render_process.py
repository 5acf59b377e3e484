"""Tables for ``fleetwise process``. Pure: reports in, renderables out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from fleetwise.analyze.dora import DoraMetrics, DoraReport
from fleetwise.analyze.oncall import SRE_TOIL_LIMIT, OnCallReport
from fleetwise.analyze.pipeline_flow import PipelineReport
from fleetwise.models import Finding


def _num(value: float | None, fmt: str = "{:.2f}") -> str:
    return "-" if value is None else fmt.format(value)


def _pct(value: float | None) -> str:
    return _num(None if value is None else value * 100, "{:.1f}%")


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min"


_METRICS: list[tuple[str, str, str]] = [
    ("deploys per week", "deploys_per_week", "{:.2f}"),
    ("deploy days per week (median)", "deploy_days_per_week", "{:g}"),
    ("lead time for changes (median, h)", "lead_time_hours", "{:.2f}"),
    ("change failure rate", "change_failure_rate", "pct"),
    ("recovery time (median, h)", "recovery_time_hours", "{:.2f}"),
    ("rework rate", "rework_rate", "pct"),
]


def _cell(m: DoraMetrics, attr: str, fmt: str) -> str:
    value = getattr(m, attr)
    text = _pct(value) if fmt == "pct" else _num(value, fmt)
    band = m.bands.get(attr)
    return f"{text} ({band})" if band else text


def dora_view(r: DoraReport) -> Group:
    first, second = r.overall, r.alternative
    table = Table(title=f"DORA metrics (bands: {r.bands_source})", title_justify="left")
    table.add_column("metric", no_wrap=True)
    table.add_column(f"{first.definition} definition", justify="right", no_wrap=True)
    table.add_column(f"{second.definition} definition", justify="right", no_wrap=True)
    for label, attr, fmt in _METRICS:
        table.add_row(label, _cell(first, attr, fmt), _cell(second, attr, fmt))
    table.add_row("deployments", str(first.deployments), str(second.deployments))
    table.add_row(
        "failed deployments", str(first.failed_deployments), str(second.failed_deployments)
    )
    table.add_row("incidents", str(first.incidents), str(second.incidents))
    parts: list[Any] = [table]
    parts.append(
        Text(
            f"incidents attributed: {r.attributed_by_root_cause} by root cause, "
            f"{r.attributed_by_window} by time window, {r.unattributed} not to a deployment"
        )
    )
    if r.groups:
        groups = Table(title="per team/service", title_justify="left")
        for name in ("team/service", "deploys/wk", "lead time h", "CFR", "recovery h"):
            groups.add_column(name, justify="left" if name == "team/service" else "right")
        for key, m in r.groups.items():
            groups.add_row(
                key,
                _num(m.deploys_per_week),
                _num(m.lead_time_hours),
                _pct(m.change_failure_rate),
                _num(m.recovery_time_hours),
            )
        parts.append(groups)
    weeks = Table(title=f"per week ({first.definition})", title_justify="left")
    for name in ("week", "deploys", "days", "lead time h", "failed", "CFR", "recovery h"):
        weeks.add_column(name, justify="left" if name == "week" else "right", no_wrap=True)
    for w in r.weeks:
        weeks.add_row(
            w.week.isoformat(),
            str(w.deployments),
            str(w.deploy_days),
            _num(w.lead_time_hours),
            str(w.failed_deployments),
            _pct(w.change_failure_rate),
            _num(w.recovery_time_hours),
        )
    parts.append(weeks)
    return Group(*parts)


def pipeline_view(r: PipelineReport) -> Group:
    head = Text(
        f"{r.pipelines} pipelines, {r.stage_runs} stage runs; median end-to-end "
        f"{_minutes(r.median_end_to_end_s or 0)}; flow efficiency {_pct(r.flow_efficiency)}"
    )
    table = Table(title="stages by share of the median pipeline", title_justify="left")
    for name in (
        "stage",
        "runs",
        "wait",
        "active",
        "wait share",
        "active share",
        "WIP",
        "fail",
        "flaky",
    ):
        table.add_column(name, justify="left" if name == "stage" else "right", no_wrap=True)
    for s in r.stages:
        table.add_row(
            s.stage,
            str(s.runs),
            _minutes(s.median_wait_s),
            _minutes(s.median_active_s),
            _pct(s.wait_share),
            _pct(s.active_share),
            f"{s.wip:.2f}",
            _pct(s.failure_rate),
            _pct(s.flaky_rate),
        )
    parts: list[Any] = [head, table]
    if r.littles_law is not None:
        law = r.littles_law
        parts.append(
            Text(
                f"Little's law: measured WIP {law.measured_wip:.2f} vs throughput "
                f"{law.throughput_per_hour:.2f}/h x lead time {law.mean_lead_time_hours:.2f} h "
                f"= {law.predicted_wip:.2f} (ratio {law.ratio:.2f}); bottleneck "
                f"{r.bottleneck!r} " + ("confirmed" if r.bottleneck_confirmed else "NOT confirmed")
            )
        )
    parts.append(
        Text("slowest: " + ", ".join(f"{s.stage} {_minutes(s.median_active_s)}" for s in r.slowest))
    )
    flaky = ", ".join(f"{s.stage} {_pct(s.flaky_rate)}" for s in r.flakiest) or "none"
    parts.append(Text("flakiest: " + flaky))
    return Group(*parts)


def oncall_view(r: OnCallReport) -> Group:
    table = Table(title="on-call load", title_justify="left")
    table.add_column("measure", no_wrap=True)
    table.add_column("value", justify="right", no_wrap=True)
    rows = [
        ("pages", str(r.pages)),
        ("shifts observed", str(r.shifts)),
        ("pages per shift (mean / max)", f"{_num(r.pages_per_shift)} / {r.max_pages_per_shift}"),
        (
            f"shifts over {r.max_pages_per_shift_limit:g} pages (SRE limit)",
            str(r.shifts_over_limit),
        ),
        ("after-hours pages", str(r.after_hours)),
        ("sleep-hour pages", str(r.sleep_hours)),
        (
            "MTTA mean / median (min)",
            f"{_num(r.mtta_minutes, '{:.1f}')} / {_num(r.mtta_median_minutes, '{:.1f}')}",
        ),
        (
            "MTTR mean / median (min)",
            f"{_num(r.mttr_minutes, '{:.1f}')} / {_num(r.mttr_median_minutes, '{:.1f}')}",
        ),
        ("actionable ratio", _pct(r.actionable_ratio)),
        ("escalated pages", str(r.escalated)),
        (
            f"estimated toil (limit {SRE_TOIL_LIMIT:.0%})",
            f"{_pct(r.toil_share)} of {r.oncall_hours:g} h",
        ),
    ]
    for label, value in rows:
        table.add_row(label, value)
    noisy = Table(title="noisiest alerts", title_justify="left")
    for name in ("alert", "service", "pages", "actionable", "after hours"):
        noisy.add_column(name, justify="left" if name in {"alert", "service"} else "right")
    for a in r.noisiest:
        noisy.add_row(
            a.title, a.service or "-", str(a.pages), _pct(a.actionable_ratio), str(a.after_hours)
        )
    return Group(table, noisy)


def findings_view(findings: Sequence[Finding]) -> Table:
    table = Table(title="findings (hours saved x loaded cost)", title_justify="left")
    for name in ("severity", "finding", "hours/yr", "$/yr"):
        table.add_column(name, justify="right" if "/yr" in name else "left")
    for f in sorted(findings, key=lambda f: -(f.cost.usd_per_year if f.cost else 0)):
        hours = f.cost.assumptions.get("hours_saved_per_year") if f.cost else None
        table.add_row(
            f.severity.value,
            f.title,
            "-" if hours is None else f"{hours:,.1f}",
            "-" if f.cost is None else f"{f.cost.usd_per_year:,.0f}",
        )
    return table
