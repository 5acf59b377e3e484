"""The terminal view of ``fleetwise process infra``: platform changes judged as deployments."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text

from fleetwise.analyze.infra_changes import InfraReport
from fleetwise.units import duration, percent, sig


def infra_view(r: InfraReport) -> Group:
    head = Table(title="platform changes as deployments", title_justify="left")
    for name in ("component", "changes", "failed", "change failure rate", "recovery"):
        head.add_column(name, justify="left" if name == "component" else "right")
    for c in r.components:
        head.add_row(
            c.component,
            str(c.changes),
            str(c.failed),
            percent(c.change_failure_rate),
            duration(c.recovery_hours),
        )
    head.add_row(
        Text("all", style="bold"),
        str(r.changes),
        str(r.failed),
        percent(r.change_failure_rate),
        duration(r.recovery_hours),
    )
    rows = Table(title="each change", title_justify="left")
    for name in ("when (UTC)", "change", "source", "verdict", "why", "recovery"):
        rows.add_column(name, overflow="fold")
    for v in r.verdicts:
        rows.add_row(
            v.time.strftime("%Y-%m-%d %H:%M"),
            v.label,
            v.origin,
            Text("failed", style="red") if v.failed else Text("ok", style="green"),
            "; ".join(v.reasons) or "-",
            duration(v.recovery_hours),
        )
    per_week = sig(r.changes_per_week) if r.changes_per_week is not None else "-"
    parts: list[Text | Table] = [
        head,
        Text(
            f"{per_week} changes per week over {r.weeks} week(s); incidents attributed to a "
            f"change of their service at most {duration(r.window_hours)} before them"
        ),
        rows,
    ]
    parts += [Text(f"note: {n}", style="yellow") for n in r.notes]
    return Group(*parts)
