"""Rich tables for the terminal. Pure: records in, renderables out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from fleetwise.analyze.node_outliers import NodeOutlier
from fleetwise.analyze.reproduce import Verdict
from fleetwise.models import ResultRecord, ResultStatus, RunRecord
from fleetwise.units import interval, percent, quantity, sig

#: Parameters always worth seeing, set or defaulted: where and in what precision it ran.
_ALWAYS_SHOWN = ("device", "dtype")


def params_text(params: Mapping[str, Any], declared: Sequence[str] | None = None) -> str:
    """``k=v`` pairs; with ``declared``, only what the suite set plus device and dtype."""
    keys = [k for k in params if declared is None or k in declared or k in _ALWAYS_SHOWN]
    return " ".join(f"{k}={params[k]}" for k in keys if params[k] is not None)


def _case_params(r: ResultRecord) -> str:
    declared = r.calibration.get("declared")
    return params_text(r.params, declared if isinstance(declared, list) else None)


def _efficiency(r: ResultRecord) -> str:
    if r.efficiency is None:
        return "-"
    mark = " est." if r.peak is not None and r.peak.estimated else ""
    return percent(r.efficiency) + mark


def results_table(
    results: Sequence[ResultRecord], *, title: str | None = None
) -> tuple[Table, list[str]]:
    """The summary table and its footnotes (each distinct warning once, numbered).

    A failed, timed-out or skipped case shows once, with its reason, instead of one empty
    row per metric.
    """
    table = Table(title=title, show_lines=False, title_justify="left")
    table.add_column("benchmark", no_wrap=True)
    table.add_column("params", overflow="fold", ratio=1)
    table.add_column("metric", no_wrap=True)
    for name in ("median", "95% CI", "CV", "eff."):
        table.add_column(name, justify="right", no_wrap=True)
    table.add_column("warn", no_wrap=True)
    notes: list[str] = []

    def ref(note: str) -> str:
        if note not in notes:
            notes.append(note)
        return str(notes.index(note) + 1)

    shown_failed: set[tuple[int | None, str]] = set()
    previous: tuple[int | None, str] | None = None
    for r in results:
        case = (r.run_id, r.case_key)
        if r.status is not ResultStatus.OK or r.summary is None:
            if case in shown_failed:
                continue
            shown_failed.add(case)
            previous = case
            # The first line; the traceback stays in the store and in --json.
            reason = (r.error or "no samples").strip().splitlines()[0]
            table.add_row(
                r.benchmark,
                _case_params(r),
                "-",
                Text(r.status.value, style="yellow"),
                "",
                "",
                "",
                ref(f"{r.benchmark} {r.status.value}: {reason}"),
            )
            continue
        s = r.summary
        ci = (
            f"[{s.ci_low:.1%}, {s.ci_high:.1%}]"
            if r.unit == "fraction"
            else interval(s.ci_low, s.ci_high)
        )
        # The case is named once, on its first metric's row.
        first = case != previous
        previous = case
        table.add_row(
            r.benchmark if first else "",
            _case_params(r) if first else "",
            r.metric,
            quantity(s.median, r.unit),
            ci,
            percent(s.cv),
            _efficiency(r),
            ",".join(ref(w) for w in r.warnings),
        )
    return table, notes


def results_view(results: Sequence[ResultRecord], *, title: str | None = None) -> Group:
    table, notes = results_table(results, title=title)
    parts: list[Any] = [table]
    if notes:
        parts.append(Text("warnings:", style="bold"))
        parts.extend(Text(f"  [{i}] {n}") for i, n in enumerate(notes, 1))
    peaks = {
        (r.peak.unit, r.peak.source)
        for r in results
        if r.peak is not None and r.efficiency is not None
    }
    if peaks:
        parts.append(Text("peaks (eff. = median / peak):", style="bold"))
        parts.extend(Text(f"  {unit}: {source}") for unit, source in sorted(peaks))
    return Group(*parts)


def runs_table(runs: Sequence[RunRecord]) -> Table:
    table = Table(title="runs", title_justify="left")
    for name in ("id", "suite", "status", "started (UTC)", "duration", "tags", "host"):
        table.add_column(name, justify="right" if name == "id" else "left")
    for run in runs:
        duration = "-"
        if run.finished_at is not None:
            duration = f"{sig((run.finished_at - run.started_at).total_seconds())} s"
        table.add_row(
            str(run.id),
            run.suite,
            run.status.value,
            run.started_at.strftime("%Y-%m-%d %H:%M:%S"),
            duration,
            ",".join(run.tags),
            run.host,
        )
    return table


def machine_view(advice: Sequence[str]) -> Text:
    """The machine's set-up advice (system_state.machine_advice), or that there is none."""
    if not advice:
        return Text("machine set-up: nothing to fix that this kernel exposes", style="dim")
    text = Text("machine set-up (docs/reproducibility.md):", style="yellow")
    for line in advice:
        text.append(f"\n  - {line}", style="default")
    return text


def environment_table(fp: Mapping[str, Any]) -> Table:
    from fleetwise.collect.fingerprint import flatten

    table = Table(title="environment", title_justify="left", show_header=False)
    table.add_column("field")
    table.add_column("value", overflow="fold")
    for key, value in flatten(fp).items():
        if key == "load.cpu_times":
            continue
        if isinstance(value, list):
            value = " ".join(str(v) for v in value)
        table.add_row(key, "-" if value is None or value == "" else str(value))
    return table


def verify_view(verdicts: Sequence[Verdict]) -> Group:
    """The reproduction table; what changed between the environments goes in notes."""
    table = Table(title="reproduction", title_justify="left")
    table.add_column("case", overflow="fold", ratio=1)
    table.add_column("metric", overflow="fold")
    for name in ("original", "95% CI", "re-run", "change"):
        table.add_column(name, justify="right", no_wrap=True)
    table.add_column("verdict", no_wrap=True)
    table.add_column("note", no_wrap=True)
    notes: list[str] = []
    for v in verdicts:
        if v.reproduced is None:
            verdict = Text("n/a", style="dim")
        elif v.reproduced:
            verdict = Text("reproduced", style="green")
        else:
            verdict = Text("NOT reproduced", style="red")
        text = ""
        if v.reproduced is False:
            changes = "; ".join(f"{k}: {a} -> {b}" for k, (a, b) in v.env_changes.items())
            text = f"{v.reason}; changed: {changes or 'nothing recorded'}"
        elif v.reproduced is None:
            text = f"{v.benchmark}: {v.reason}"
        if text and text not in notes:
            notes.append(text)
        note = str(notes.index(text) + 1) if text else ""
        table.add_row(
            f"{v.benchmark} {params_text(v.params)}".strip(),
            v.metric,
            quantity(v.original_median, v.unit) if v.original_median is not None else "-",
            interval(*v.original_ci) if v.original_ci else "-",
            quantity(v.rerun_median, v.unit) if v.rerun_median is not None else "-",
            f"{v.change:+.1%}" if v.change is not None else "-",
            verdict,
            note,
        )
    parts: list[Any] = [table]
    if notes:
        parts.append(Text("notes:", style="bold"))
        parts.extend(Text(f"  [{i}] {n}") for i, n in enumerate(notes, 1))
    return Group(*parts)


def node_outliers_view(outliers: Sequence[NodeOutlier], targets: int) -> Table | Text:
    """Nodes of a fleet-wide run that are slower than their peers on the same case."""
    if not outliers:
        return Text(f"no node is 15% or more slower than its peers ({targets} targets)")
    table = Table(title=f"slow nodes ({targets} targets)", title_justify="left")
    for col in ("node", "benchmark", "parameters", "metric", "median", "peers' median"):
        table.add_column(col)
    table.add_column("slower", justify="right")
    for o in outliers:
        table.add_row(
            o.node,
            o.benchmark,
            params_text(o.params),
            o.metric,
            quantity(o.value, o.unit),
            quantity(o.peers_median, o.unit),
            percent(o.slowdown),
        )
    return table
