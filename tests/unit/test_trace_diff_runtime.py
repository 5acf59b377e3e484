"""``trace diff`` compares CUDA runtime calls too (issue 17, part 5)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from fleetwise.analyze.traces_report import diff_trace_sets
from fleetwise.present.cli import main

DATA = Path(__file__).parents[1] / "data" / "kineto"


def slower_syncs(tmp_path: Path) -> Path:
    """nccl_ddp_a100 with every cudaMemcpyAsync three times longer and one new call."""
    (source,) = sorted((DATA / "nccl_ddp_a100").glob("*.json.gz"))
    doc = json.loads(gzip.decompress(source.read_bytes()))
    for e in doc["traceEvents"]:
        if e.get("name") == "cudaMemcpyAsync":
            e["dur"] = e["dur"] * 3
        elif e.get("name") == "cudaEventRecord":
            e["name"] = "cudaEventRecordWithFlags"
    out = tmp_path / "b"
    out.mkdir()
    (out / source.name).write_bytes(gzip.compress(json.dumps(doc).encode()))
    return out


def test_runtime_calls_are_compared(tmp_path: Path) -> None:
    a = DATA / "nccl_ddp_a100"
    same = diff_trace_sets(a, a)
    assert same.runtime == [] and same.entries == []
    diff = diff_trace_sets(a, slower_syncs(tmp_path))
    changes = {e.name: e for e in diff.runtime}
    memcpy = changes["cudaMemcpyAsync"]
    assert memcpy.kind == "runtime" and memcpy.change == "slower"
    # three times longer, give or take the trace's rounding to whole microseconds
    assert 2.5 * memcpy.a_us_per_step < memcpy.b_us_per_step < 3.5 * memcpy.a_us_per_step
    assert memcpy.a_count_per_step == memcpy.b_count_per_step == 320.0
    assert changes["cudaEventRecord"].change == "removed"
    assert changes["cudaEventRecordWithFlags"].change == "added"
    # runtime calls are not CPU operators: the operator list does not change
    assert not [e for e in diff.entries if e.kind == "cpu_op"]


def test_trace_diff_prints_and_serialises_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = str(DATA / "nccl_ddp_a100"), str(slower_syncs(tmp_path))
    assert main(["trace", "diff", a, b]) == 0
    out = capsys.readouterr().out
    assert "CUDA runtime calls (per rank per step)" in out and "cudaMemcpyAsync" in out
    assert main(["trace", "diff", a, b, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert {e["name"] for e in doc["runtime"]} >= {"cudaMemcpyAsync", "cudaEventRecord"}
    assert main(["trace", "diff", a, a]) == 0
    assert "CUDA runtime calls: no change" in capsys.readouterr().out
