"""Golden renders of ``fleetwise process`` tables on Four Keys' sample and the pipeline
and paging fixtures (fixed-width colourless console).

Regenerate after an intended change with ``pytest tests/golden --update-goldens`` and
review the diff of ``tests/golden/expected/``.
"""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console, RenderableType

from fleetwise.analyze.dora import dora_report
from fleetwise.analyze.oncall import OnCallConfig, oncall_report
from fleetwise.analyze.pipeline_flow import pipeline_report
from fleetwise.analyze.process import (
    CostAssumptions,
    dora_findings,
    oncall_findings,
    pipeline_findings,
)
from fleetwise.collect.importers.pipeline import parse_process
from fleetwise.plan.fleet import default_profile
from fleetwise.present.cli.render_process import (
    dora_view,
    findings_view,
    oncall_view,
    pipeline_view,
)

DATA = Path(__file__).parents[1] / "data" / "process"
EXPECTED = Path(__file__).parent / "expected"
#: The built-in fleet profile's engineer-hour: $250,000 a year over 250 days of 8 hours.
COSTS = CostAssumptions(loaded_usd_per_hour=default_profile().usd_per_engineer_hour)


def render(*things: RenderableType) -> str:
    buf = io.StringIO()
    console = Console(file=buf, width=120, color_system=None, force_terminal=False)
    for thing in things:
        console.print(thing)
    return buf.getvalue()


def check(name: str, text: str, update: bool) -> None:
    path = EXPECTED / name
    if update:
        path.write_text(text)
    assert text == path.read_text()


def test_dora_tables(update_goldens: bool) -> None:
    report = dora_report(parse_process(DATA / "fourkeys_sample")[1])
    text = render(dora_view(report), findings_view(dora_findings(report, COSTS)))
    check("process_dora.txt", text, update_goldens)


def test_pipeline_tables(update_goldens: bool) -> None:
    report = pipeline_report(parse_process(DATA / "pipeline_runs.csv")[1])
    text = render(pipeline_view(report), findings_view(pipeline_findings(report, COSTS)))
    check("process_pipeline.txt", text, update_goldens)


def test_oncall_tables(update_goldens: bool) -> None:
    pages = [
        ev
        for name in ("pagerduty_incidents.json", "pagerduty_analytics.csv", "opsgenie_alerts.json")
        for ev in parse_process(DATA / name)[1]
    ]
    report = oncall_report(pages)
    text = render(
        oncall_view(report), findings_view(oncall_findings(report, OnCallConfig(), COSTS))
    )
    check("process_oncall.txt", text, update_goldens)


def test_platform_change_tables(update_goldens: bool) -> None:
    """The story's change log judged against its pages (docs/process.md), and the events
    the log imports as."""
    from datetime import timedelta

    from fleetwise.analyze.infra_changes import infra_report
    from fleetwise.present.cli.render_infra import infra_view

    used, changes = parse_process(DATA / "infra_changes.yaml")
    assert used == "infra-changes"
    pages = parse_process(DATA / "pagerduty_incidents.json")[1]
    report = infra_report(changes, pages, window=timedelta(hours=24))
    events = "\n".join(e.model_dump_json() for e in changes) + "\n"
    check("process_infra_events.jsonl", events, update_goldens)
    check("process_infra.txt", render(infra_view(report)), update_goldens)
