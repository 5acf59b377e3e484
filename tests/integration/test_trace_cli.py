"""End to end through ``fleetwise.present.cli.main``: trace analyze, trace diff, diagnose."""

from __future__ import annotations

import gzip
import json
import shutil
from importlib import resources
from pathlib import Path

import pytest
import yaml

from fleetwise.present.cli import main
from fleetwise.store import Store

DATA = Path(__file__).parents[1] / "data" / "kineto"


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_trace_analyze_json_and_tables(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "trace", "analyze", str(DATA / "trace_filter_2rank"), "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["schema_version"] == 1
    assert [t["idle_us"] for t in doc["temporal"]] == [321378, 328671]
    assert [round(o["overlap_pct"], 2) for o in doc["overlap"]] == [11.81, 20.05]
    assert doc["stragglers"]["ranks"] == 2
    code, out, _ = run_cli(capsys, "trace", "analyze", str(DATA / "nccl_ddp_a100"))
    assert code == 0
    assert "temporal breakdown" in out and "338,781" in out and "launch queue length" in out


def test_diagnose_stores_summary_and_findings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "fw.db"
    fleet = tmp_path / "fleet.yaml"
    doc = yaml.safe_load(
        resources.files("fleetwise.plan").joinpath("data/fleet_default.yaml").read_text()
    )
    doc["pools"][0].update(gpus=1000, usd_per_gpu_hour=2)
    doc["workloads"] = [{"match": "trace:*nccl_ddp_a100", "represents": {"gpus": 1000}}]
    fleet.write_text(yaml.safe_dump(doc))
    code, out, _ = run_cli(
        capsys,
        "diagnose",
        "--trace",
        str(DATA / "nccl_ddp_a100"),
        "--db",
        str(db),
        "--tag",
        "baseline",
        "--fleet",
        str(fleet),
    )
    assert code == 0
    assert "CPU-bound" in out and "stored as analysis 1" in out
    store = Store(f"sqlite:///{db}")
    (analysis,) = store.analyses(kind="trace", tag="baseline")
    store.close()
    assert analysis.source == str(DATA / "nccl_ddp_a100")
    assert analysis.summary["temporal"][0]["window_us"] == 435586
    kinds = [f.kind for f in analysis.findings]
    assert kinds[0] == "trace.host_bound"
    cost = analysis.findings[0].cost
    assert cost is not None
    assert cost.assumptions["represented_gpus"] == 1000
    assert cost.assumptions["usd_per_gpu_hour"] == 2
    assert cost.usd_per_year == pytest.approx(2 * cost.gpu_hours_per_year, rel=1e-6)
    code, out, _ = run_cli(
        capsys, "diagnose", "--trace", str(DATA / "trace_filter_2rank"), "--db", str(db), "--json"
    )
    assert code == 0 and json.loads(out)["analysis_id"] == 2
    # No workloads entry matches it (the default profile): its findings have no fleet cost.
    assert all(f["cost"] is None for f in json.loads(out)["findings"])


def test_trace_diff_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = DATA / "nccl_ddp_a100"
    code, out, _ = run_cli(capsys, "trace", "diff", str(a), str(a), "--json")
    assert code == 0
    assert json.loads(out)["entries"] == []
    code, out, _ = run_cli(
        capsys, "trace", "diff", str(a), str(DATA / "ns_resolution_v100"), "--json"
    )
    changes = {e["change"] for e in json.loads(out)["entries"]}
    assert {"added", "removed"} <= changes


def test_bad_inputs_exit_2_naming_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "fw.db"
    assert (
        run_cli(capsys, "diagnose", "--trace", str(DATA / "nccl_ddp_a100"), "--db", str(db))[0] == 0
    )
    cases: dict[str, tuple[str, bytes]] = {
        "truncated": (
            "r.json.gz",
            (DATA / "nccl_ddp_a100" / "nccl_data.json.gz").read_bytes()[:5000],
        ),
        "invalid": ("r.json", b'{"traceEvents": [{"ph": "X", "ts": 1,, "dur": 2}]}'),
        "cpu_only": (
            "r.json",
            b'{"traceEvents": [{"ph": "X", "cat": "cpu_op", "name": "a", "ts": 1, "dur": 2}]}',
        ),
    }
    for case, (name, content) in cases.items():
        folder = tmp_path / case
        folder.mkdir()
        (folder / name).write_bytes(content)
        code, _, err = run_cli(capsys, "diagnose", "--trace", str(folder), "--db", str(db))
        assert code == 2, case
        assert err.startswith("fleetwise: error: ") and str(folder / name) in err, err
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    for i in (0, 1):
        shutil.copy(
            DATA / "trace_filter_2rank" / "sampled_rank-0.json.gz", mixed / f"copy{i}.json.gz"
        )
    code, _, err = run_cli(capsys, "trace", "analyze", str(mixed))
    assert code == 2 and "copy1.json.gz: rank 0 is also the rank of copy0.json.gz" in err
    code, _, err = run_cli(capsys, "diagnose", "--db", str(db))
    assert code == 2 and "--trace" in err
    # nothing already stored was lost
    store = Store(f"sqlite:///{db}")
    assert len(store.analyses(kind="trace")) == 1
    store.close()


def test_plain_json_trace(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = DATA / "critical_path_alexnet" / "benchmark_result_2869224_1695835535_trace.json.gz"
    (tmp_path / "t.json").write_bytes(gzip.decompress(src.read_bytes()))
    code, out, _ = run_cli(capsys, "trace", "analyze", str(tmp_path), "--json")
    assert code == 0 and json.loads(out)["temporal"][0]["window_us"] == 12996011
