"""The fleet ledger end to end: ``fleetwise ledger`` on Alibaba's GPU trace v2023 equals a
pandas computation from the raw CSVs; prices follow the fleet profile; a CPU host's
findings carry no fleet dollars unless the profile says what they represent; the same
inputs analysed twice leave every total as it was."""

from __future__ import annotations

import json
import math
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from fleetwise.models import Finding
from fleetwise.present.cli import main
from fleetwise.store import Store

DATA = Path(__file__).parents[1] / "data"
ROOT = Path(__file__).parents[2]
V2023 = DATA / "clusters" / "alibaba_gpu_v2023"
HEAD800 = DATA / "clusters" / "alibaba_pods_head800.csv"
TRACE = DATA / "kineto" / "nccl_ddp_a100"
EPOCH = "2023-01-01"


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    assert main([*args, "--json"]) == 0
    doc: dict[str, Any] = json.loads(capsys.readouterr().out)
    return doc


def quiet(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(args) == 0, capsys.readouterr()
    capsys.readouterr()


def profile(path: Path, price: float = 2.5, gpus: int = 64, workloads: str = "") -> Path:
    path.write_text(
        f"""schema_version: 1
name: test fleet
pools:
  - {{name: gpu, gpus: {gpus}, gpus_per_node: 8, usd_per_gpu_hour: {price},
      price_source: test, price_date: "2026-01-01"}}
hours_per_year: 8760
engineer_loaded_usd_per_year: 250000
engineer_source: test
work_days_per_year: 250
work_hours_per_day: 8
discount_rate: 0.1
horizon_years: 3
severity: {{critical: 0.1, high: 0.05, medium: 0.01, low: 0.001}}
{workloads}
"""
    )
    return path


def pandas_allocation(pods: Path, nodes: Path) -> tuple[float, float, float]:
    """(allocated GPU-hours, capacity GPU-hours, allocation rate) from the raw CSVs: whole
    GPUs (``num_gpu``) of every pod that was scheduled, from scheduling to deletion (a pod
    still running at the trace's end counts to the end), over the trace's span, against
    every GPU of the node list."""
    p = pd.read_csv(pods)
    n = pd.read_csv(nodes)
    t0 = float(p["creation_time"].min())
    t1 = float(p[["creation_time", "scheduled_time", "deletion_time"]].max().max())
    ran = p[(p["num_gpu"] > 0) & p["scheduled_time"].notna() & (p["pod_phase"] != "Pending")]
    start = ran["scheduled_time"].clip(t0, t1)
    end = ran["deletion_time"].fillna(t1).clip(t0, t1)
    allocated = float((ran["num_gpu"] * (end - start).clip(lower=0)).sum()) / 3600
    capacity = float(n["gpu"].sum()) * (t1 - t0) / 3600
    return allocated, capacity, allocated / capacity


def test_alibaba_v2023_allocation_equals_pandas(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "fw.db")
    pods, nodes = V2023 / "openb_pod_list_default.csv", V2023 / "openb_node_list_gpu_node.csv"
    quiet(["cluster", "import", str(pods), "--epoch", EPOCH, "--db", db], capsys)
    quiet(["cluster", "nodes", str(nodes), "--db", db], capsys)
    fleet = profile(tmp_path / "fleet.yaml", gpus=6212)
    doc = run(["ledger", "--db", db, "--fleet", str(fleet)], capsys)
    allocated, capacity, rate = pandas_allocation(pods, nodes)
    buckets = {b["bucket"]: b["gpu_hours"] for b in doc["buckets"]}
    assert doc["inventory"]["gpus"] == 6212
    assert doc["capacity_gpu_hours"] == pytest.approx(capacity, rel=1e-9)
    assert math.fsum(buckets.values()) == pytest.approx(capacity, rel=1e-4)
    used = math.fsum(
        buckets[b]
        for b in ("lost_work", "allocated_idle", "runtime_badput", "unattributed", "productive")
    )
    assert used == pytest.approx(allocated, rel=1e-9)
    assert doc["goodput"]["scheduling"] == pytest.approx(rate, rel=1e-9)
    assert doc["over_allocated_gpu_hours"] == 0


def _story_inputs(db: str, fleet: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The story's diagnosis and plan steps (a cluster log, a trace), as make run does."""
    env = ["--db", db]
    quiet(["cluster", "import", str(HEAD800), "--epoch", "2026-06-01", *env], capsys)
    quiet(["cluster", "analyze", "--fleet", str(fleet), *env], capsys)
    quiet(["diagnose", "--trace", str(TRACE), "--fleet", str(fleet), *env], capsys)
    quiet(["plan", "seed", "--fleet", str(fleet), *env], capsys)


def _gpu_dollars(doc: dict[str, Any]) -> dict[str, float]:
    """Figures of the briefing priced in GPU-hours (the ledger, the findings' claims on it
    and what the backlog recovers of them)."""
    out = {}
    for section in doc["summary"] + doc["sections"]:
        for f in section["figures"]:
            key = f["key"]
            if (key.startswith("ledger.") and key.endswith("usd_per_year")) or key in (
                "losses.total_usd_per_year",
                "ask.recoverable",
                "ask.plan_benefit",
            ):
                out[key] = f["value"]
    return out


WORKLOAD = """workloads:
  - match: "trace:*nccl_ddp_a100*"
    represents: {gpus: 16}
"""


def test_doubling_the_price_doubles_every_gpu_dollar(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "fw.db")
    cheap = profile(tmp_path / "cheap.yaml", 2.5, workloads=WORKLOAD)
    dear = profile(tmp_path / "dear.yaml", 5.0, workloads=WORKLOAD)
    _story_inputs(db, cheap, capsys)
    a = _gpu_dollars(run(["report", "briefing", "--db", db, "--fleet", str(cheap)], capsys))
    b = _gpu_dollars(run(["report", "briefing", "--db", db, "--fleet", str(dear)], capsys))
    assert a.keys() == b.keys() and len(a) >= 10
    assert a["losses.total_usd_per_year"] > 0 and a["ask.recoverable"] > 0
    for key, value in a.items():
        assert b[key] == pytest.approx(2 * value, rel=1e-9, abs=1e-6), key


def _whole_story(db: str, fleet: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Every step of examples/story.sh but the quick suite and the rendering: a small
    benchmark run (a new run each time, as make run), the trace, the cluster log, the
    delivery and on-call exports and their analyses, the seeded backlog, the KPIs."""
    env = ["--db", db, "--fleet", str(fleet)]
    suite = DATA / "plan" / "findings_suite.yaml"
    quiet(["bench", "run", str(suite), "--tag", "story", "--no-progress", "--db", db], capsys)
    _story_inputs(db, fleet, capsys)
    for name in ("fourkeys_sample", "pipeline_runs.csv", "pagerduty_incidents.json"):
        quiet(["process", "import", str(DATA / "process" / name), "--db", db], capsys)
    for what in ("dora", "pipeline", "oncall"):
        quiet(["process", what, *env], capsys)
    process_map = str(ROOT / "examples" / "process-map.yaml")
    quiet(["process", "map", "--from-yaml", process_map, "--db", db], capsys)
    run_id = run(["bench", "list", "--limit", "1", "--db", db], capsys)["runs"][0]["id"]
    quiet(["plan", "seed", "--run", str(run_id), *env], capsys)
    if "lead-time" not in json.dumps(run(["kpi", "list", "--db", db], capsys)):
        quiet(["kpi", "add", str(ROOT / "examples" / "story-kpis.yaml"), "--db", db], capsys)
    if "review-wait" not in json.dumps(run(["kpi", "list", "--db", db], capsys)):
        quiet(["kpi", "add", str(ROOT / "examples" / "process-kpis.yaml"), "--db", db], capsys)
        actions = str(ROOT / "examples" / "process-actions.yaml")
        quiet(["plan", "import", actions, "--db", db], capsys)
    quiet(["kpi", "watch", "--db", db], capsys)
    quiet(["decide", "1", "approve", "--by", "steering", "--note", "go", "--db", db], capsys)


def test_totals_stay_within_capacity_and_rerunning_changes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLEETWISE_WORKDIR", str(tmp_path / "work"))
    db = str(tmp_path / "fw.db")
    fleet = profile(tmp_path / "fleet.yaml", workloads=WORKLOAD)
    _whole_story(db, fleet, capsys)
    first = run(["report", "briefing", "--db", db, "--fleet", str(fleet)], capsys)
    ledger = run(["ledger", "--db", db, "--fleet", str(fleet)], capsys)
    capacity_usd = ledger["capacity_gpu_hours_per_year"] * 2.5
    for section in first["summary"] + first["sections"]:
        for f in section["figures"]:
            if "usd" in f["key"] or f["key"].startswith(("losses.", "ask.recoverable")):
                assert f["value"] is None or f["value"] <= capacity_usd, f["key"]
    assert ledger["claims"]["gpu_hours_per_year"] <= ledger["capacity_gpu_hours_per_year"]
    store = Store(f"sqlite:///{db}")
    before = [(a.finding_kind, a.title) for a in store.actions()]
    decisions = len(store.decisions())
    store.close()
    _whole_story(db, fleet, capsys)  # make run again: supersedes, never adds
    again = run(["report", "briefing", "--db", db, "--fleet", str(fleet)], capsys)
    store = Store(f"sqlite:///{db}")
    after = [(a.finding_kind, a.title) for a in store.actions()]
    assert len(store.decisions()) == decisions
    store.close()
    # No action twice; every earlier one kept. The second benchmark run is a new
    # measurement of this (CPU, not fleet) host: a noisy case may add a finding, and so an
    # action, of its own, but only a benchmark one, with no fleet dollars.
    assert len(after) == len(set(after)) and set(before) <= set(after)
    assert all(kind.startswith("bench.") for kind, _ in set(after) - set(before))
    actions = len(before)
    figures = {
        f["key"]: f["value"] for s in first["summary"] + first["sections"] for f in s["figures"]
    }
    figures2 = {
        f["key"]: f["value"] for s in again["summary"] + again["sections"] for f in s["figures"]
    }
    for key in (
        "losses.total_usd_per_year",
        "losses.total_gpu_hours_per_year",
        "losses.people_usd_per_year",
        "ask.recoverable",
        "ask.plan_benefit",
        "ledger.productive_share",
    ):
        assert figures2[key] == pytest.approx(figures[key], rel=1e-9), key
    if set(after) == set(before):
        assert figures2["ask.plan_investment"] == pytest.approx(figures["ask.plan_investment"])
    assert actions >= 10 and decisions == 1


def _host_analysis(db: str) -> None:
    store = Store(f"sqlite:///{db}")
    finding = Finding(
        kind="bench.dataloader_workers",
        layer="storage",
        title="the data loader with 0 workers is 40% slower",
        share=0.08,
    )
    store.save_analysis("bench", "host:cpu-test-box", {"run_id": 0}, [finding], tags=["t"])
    store.close()


def test_a_cpu_host_finding_has_no_fleet_dollars_unless_the_profile_says(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "fw.db")
    quiet(["cluster", "import", str(HEAD800), "--epoch", "2026-06-01", "--db", db], capsys)
    _host_analysis(db)
    plain = profile(tmp_path / "plain.yaml")
    doc = run(["ledger", "--db", db, "--fleet", str(plain)], capsys)
    (claim,) = [c for c in doc["claims"]["items"] if c["kind"] == "bench.dataloader_workers"]
    assert claim["scope"] == "local" and claim["usd_per_year"] == 0
    assert claim["gpu_hours_per_year"] == 0 and "represents no fleet GPUs" in claim["note"]
    says = profile(
        tmp_path / "says.yaml",
        workloads='workloads:\n  - match: "host:cpu-test-box"\n    represents: {gpus: 8}\n',
    )
    doc = run(["ledger", "--db", db, "--fleet", str(says)], capsys)
    (claim,) = [c for c in doc["claims"]["items"] if c["kind"] == "bench.dataloader_workers"]
    assert claim["scope"] == "workload" and claim["usd_per_year"] > 0
    # bounded by the 8 GPUs' share of the ledger: at most 8% of 8 GPUs' year
    assert claim["gpu_hours_per_year"] <= 0.08 * 8 * 8760 * (1 + 1e-9)


def test_no_store_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ledger", "--db", str(tmp_path / "missing.db")]) == 2
    err = capsys.readouterr().err
    assert "missing.db" in err and "Traceback" not in err
    assert not (tmp_path / "missing.db").exists()
    assert main(["ledger", "--db", str(tmp_path / "no" / "such" / "x.db")]) == 2


def test_ledger_period_and_by(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "fw.db")
    quiet(["cluster", "import", str(HEAD800), "--epoch", "2026-06-01", "--db", db], capsys)
    fleet = profile(tmp_path / "fleet.yaml")
    doc = run(["ledger", "--db", db, "--fleet", str(fleet), "--by", "month"], capsys)
    assert len(doc["rows"]) >= 5
    total = math.fsum(r["capacity_gpu_hours"] for r in doc["rows"])
    assert total == pytest.approx(doc["capacity_gpu_hours"], rel=1e-9)
    june = run(["ledger", "--db", db, "--fleet", str(fleet), "--period", "2026-06"], capsys)
    assert june["capacity_gpu_hours"] == pytest.approx(64 * 30 * 24)
    start = datetime.fromisoformat(june["period"]["start"])
    assert start == datetime(2026, 6, 1, tzinfo=UTC)
    team = run(["ledger", "--db", db, "--fleet", str(fleet), "--by", "team"], capsys)
    assert {r["name"] for r in team["rows"]} >= {"(fleet)"}
    assert main(["ledger", "--db", db, "--period", "2026-13"]) == 2
    assert main(["ledger", "--db", db, "--by", "colour"]) == 2


def test_dashboard_and_briefing_show_the_same_totals(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "fw.db")
    fleet = profile(tmp_path / "fleet.yaml", workloads=WORKLOAD)
    _story_inputs(db, fleet, capsys)
    doc = run(["report", "briefing", "--db", db, "--fleet", str(fleet)], capsys)
    figures = {f["key"]: f["value"] for s in doc["summary"] + doc["sections"] for f in s["figures"]}
    headline = next(s for s in doc["summary"] if s["key"] == "headline")["paragraphs"][0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

        from fleetwise.present.web import create_app
        from fleetwise.usecases.fleet import profile_for

        client = TestClient(create_app(f"sqlite:///{db}", profile=profile_for(fleet)))
        overview = client.get("/overview.json").json()
        ledger = client.get("/ledger.json").json()
    assert overview["ledger"]["headline"] == headline == ledger["headline"]
    assert overview["plan"]["savings_usd_per_year"] == pytest.approx(figures["ask.recoverable"])
    assert overview["ledger"]["capacity_gpu_hours_per_year"] == pytest.approx(
        figures["ledger.capacity_gpu_hours_per_year"]
    )
    assert overview["ledger"]["productive_share"] == pytest.approx(
        figures["ledger.productive_share"]
    )
    assert overview["ledger"]["claims_usd_per_year"] == pytest.approx(
        figures["losses.total_usd_per_year"]
    )
    assert ledger["claims_usd_per_year"] == pytest.approx(figures["losses.total_usd_per_year"])
