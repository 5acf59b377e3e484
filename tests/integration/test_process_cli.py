"""``fleetwise process`` end to end: import exports, analyse the store, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fleetwise.present.cli import main
from fleetwise.store import Store

DATA = Path(__file__).parents[1] / "data" / "process"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_fourkeys_import_then_dora_json(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    db = str(tmp_path / "f.db")
    code, out, _ = run(capsys, "process", "import", str(DATA / "fourkeys_sample"), "--db", db)
    assert code == 0 and "1386 added, 0 already stored" in out
    code, out, _ = run(capsys, "process", "import", str(DATA / "fourkeys_sample"), "--db", db)
    assert code == 0 and "0 added, 1386 already stored" in out
    code, out, _ = run(capsys, "process", "dora", "--definition", "fourkeys", "--json", "--db", db)
    assert code == 0
    doc = json.loads(out)
    keys = doc["dora"]["overall"]
    assert keys["definition"] == "fourkeys"
    assert round(keys["lead_time_hours"], 2) == 503.42
    assert round(keys["change_failure_rate"], 3) == 0.087
    assert keys["recovery_time_hours"] == 31
    assert keys["deploy_days_per_week"] == 4
    assert doc["dora"]["alternative"]["definition"] == "fleetwise"
    assert doc["dora"]["bands_year"] == 2024
    assert {f["kind"] for f in doc["findings"]} >= {"delivery.change_failure"}
    store = Store(f"sqlite:///{db}")
    stored = store.analyses(kind="process", tag="dora")
    assert len(stored) == 1 and stored[0].findings[0].cost is not None
    assert stored[0].findings[0].cost.gpu_hours_per_year == 0
    store.close()


def test_dora_table_and_filters(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    db = str(tmp_path / "f.db")
    assert run(capsys, "process", "import", str(DATA / "fourkeys_sample"), "--db", db)[0] == 0
    code, out, _ = run(capsys, "process", "dora", "--db", db)
    assert code == 0
    assert "DORA metrics (bands: DORA, Accelerate State of DevOps Report 2024)" in out
    assert "503.42 (medium)" in out and "per week (fleetwise)" in out
    code, _, err = run(capsys, "process", "dora", "--team", "nobody", "--db", db)
    assert code == 2 and "no deployments in the store for team 'nobody'" in err


def test_pipeline_and_oncall(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    db = str(tmp_path / "p.db")
    for name in ("pipeline_runs.csv", "pagerduty_incidents.json", "opsgenie_alerts.json"):
        assert run(capsys, "process", "import", str(DATA / name), "--db", db)[0] == 0
    code, out, _ = run(capsys, "process", "pipeline", "--json", "--db", db)
    assert code == 0
    doc = json.loads(out)["pipeline"]
    assert doc["pipelines"] == 40 and doc["bottleneck"] == "integration-test"
    assert doc["bottleneck_confirmed"] is True
    assert doc["flakiest"][0]["stage"] == "integration-test"
    code, out, _ = run(capsys, "process", "pipeline", "--db", db)
    assert code == 0 and "Little's law" in out and "flakiest: integration-test" in out
    code, out, _ = run(capsys, "process", "oncall", "--json", "--db", db, "--tz", "UTC")
    assert code == 0
    on = json.loads(out)
    assert on["oncall"]["pages"] == 10
    assert on["oncall"]["noisiest"][0]["title"] == "Checkpoint bucket latency p99 > 2s"
    assert any(f["kind"] == "on-call.noisy_alert" for f in on["findings"])
    code, out, _ = run(capsys, "process", "oncall", "--db", db)
    assert code == 0 and "noisiest alerts" in out


def test_malformed_export_exits_2_and_stores_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db = str(tmp_path / "m.db")
    bad = tmp_path / "runs.csv"
    bad.write_text(
        "pipeline_id,stage,queued,started,finished,result\n"
        "p1,build,2026-01-01T00:00:00Z,2026-01-01T00:01:00Z,2026-01-01T00:05:00Z,passed\n"
        "p1,test,2026-01-01T00:05:00Z,2026-01-01T00:06:00Z,later,passed\n"
    )
    code, _, err = run(capsys, "process", "import", str(bad), "--db", db)
    assert code == 2
    assert err.strip() == f"fleetwise: error: {bad}:3: column 'finished': not a time: 'later'"
    code, _, err = run(capsys, "process", "pipeline", "--db", db)
    # nothing was stored: not even an empty store was created
    assert code == 2 and "no store there" in err and not Path(db).exists()
    code, _, err = run(capsys, "process", "oncall", "--tz", "Mars/Olympus", "--db", db)
    assert code == 2 and "unknown time zone" in err
