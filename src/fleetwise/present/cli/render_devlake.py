"""The table of ``fleetwise process dora --definition devlake``. Pure: report in, table out."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text

from fleetwise.analyze.dora_devlake import STAGES, DevLakeDora, DevLakeDoraReport
from fleetwise.units import duration, percent


def _hours(minutes: int | None) -> str:
    return "-" if minutes is None else duration(minutes / 60)


def _avg(hours: float | None) -> str:
    return "-" if hours is None else duration(hours)


def _banded(text: str, m: DevLakeDora, band: str) -> str:
    b = m.bands.get(band)
    return f"{text} ({b})" if b else text


def _rows(m: DevLakeDora) -> list[tuple[str, str]]:
    per_week = "-" if m.deployment_days_per_week is None else str(m.deployment_days_per_week)
    per_month = "-" if m.deployment_days_per_month is None else str(m.deployment_days_per_month)
    rows = [
        ("deployments", str(m.deployments)),
        ("deployment days per week (median)", _banded(per_week, m, "deployment_frequency")),
        ("deployment days per month (median)", per_month),
        ("PRs deployed", str(m.prs_deployed)),
        (
            "lead time for changes (median PR cycle)",
            _banded(_hours(m.lead_time_minutes), m, "lead_time"),
        ),
    ]
    rows += [(f"  {s} time (average)", _avg(m.average_hours.get(s))) for s in ("cycle", *STAGES)]
    rows += [
        ("failed deployments", str(m.failed_deployments)),
        ("change failure rate", _banded(percent(m.change_failure_rate), m, "change_failure_rate")),
        (
            "failed deployment recovery time (median)",
            _banded(_hours(m.recovery_time_minutes), m, "recovery_time"),
        ),
        ("time to restore, 2021 report (median)", _hours(m.time_to_restore_minutes)),
    ]
    return rows


def devlake_dora_view(r: DevLakeDoraReport) -> Group:
    table = Table(
        title=f"DORA by DevLake's definitions, {r.since:%Y-%m-%d} to {r.until:%Y-%m-%d} "
        f"UTC ({r.report_year} bands)",
        title_justify="left",
    )
    table.add_column("metric", no_wrap=True)
    projects = list(r.projects.values())
    for m in projects:
        table.add_column(m.project, justify="right", no_wrap=True)
    labels = [label for label, _ in _rows(projects[0])] if projects else []
    cells = [dict(_rows(m)) for m in projects]
    for label in labels:
        table.add_row(label, *[c[label] for c in cells])
    note = Text("Projects are DevLake projects (project_mapping); see docs/process.md#devlake.")
    return Group(table, note)
