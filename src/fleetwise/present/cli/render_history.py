"""Tables for comparisons, series and change points. Pure: records in, renderables out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from fleetwise.analyze.compare import Comparison
from fleetwise.analyze.regressions import SeriesChange
from fleetwise.models import Series
from fleetwise.present.cli.render import params_text
from fleetwise.units import quantity, sig

_VERDICT_STYLE = {"faster": "green", "slower": "red", "inconclusive": "yellow"}
_KIND_STYLE = {"regression": "red", "improvement": "green", "change": "yellow"}


def comparison_view(rows: Sequence[Comparison], a: str, b: str) -> Group:
    table = Table(title=f"compare A = {a}  vs  B = {b}", title_justify="left")
    table.add_column("benchmark", no_wrap=True)
    table.add_column("params", overflow="fold", ratio=1)
    table.add_column("metric", no_wrap=True)
    for name in ("A", "B", "B/A", "95% CI", "g"):
        table.add_column(name, justify="right", no_wrap=True)
    table.add_column("verdict", no_wrap=True)
    table.add_column("runs A/B/hist", justify="right", no_wrap=True)
    notes: list[str] = []
    for c in rows:
        ci = f"[{c.ci_low:.3f}, {c.ci_high:.3f}]" if c.ci_low is not None else "-"
        assert c.ci_high is not None or c.ci_low is None
        table.add_row(
            c.benchmark,
            params_text(c.params),
            c.metric,
            quantity(c.a_value, c.unit),
            quantity(c.b_value, c.unit),
            f"{c.ratio:.3f}",
            ci,
            f"{c.effect_size:+.2f}" if c.effect_size is not None else "-",
            Text(c.verdict, style=_VERDICT_STYLE.get(c.verdict, "")),
            f"{c.a_runs}/{c.b_runs}/{c.history_runs}",
        )
        for n in [c.method, *c.notes]:
            if n not in notes:
                notes.append(n)
    parts: list[Any] = [table]
    if notes:
        parts.append(Text("method:", style="bold"))
        parts.extend(Text(f"  {n}") for n in notes)
    return Group(*parts)


def series_table(series: Sequence[Series]) -> Table:
    table = Table(title="series", title_justify="left")
    table.add_column("series", no_wrap=True)
    table.add_column("params", overflow="fold", ratio=1)
    table.add_column("hardware", overflow="fold")
    for name in ("points", "first", "last"):
        table.add_column(name, justify="right", no_wrap=True)
    for s in series:
        table.add_row(
            s.key.id,
            params_text(s.key.params),
            s.key.hardware,
            str(len(s.points)),
            s.points[0].time.strftime("%Y-%m-%d %H:%M"),
            s.points[-1].time.strftime("%Y-%m-%d %H:%M"),
        )
    return table


def history_table(series: Series, changes: Sequence[SeriesChange]) -> Table:
    at = {c.index: c for c in changes}
    table = Table(title=f"history of {series.key.id} ({series.key.unit})", title_justify="left")
    for name in ("#", "run", "time (UTC)", "median", "95% CI", "n", "change point"):
        table.add_column(name, justify="right" if name in {"#", "run", "n"} else "left")
    for i, p in enumerate(series.points):
        cp = at.get(i)
        mark = (
            Text(f"{cp.kind} {cp.change:+.1%} (p={cp.pvalue:.2g})", style=_KIND_STYLE[cp.kind])
            if cp
            else ""
        )
        table.add_row(
            str(i),
            str(p.run_id),
            p.time.strftime("%Y-%m-%d %H:%M:%S"),
            quantity(p.median, series.key.unit),
            f"[{sig(p.ci_low)}, {sig(p.ci_high)}]",
            str(p.n),
            mark,
        )
    return table


def changes_view(changes: Sequence[SeriesChange], scanned: int) -> Group:
    table = Table(title=f"change points ({scanned} series scanned)", title_justify="left")
    table.add_column("series", overflow="fold", ratio=1)
    table.add_column("time (UTC)", no_wrap=True)
    table.add_column("between", no_wrap=True)
    for name in ("before", "after", "change", "p"):
        table.add_column(name, justify="right", no_wrap=True)
    table.add_column("kind", no_wrap=True)
    table.add_column("note", no_wrap=True)
    notes: list[str] = []
    for c in changes:
        note = ""
        if c.changed:
            text = "; ".join(f"{k}: {a} -> {b}" for k, (a, b) in c.changed.items())
            if text not in notes:
                notes.append(text)
            note = str(notes.index(text) + 1)
        table.add_row(
            c.series,
            c.time.strftime("%Y-%m-%d %H:%M"),
            f"{c.before} | {c.after}",
            f"{sig(c.mean_before)} ± {sig(c.std_before, 2)}",
            f"{sig(c.mean_after)} ± {sig(c.std_after, 2)}",
            f"{c.change:+.1%}",
            f"{c.pvalue:.2g}",
            Text(c.kind, style=_KIND_STYLE[c.kind]),
            note,
        )
    parts: list[Any] = [table]
    if notes:
        parts.append(Text("what changed between the points around it:", style="bold"))
        parts.extend(Text(f"  [{i}] {n}") for i, n in enumerate(notes, 1))
    return Group(*parts)
