"""The performance report: benchmark results, their history, and a reproducibility appendix
(environment fingerprints, methodology, suite files, how to re-run)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from fleetwise.analyze.changepoints import DEFAULTS
from fleetwise.analyze.regressions import store_series_changes
from fleetwise.collect.fingerprint import flatten
from fleetwise.models import ResultRecord, RunRecord, RunStatus
from fleetwise.present import charts
from fleetwise.present.reports.areas import NO_BENCH, chart
from fleetwise.present.reports.model import Figure, Report, Section, Table, absent
from fleetwise.store import Store
from fleetwise.units import params_text, series_label, sig

#: Fingerprint fields shown in the appendix (the full document is in ``fleetwise env --json``).
FINGERPRINT_FIELDS = (
    "host",
    "cpu.model",
    "cpu.cores",
    "memory.total_bytes",
    "gpus",
    "cuda_driver_version",
    "os.name",
    "os.kernel",
    "python.version",
)
METHODOLOGY = (
    "Each benchmark case runs in its own process with a timeout; warm-up runs are dropped and "
    "the loop count is calibrated to a minimum sample time; raw samples are kept.",
    "Figures are medians with a 95% confidence interval; a coefficient of variation or a "
    "min/max spread that says 'unstable' is reported as a warning beside the result.",
    "Efficiency is the measured value divided by the hardware peak named in the table "
    "(fleetwise.hardware: dated, sourced figures).",
    "Change points: e-divisive means with a significance test (p < 0.001), as Apache Otava; "
    "`fleetwise regressions` lists them.",
)


def _results(run: RunRecord, results: list[ResultRecord]) -> Section:
    rows = []
    for r in results:
        sm = r.summary
        rows.append(
            [
                r.benchmark,
                params_text(r.params),
                r.metric,
                r.status.value,
                sig(sm.median) if sm else "-",
                f"{sig(sm.ci_low)} - {sig(sm.ci_high)}" if sm else "-",
                r.unit,
                f"{sm.cv:.1%}" if sm else "-",
                "-" if r.efficiency is None else f"{r.efficiency:.1%}",
                "; ".join(r.warnings) or "-",
            ]
        )
    section = Section(
        key="results",
        title=f"Results of run {run.id} ({run.suite})",
        tables=[
            Table(
                title=f"run {run.id}",
                columns=[
                    "benchmark",
                    "case",
                    "metric",
                    "status",
                    "median",
                    "95% CI",
                    "unit",
                    "CV",
                    "of peak",
                    "warnings",
                ],
                rows=rows,
                source=f"fleetwise bench show {run.id}",
            )
        ],
        figures=[
            Figure(
                key=f"result.{r.id}.median",
                label=f"{r.benchmark} ({params_text(r.params)}) {r.metric}",
                value=r.summary.median,
                text=sig(r.summary.median),
                source=f"result {r.id}, run {run.id}",
            )
            for r in results
            if r.summary is not None
        ],
    )
    bars = [
        charts.EfficiencyBar(
            f"{r.benchmark} ({params_text(r.params)})",
            r.efficiency,
            r.peak.source if r.peak else "",
        )
        for r in results
        if r.efficiency is not None
    ]
    if bars:
        section.charts.append(
            chart("efficiency", "efficiency vs peak", charts.efficiency_vs_peak(bars))
        )
    return section


def _history(store: Store) -> Section:
    section = Section(key="history", title="History and change points")
    rows = []
    for s in store.series():
        changes = store_series_changes(s, DEFAULTS, {})
        rows.append(
            [
                series_label(s.key),
                str(len(s.points)),
                sig(s.points[-1].median) if s.points else "-",
                s.key.unit,
                "; ".join(f"{c.kind} {c.change:+.1%} at {c.after}" for c in changes) or "-",
            ]
        )
        if changes and len(section.charts) < 4:
            section.charts.append(
                chart(
                    f"history_{len(section.charts)}",
                    series_label(s.key),
                    charts.benchmark_history(s, [c.index for c in changes]),
                )
            )
    if not rows:
        return absent("history", section.title, NO_BENCH)
    section.tables.append(
        Table(
            title="series",
            columns=["series", "runs", "latest median", "unit", "change points"],
            rows=rows,
            source="fleetwise regressions",
        )
    )
    return section


def _appendix(store: Store, runs: list[RunRecord]) -> Section:
    env_ids = sorted({r.environment_id for r in runs if r.environment_id is not None})
    columns = ["field", *[f"env {i}" for i in env_ids]]
    flat = {i: flatten(store.get_environment(i).data) for i in env_ids}
    rows = []
    for name in FINGERPRINT_FIELDS:
        values = []
        for i in env_ids:
            value = flat[i].get(name)
            if name == "gpus":
                value = flat[i].get("gpus[0].name", "none")
            values.append("-" if value is None else str(value))
        rows.append([name, *values])
    suites = Table(
        title="suites as run (resolved configuration)",
        columns=["run", "suite", "tags", "configuration"],
        rows=[
            [
                str(r.id),
                r.suite,
                ", ".join(r.tags) or "-",
                json.dumps(r.config, sort_keys=True)[:300],
            ]
            for r in runs[:10]
        ],
        source="runs.config",
    )
    rerun = [f"fleetwise bench run {r.suite} --tag rerun-of:{r.id}" for r in runs[:3]]
    return Section(
        key="reproducibility",
        title="Appendix: reproducibility",
        paragraphs=[
            *METHODOLOGY,
            "How to re-run: "
            + "; ".join(rerun)
            + ". Then `fleetwise bench verify` and `fleetwise regressions`.",
        ],
        tables=[
            Table(
                title="environment fingerprints",
                columns=columns,
                rows=rows,
                source="fleetwise env --json",
            ),
            suites,
        ],
    )


def build_performance(store: Store) -> Report:
    """Benchmark results of the newest completed run, history, reproducibility appendix."""
    runs = store.list_runs(limit=1000)
    done = [r for r in runs if r.status is RunStatus.COMPLETED]
    report = Report(
        kind="performance",
        title="Benchmark performance report",
        generated_at=datetime.now(UTC),
        store=store.display_url,
    )
    if not done:
        report.summary = [absent("runs", "Runs", NO_BENCH)]
        return report
    latest = done[0]
    report.subtitle = f"run {latest.id} ({latest.suite}), {latest.started_at:%Y-%m-%d %H:%M} UTC"
    report.summary = [
        Section(
            key="runs",
            title="Runs",
            figures=[
                Figure(
                    key="runs.completed",
                    label="completed runs",
                    value=len(done),
                    text=str(len(done)),
                    source="fleetwise bench list",
                )
            ],
            tables=[
                Table(
                    title="latest runs",
                    columns=["run", "suite", "status", "started", "tags"],
                    rows=[
                        [
                            str(r.id),
                            r.suite,
                            r.status.value,
                            f"{r.started_at:%Y-%m-%d %H:%M}",
                            ", ".join(r.tags) or "-",
                        ]
                        for r in runs[:10]
                    ],
                    source="fleetwise bench list",
                )
            ],
        )
    ]
    report.sections = [
        _results(latest, store.results(latest.id)),
        _history(store),
        _appendix(store, done),
    ]
    return report
