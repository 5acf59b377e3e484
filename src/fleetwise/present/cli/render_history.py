"""Tables for comparisons, series and change points. Pure: records in, renderables out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from fleetwise.analyze.compare import (
    ALPHA,
    MIN_RUNS,
    ORDER_NOTE,
    POWER,
    SMALLEST_CHANGE,
    Comparison,
)
from fleetwise.analyze.regressions import SeriesChange
from fleetwise.models import Series
from fleetwise.present.cli.render import params_text
from fleetwise.units import pvalue, quantity, sig

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
            f"{c.effect_size:+.2f}" if c.effect_size is not None else "",
            Text(c.verdict, style=_VERDICT_STYLE.get(c.verdict, "")),
            f"{c.a_runs}/{c.b_runs}/{c.history_runs}",
        )
        for n in [c.method, *c.notes]:
            if n not in notes and n != ORDER_NOTE:
                notes.append(n)
    parts: list[Any] = [table]
    if notes:
        parts.append(Text("method:", style="bold"))
        parts.extend(Text(f"  {n}") for n in notes)
    if any(ORDER_NOTE in c.notes for c in rows):
        parts.append(Text(f"warning: {ORDER_NOTE}", style="yellow"))
    parts.append(Text(comparison_summary(rows), style="bold"))
    advice = next_runs(rows, a, b)
    if advice:
        parts.append(Text(advice))
    return Group(*parts)


def comparison_summary(rows: Sequence[Comparison]) -> str:
    """``36 results: 2 changed (1 faster, 1 slower), 30 unchanged, 4 inconclusive``."""
    n = {v: sum(c.verdict == v for c in rows) for v in ("faster", "slower", "inconclusive")}
    unchanged = sum(c.verdict == "no significant change" for c in rows)
    changed = n["faster"] + n["slower"]
    return (
        f"{len(rows)} results: {changed} changed ({n['faster']} faster, {n['slower']} slower), "
        f"{unchanged} unchanged, {n['inconclusive']} inconclusive"
    )


def _tag(spec: str, fallback: str) -> str:
    """A side's tag for the advice: the spec when it is one, else a placeholder."""
    return fallback if all(p.strip().isdigit() for p in spec.split(",")) else spec


def next_runs(rows: Sequence[Comparison], a: str, b: str) -> str:
    """What to run for a verdict on the inconclusive results: runs per side from the
    spread between runs (a power calculation), interleaved; empty when none is left."""
    open_rows = [c for c in rows if c.verdict == "inconclusive"]
    if not open_rows:
        return ""
    how = (
        f"alternate 'fleetwise bench run SUITE --tag {_tag(a, 'A-TAG')}' and "
        f"'fleetwise bench run SUITE --tag {_tag(b, 'B-TAG')}', then compare the two tags"
    )
    sized = [c for c in open_rows if c.runs_needed is not None]
    if not sized:
        return (
            f"to reach a verdict: run each side at least {MIN_RUNS} times, interleaved "
            f"(A, B, A, B, ...; the spread between runs is not known yet): {how}"
        )
    worst = max(sized, key=lambda c: c.runs_needed or 0)
    target = worst.runs_needed_for
    observed = target is not None and abs(target - SMALLEST_CHANGE) > 1e-12
    what = f"the observed {target:+.1%} change" if observed else f"a {SMALLEST_CHANGE:.0%} change"
    return (
        f"to reach a verdict on {len(open_rows)} inconclusive results: run each side "
        f"{worst.runs_needed} times, interleaved (A, B, A, B, ...): {POWER:.0%} power at the "
        f"{ALPHA:.0%} level to detect {what} of {worst.benchmark} {worst.metric} (the most "
        f"runs any result needs), from the spread between its runs; {how}"
    )


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


def left_out_text(counts: dict[str, int], included: bool) -> Text | None:
    """How many points were taken on an unhealthy or throttled host, and what was done."""
    points = counts.get("points", 0)
    if not points:
        return None
    why = ", ".join(f"{k} {v}" for k, v in counts.items() if k != "points")
    if included:
        return Text(f"{points} point(s) on unhealthy hosts ({why}) included in detection")
    return Text(
        f"{points} point(s) on unhealthy hosts ({why}) left out of detection; "
        "--include-unhealthy puts them back"
    )


def history_table(
    series: Series, changes: Sequence[SeriesChange], *, include_unhealthy: bool = False
) -> Table:
    at = {c.index: c for c in changes}
    table = Table(title=f"history of {series.key.id} ({series.key.unit})", title_justify="left")
    for name in ("#", "run", "time (UTC)", "median", "95% CI", "n", "change point"):
        table.add_column(name, justify="right" if name in {"#", "run", "n"} else "left")
    for i, p in enumerate(series.points):
        cp = at.get(i)
        mark = (
            Text(f"{cp.kind} {cp.change:+.1%} ({pvalue(cp.pvalue)})", style=_KIND_STYLE[cp.kind])
            if cp
            else Text("")
        )
        if cp and cp.infra:
            mark.append(" after " + "; ".join(cp.infra))
        if p.unhealthy:
            said = "unhealthy host" if include_unhealthy else "left out"
            mark.append(f"{said}: {', '.join(p.unhealthy)}", style="dim")
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
        said = [f"platform change {label}" for label in c.infra]
        said += [f"{k}: {a} -> {b}" for k, (a, b) in c.changed.items()]
        if said:
            text = "; ".join(said)
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
            pvalue(c.pvalue).removeprefix("p = "),
            Text(c.kind, style=_KIND_STYLE[c.kind]),
            note,
        )
    parts: list[Any] = [table]
    if notes:
        parts.append(Text("what changed between the points around it:", style="bold"))
        parts.extend(Text(f"  [{i}] {n}") for i, n in enumerate(notes, 1))
    return Group(*parts)
