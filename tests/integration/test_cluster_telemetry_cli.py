"""``cluster nodes`` + ``cluster analyze --telemetry`` without a job log; the Alibaba 2025
import with its skipped rows; bad telemetry is one line and exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fleetwise.present.cli import main

DATA = Path(__file__).parents[1] / "data" / "clusters"
HEALTH = DATA / "dcgm_health"


def test_analyze_telemetry_and_nodes_without_jobs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "fw.db")
    assert main(["cluster", "nodes", str(HEALTH / "nodes.csv"), "--db", db]) == 0
    capsys.readouterr()
    tele = str(HEALTH / "dcgm_health.prom")
    assert main(["cluster", "analyze", "--telemetry", tele, "--db", db]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "capacity 6 GPUs (node list), telemetry saw 4 GPUs" in out
    assert "measured use 37% (DCGM SM_ACTIVE" in out
    assert "note: no job log: queue waits" in out
    assert "queue wait by team" not in out  # no job sections, said so instead
    assert "XID 79 (GPU has fallen off the bus)" in out
    assert main(["cluster", "analyze", "--telemetry", tele, "--db", db, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    s = doc["summary"]
    assert s["job_log"] is False and s["gpu_hours"] is None
    assert s["utilization_basis"] == "SM_ACTIVE"
    assert s["measured_utilization"] == pytest.approx(0.3683, abs=1e-4)
    assert s["profiling"]["GPU_UTIL"] == pytest.approx(0.7125)
    assert [(g["host"], g["gpu"], g["hours"]) for g in s["unhealthy_gpus"]] == [
        ("gpu-node-02", "0", pytest.approx(1.0)),
        ("gpu-node-02", "1", pytest.approx(2.0)),
    ]
    assert sum(f["kind"] == "cluster.node_health" for f in doc["findings"]) == 2
    # the ledger reads the basis the analysis stored
    assert main(["ledger", "--db", db, "--json"]) == 0
    ledger = json.loads(capsys.readouterr().out)
    assert "measured (SM_ACTIVE)" in json.dumps(ledger)
    assert any("3.0 GPU-hours on unhealthy GPUs" in n for n in ledger["notes"])


def test_gpu_util_only_says_low_confidence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "fw.db")
    assert main(["cluster", "nodes", str(HEALTH / "nodes.csv"), "--db", db]) == 0
    tele = str(DATA / "formats" / "dcgm.prom")
    assert main(["cluster", "analyze", "--telemetry", tele, "--db", db]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "GPU_UTIL only: overstates use, low confidence" in out
    assert "(allocation unknown: every GPU reporting counted)" in out  # no pod labels
    assert main(["ledger", "--db", db, "--json"]) == 0
    assert "low (GPU_UTIL only: overstates use)" in capsys.readouterr().out


def test_no_jobs_and_no_telemetry_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "fw.db")
    assert main(["cluster", "nodes", str(HEALTH / "nodes.csv"), "--db", db]) == 0
    capsys.readouterr()
    assert main(["cluster", "analyze", "--db", db]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--telemetry FILE" in err


def test_bad_telemetry_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "fw.db")
    assert main(["cluster", "nodes", str(HEALTH / "nodes.csv"), "--db", db]) == 0
    bad = tmp_path / "bad.prom"
    bad.write_text('DCGM_FI_PROF_SM_ACTIVE{gpu="0",Hostname="n1"} 42 1709280000000\n')
    capsys.readouterr()
    assert main(["cluster", "analyze", "--telemetry", str(bad), "--db", db]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "bad.prom:1: DCGM_FI_PROF_SM_ACTIVE 42 is not 0-1" in err


def test_alibaba2025_import_counts_skipped_rows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "fw.db")
    path = DATA / "alibaba_2025_dlrm_head50.csv"
    assert main(["cluster", "import", str(path), "--epoch", "2025-01-01", "--db", db]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "38 jobs (19 with GPUs) read as alibaba2025; 38 new stored" in out
    assert "12 rows skipped: no creation time (created before the trace started)" in out
    pai = DATA / "nodes" / "pai_machine_spec_head.csv"
    assert main(["cluster", "nodes", str(pai), "--db", db]) == 0
    assert "10 nodes, 40 GPUs read as pai" in " ".join(capsys.readouterr().out.split())
    assert main(["cluster", "analyze", "--db", db, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["summary"]["gpu_jobs"] == 19


def test_the_briefing_states_the_basis_and_no_job_figures(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from datetime import date

    from fleetwise.present.reports.briefing import build_briefing
    from fleetwise.store import Store

    db = tmp_path / "fw.db"
    assert main(["cluster", "nodes", str(HEALTH / "nodes.csv"), "--db", str(db)]) == 0
    tele = str(DATA / "formats" / "dcgm.prom")
    assert main(["cluster", "analyze", "--telemetry", tele, "--db", str(db)]) == 0
    capsys.readouterr()
    store = Store(f"sqlite:///{db}")
    try:
        report = build_briefing(store, today=date(2024, 3, 2), with_forecast=False)
    finally:
        store.close()
    figure = report.figure("cluster.measured_utilization")
    assert figure.value == pytest.approx(0.5)
    assert "GPU_UTIL only: overstates use, low confidence" in figure.label
    section = next(s for s in report.sections if s.key == "cluster")
    assert not any(f.key == "cluster.gpu_jobs" for f in section.figures)  # not a zero
    assert any("telemetry and the node list alone" in p for p in section.paragraphs)
