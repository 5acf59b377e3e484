"""Findings from real traces, the straggler detector, and the trace diff."""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from fleetwise.analyze.findings import Represented, trace_findings
from fleetwise.analyze.traces_report import analyze_trace_set, diff_trace_sets, load_trace_set
from fleetwise.analyze.traces_steps import find_stragglers, step_breakdown
from fleetwise.models import Severity

DATA = Path(__file__).parents[1] / "data" / "kineto"
RANK0 = DATA / "trace_filter_2rank" / "sampled_rank-0.json.gz"


def rank_copies(folder: Path, ranks: int, edit: Any = None) -> Path:
    """Copies of one real rank trace as ``ranks`` ranks; ``edit(rank, event)`` may change events."""
    doc = json.loads(gzip.decompress(RANK0.read_bytes()))
    folder.mkdir()
    for rank in range(ranks):
        copy = dict(doc)
        copy["distributedInfo"] = {**doc["distributedInfo"], "rank": rank, "world_size": ranks}
        copy["traceEvents"] = [edit(rank, dict(e)) if edit else e for e in doc["traceEvents"]]
        (folder / f"rank{rank}.json").write_text(json.dumps(copy))
    return folder


def _hta_idle_pct(name: str) -> float:
    with (DATA / "hta_reference" / name / "temporal_breakdown.csv").open() as f:
        rows = list(csv.DictReader(f))
    return sum(float(r["idle_time_pctg"]) for r in rows) / len(rows)


def _hta_host_share(name: str, stream: int) -> float:
    with (DATA / "hta_reference" / name / "idle_time_breakdown.csv").open() as f:
        rows = [r for r in csv.DictReader(f) if int(r["stream"]) == stream]
    host = sum(float(r["idle_time"]) for r in rows if r["idle_category"] == "host_wait")
    return host / sum(float(r["idle_time"]) for r in rows)


def test_host_bound_finding_and_its_cost() -> None:
    report = analyze_trace_set(DATA / "nccl_ddp_a100")
    findings = trace_findings(report, Represented(100, 3.0, 8760.0, "team a, 100 GPUs"))
    host = next(f for f in findings if f.kind == "trace.host_bound")
    assert host.severity is Severity.CRITICAL
    assert "GPU idle 78%" in host.title and "waiting on the host" in host.title
    assert host.cost is not None
    # HTA 0.5.0 on the same trace: idle share of the GPU window x host wait's share of the
    # main stream's idle time (tests/data/kineto/hta_reference/nccl_ddp_a100)
    wasted = _hta_idle_pct("nccl_ddp_a100") * _hta_host_share("nccl_ddp_a100", stream=7)
    assert host.cost.assumptions["wasted_pct_of_gpu_time"] == pytest.approx(wasted, rel=1e-3)
    assert host.cost.gpu_hours_per_year == pytest.approx(wasted / 100 * 100 * 8760, rel=1e-3)
    assert host.share == pytest.approx(wasted / 100, rel=1e-3)
    assert host.cost.usd_per_year == pytest.approx(3.0 * host.cost.gpu_hours_per_year, rel=1e-6)
    assert {"represented_gpus", "usd_per_gpu_hour", "basis"} <= set(host.cost.assumptions)
    assert all(e.source == f"trace:{DATA / 'nccl_ddp_a100'}" for e in host.evidence)
    # most expensive first
    costs = [f.cost.usd_per_year for f in findings if f.cost]
    assert costs == sorted(costs, reverse=True)


def test_a_trace_that_represents_nothing_has_no_cost() -> None:
    findings = trace_findings(analyze_trace_set(DATA / "nccl_ddp_a100"))
    assert findings and all(f.cost is None for f in findings)
    assert all(f.share is not None and 0 < f.share <= 1 for f in findings)


def test_low_overlap_on_the_two_rank_set() -> None:
    findings = trace_findings(analyze_trace_set(DATA / "trace_filter_2rank"))
    overlap = next(f for f in findings if f.kind == "trace.low_comm_overlap")
    assert overlap.layer == "network"
    assert "16% of communication overlaps computation" in overlap.title


def test_compute_bound_trace_has_no_host_finding() -> None:
    findings = trace_findings(analyze_trace_set(DATA / "ns_resolution_v100"))
    assert "trace.host_bound" not in {f.kind for f in findings}  # GPU idle only 2.6%


def test_memcpy_heavy_on_alexnet() -> None:
    findings = trace_findings(analyze_trace_set(DATA / "critical_path_alexnet"))
    memcpy = next(f for f in findings if f.kind == "trace.memcpy_heavy")
    assert memcpy.evidence[0].unit == "% of GPU window"


def test_straggler_is_the_rank_that_waits_least(tmp_path: Path) -> None:
    def late_rank_2(rank: int, event: dict[str, Any]) -> dict[str, Any]:
        if rank == 2 and event.get("name", "").startswith("ncclKernel"):
            event["dur"] = event["dur"] / 4  # arrives last, so it waits least
        return event

    folder = rank_copies(tmp_path / "set", 4, late_rank_2)
    report = find_stragglers(load_trace_set(folder))
    assert report.stragglers == [2]
    assert report.late_counts[2] == report.collectives >= 4
    assert report.wait_us > 0
    findings = trace_findings(analyze_trace_set(folder))
    straggler = next(f for f in findings if f.kind == "trace.straggler")
    assert straggler.title.startswith("Rank 2 arrives last")


def test_identical_ranks_have_no_straggler(tmp_path: Path) -> None:
    report = find_stragglers(load_trace_set(rank_copies(tmp_path / "same", 3)))
    assert report.stragglers == [] and report.collectives == 0  # every collective ties


def test_diff_finds_added_removed_and_slower_kernels(tmp_path: Path) -> None:
    def change(rank: int, event: dict[str, Any]) -> dict[str, Any]:
        name = event.get("name", "")
        if name == "ampere_sgemm_128x64_nn":
            event["name"] = "ampere_sgemm_128x128_nn"  # one kernel replaced by another
        elif name.startswith("ncclKernel"):
            event["dur"] = event["dur"] * 2
        return event

    a = rank_copies(tmp_path / "a", 1)
    b = rank_copies(tmp_path / "b", 1, change)
    diff = diff_trace_sets(a, b)
    changes = {(e.kind, e.name): e.change for e in diff.entries}
    assert changes[("kernel", "ampere_sgemm_128x64_nn")] == "removed"
    assert changes[("kernel", "ampere_sgemm_128x128_nn")] == "added"
    nccl = [e for e in diff.entries if e.name.startswith("ncclKernel")]
    assert nccl and all(e.change == "slower" for e in nccl)
    assert all(e.b_us_per_step == pytest.approx(2 * e.a_us_per_step) for e in nccl)
    assert not [e for e in diff.entries if e.kind == "cpu_op"]  # CPU side unchanged


def test_per_step_breakdown_covers_every_gpu_event() -> None:
    (ev,) = load_trace_set(DATA / "ns_resolution_v100")
    steps = step_breakdown(ev)
    assert [s.step for s in steps] == [101, 102, 103, 104]  # the trace's ProfilerStep#105 is cut
    assert sum(s.kernels for s in steps) == int(ev.gpu.sum()) == 4876
    for s in steps:
        assert 0 < s.compute_us <= s.gpu_busy_us <= s.gpu_window_us
        assert s.comm_us == 0
