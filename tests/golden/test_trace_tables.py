"""Golden renders of ``trace analyze``, ``diagnose`` and ``trace diff`` on real traces.

Regenerate after an intended change with ``pytest tests/golden --update-goldens`` and review
the diff of ``tests/golden/expected/trace_*``.
"""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console, RenderableType

from fleetwise.analyze.findings import Represented, trace_findings
from fleetwise.analyze.traces_report import analyze_trace_set, diff_trace_sets
from fleetwise.present.cli.render_trace import diff_view, findings_view, report_view

EXPECTED = Path(__file__).parent / "expected"
DATA = Path(__file__).parents[1] / "data" / "kineto"


def render(thing: RenderableType) -> str:
    buf = io.StringIO()
    Console(file=buf, width=140, color_system=None, force_terminal=False).print(thing)
    return buf.getvalue()


def check(name: str, text: str, update: bool) -> None:
    path = EXPECTED / name
    if update:
        path.write_text(text)
    assert text == path.read_text()


def test_trace_analyze_two_ranks(update_goldens: bool) -> None:
    report = analyze_trace_set(DATA / "trace_filter_2rank")
    check("trace_analyze_trace_filter_2rank.txt", render(report_view(report)), update_goldens)


def test_diagnose_findings(update_goldens: bool) -> None:
    report = analyze_trace_set(DATA / "nccl_ddp_a100")
    findings = trace_findings(report, Represented(512, 2.5, 8760.0, "512 GPUs"))
    check("trace_findings_nccl_ddp_a100.txt", render(findings_view(findings)), update_goldens)


def test_trace_diff(update_goldens: bool) -> None:
    diff = diff_trace_sets(DATA / "nccl_ddp_a100", DATA / "ns_resolution_v100")
    check(
        "trace_diff_nccl_vs_v100.txt", render(diff_view(diff, "A", "B", limit=15)), update_goldens
    )
