"""Cluster diagnosis from stored jobs: waits, GPU-hours, lost work, idle and stranded GPUs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fleetwise.analyze.cluster import analyze_cluster
from fleetwise.collect.importers.jobs import import_jobs
from fleetwise.collect.importers.telemetry import import_telemetry
from fleetwise.errors import InputError
from fleetwise.present.cli import main
from fleetwise.store import Store

DATA = Path(__file__).parents[1] / "data" / "clusters"


def test_helios_sample_by_hand() -> None:
    _, jobs = import_jobs(DATA / "formats" / "helios_jobs.csv")
    r = analyze_cluster(jobs, total_gpus=32, usd_per_gpu_hour=2.0, hours_per_year=8760)
    # GPU-hours: j1 8x4h=32, j2 16x2h=32, j3 1x0.5h=0.5, j5 2x24h=48 (j4 has no GPU)
    assert r.gpu_hours == pytest.approx(112.5)
    assert r.lost_gpu_hours == pytest.approx({"failed": 32.0, "cancelled": 0.5, "timeout": 48.0})
    lost = next(f for f in r.findings if f.kind == "cluster.lost_work")
    assert lost.layer == "orchestration" and lost.cost is not None
    per_year = 365 / r.span_days
    assert lost.cost.gpu_hours_per_year == pytest.approx(80.5 * per_year)
    assert lost.cost.usd_per_year == pytest.approx(2.0 * 80.5 * per_year)
    assert {s.group for s in r.waits_by_size} == {"1", "2-4", "5-8", ">8"}
    big = next(s for s in r.waits_by_size if s.group == ">8")
    assert big.p50_h == pytest.approx(2.0)  # j2 waited 2 h
    assert any(f.kind == "cluster.queue_wait" for f in r.findings)  # p95 > 1 h
    assert any(f.kind == "cluster.idle_capacity" for f in r.findings)


def test_helios_telemetry_gives_allocation_and_stranded_gpus() -> None:
    _, jobs = import_jobs(DATA / "formats" / "helios_jobs.csv")
    seq = import_telemetry(DATA / "helios_vc6YE_3days.csv")
    r = analyze_cluster(jobs, telemetry=seq, usd_per_gpu_hour=2.5, hours_per_year=8760)
    assert r.allocation is not None and 0.5 < r.allocation < 1.0
    assert r.stranded_gpu_hours is not None and r.stranded_gpu_hours > 0
    frag = next(f for f in r.findings if f.kind == "cluster.fragmentation")
    assert frag.cost is not None and frag.cost.usd_per_year > 0


def test_dcgm_gap() -> None:
    _, jobs = import_jobs(DATA / "formats" / "helios_jobs.csv")
    r = analyze_cluster(
        jobs,
        telemetry=import_telemetry(DATA / "formats" / "dcgm.prom"),
        usd_per_gpu_hour=2.5,
        hours_per_year=8760,
    )
    assert r.measured_utilization == pytest.approx(0.5)
    assert any(f.kind == "cluster.utilization_gap" for f in r.findings)


def test_no_gpu_jobs_is_an_input_error() -> None:
    _, jobs = import_jobs(DATA / "formats" / "helios_jobs.csv")
    with pytest.raises(InputError, match="no GPU jobs"):
        analyze_cluster([j for j in jobs if j.gpus == 0], usd_per_gpu_hour=2.5, hours_per_year=8760)


def test_store_keeps_jobs_once_per_source(store: Store) -> None:
    _, jobs = import_jobs(DATA / "formats" / "sacct.txt")
    assert store.add_jobs(jobs, "slurm:a") == 5
    assert store.add_jobs(jobs, "slurm:a") == 0
    assert store.add_jobs(jobs[:2], "slurm:b") == 2
    stored = store.jobs(source="slurm:a")
    assert [j.job_id for j in stored] == [j.job_id for j in jobs]
    assert stored[1].gpus == 8 and stored[1].start_time == jobs[1].start_time
    assert len(store.jobs(team="nlp")) == 3


def test_cli_import_and_analyze(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pods = DATA / "alibaba_pods_head800.csv"
    assert main(["cluster", "import", str(pods), "--db", db_url]) == 0
    assert "800 jobs (738 with GPUs) read as alibaba; 800 new" in capsys.readouterr().out
    assert main(["cluster", "import", str(pods), "--db", db_url]) == 0
    assert "0 new stored" in capsys.readouterr().out
    # More GPUs than the fleet profile has: one line, nothing stored.
    assert main(["cluster", "analyze", "--db", db_url, "--gpus", "2000"]) == 2
    assert "more than the 512 GPUs of the fleet profile" in capsys.readouterr().err
    assert main(["cluster", "analyze", "--db", db_url, "--gpus", "512", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["schema_version"] == 1 and doc["summary"]["gpu_jobs"] == 738
    kinds = {f["kind"] for f in doc["findings"]}
    assert {"cluster.lost_work", "cluster.idle_capacity"} <= kinds
    assert all(
        f["layer"] == "orchestration" and f["cost"]["usd_per_year"] > 0 for f in doc["findings"]
    )
    store = Store(db_url)
    saved = store.analyses(kind="cluster")
    assert len(saved) == 1 and len(saved[0].findings) == len(doc["findings"])
    store.close()
    assert main(["cluster", "analyze", "--db", db_url]) == 0
    out = capsys.readouterr().out
    assert "queue wait by team/VC" in out and "findings" in out


def test_cli_rejects_malformed_file_with_exit_2(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = DATA / "formats" / "helios_jobs.csv"
    assert main(["cluster", "import", str(good), "--db", db_url]) == 0
    bad = tmp_path / "jobs.csv"
    bad.write_text(good.read_text().replace("2020-04-02 09:00:00", "someday"))
    assert main(["cluster", "import", str(bad), "--db", db_url]) == 2
    err = capsys.readouterr().err
    assert "fleetwise: error:" in err and "jobs.csv:6: column 'submit_time'" in err
    store = Store(db_url)
    assert len(store.jobs()) == 5  # what was stored before is intact
    store.close()
    mapped = DATA / "formats" / "generic.csv"
    args = ["cluster", "import", str(mapped), "--db", db_url, "--map", "Submitted=submit"]
    assert main([*args, "--map", "Accelerators=gpus"]) == 0
    assert main([*args, "--map", "Accelerators"]) == 2
