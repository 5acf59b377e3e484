"""``fleetwise process map`` and ``fleetwise kpi watch`` end to end: the example map, its
future state from KPIs and actions, the pipeline's map, bad map files (exit 2, one line,
nothing written), and a done action's gain watched, eroding, found once however often
it is watched, in the improvement report with its owner credited."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from fleetwise.present.cli import main
from fleetwise.store import Store
from fleetwise.usecases.ledger import current_analyses, current_findings

ROOT = Path(__file__).parents[2]
EXAMPLES = ROOT / "examples"
MAP = EXAMPLES / "process-map.yaml"
PIPELINE = ROOT / "tests" / "data" / "process" / "pipeline_runs.csv"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_example_map_stored_and_superseded(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db = str(tmp_path / "m.db")
    code, out, _ = run(capsys, "process", "map", "--from-yaml", str(MAP), "--db", db)
    assert code == 0
    assert "lead time 94.0 h (3.9 d), process time 15.2 h, flow efficiency 16.2%" in out
    assert "rolled %C&A 44.9%, constraint training-eval (longest wait)" in out
    code, out, _ = run(capsys, "process", "map", "--from-yaml", str(MAP), "--json", "--db", db)
    doc = json.loads(out)["map"]
    assert code == 0 and doc["effects"] == [] and doc["future"]["lead_time_hours"] == 94.0
    store = Store(f"sqlite:///{db}")
    maps = store.analyses(kind="process", tag="valuestream")
    assert len(maps) == 2 and len(current_analyses(maps)) == 1
    store.close()


def test_future_state_from_the_workshop_actions(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db = str(tmp_path / "f.db")
    assert run(capsys, "process", "map", "--from-yaml", str(MAP), "--db", db)[0] == 0
    assert run(capsys, "kpi", "add", str(EXAMPLES / "process-kpis.yaml"), "--db", db)[0] == 0
    code, _, err = run(capsys, "plan", "import", str(EXAMPLES / "process-actions.yaml"), "--db", db)
    assert code == 0, err
    code, out, _ = run(capsys, "process", "map", "--from-yaml", str(MAP), "--future", "--db", db)
    assert code == 0
    assert "future: lead time 61.0 h (2.5 d), process time 15.2 h, flow efficiency 24.9%" in out
    assert "rolled %C&A 51.6%, constraint canary" in out and "lead time saved: 33.0 h" in out
    # Approved on a schedule, the future state says when it is ready.
    for i in (1, 2, 3):
        assert run(capsys, "plan", "update", str(i), "--status", "approved", "--db", db)[0] == 0
    args = ("process", "map", "--from-yaml", str(MAP), "--json", "--today", "2026-12-07")
    code, out, _ = run(capsys, *args, "--db", db)
    doc = json.loads(out)["map"]
    assert code == 0 and doc["ready_by"] is not None
    assert date.fromisoformat(doc["ready_by"]) > date(2026, 12, 7)
    assert [e["figure"] for e in doc["effects"]] == [
        "wait_hours",
        "wait_hours",
        "complete_accurate",
    ]
    # The briefing's section shows the same figures, with the ladder chart.
    code, out, _ = run(capsys, "report", "briefing", "--json", "--db", db)
    section = next(s for s in json.loads(out)["sections"] if s["key"] == "value_stream")
    figures = {f["key"]: f["value"] for f in section["figures"]}
    assert figures["value_stream.current.lead_time_hours"] == doc["lead_time_hours"]
    assert figures["value_stream.future.lead_time_hours"] == doc["future"]["lead_time_hours"]
    assert figures["value_stream.future.flow_efficiency"] == doc["future"]["flow_efficiency"]
    assert [c["name"] for c in section["charts"]] == ["valuestream"]
    assert section["tables"][0]["rows"][2][0] == "training-eval (constraint)"


def test_map_of_the_stored_pipeline(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    db = str(tmp_path / "p.db")
    assert run(capsys, "process", "import", str(PIPELINE), "--db", db)[0] == 0
    code, out, _ = run(capsys, "process", "map", "--from-store", "--json", "--db", db)
    doc = json.loads(out)["map"]
    assert code == 0 and doc["source"] == "store:pipeline"
    assert doc["order"] == ["build", "unit-test", "integration-test", "deploy-staging"]
    assert doc["constraint"] == "integration-test"
    assert doc["steps"]["integration-test"]["complete_accurate"] < 1
    assert 0 < doc["flow_efficiency"] < 1


def test_map_without_data_or_with_both_sources(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db = tmp_path / "e.db"
    Store(f"sqlite:///{db}").close()
    code, out, err = run(capsys, "process", "map", "--db", str(db))
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "no pipeline stages in the store" in err
    code, _, err = run(capsys, "process", "map", "--from-yaml", str(MAP), "--from-store")
    assert code == 2 and "choose one" in err


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (
            "steps:\n  - {name: a, wait_hours: .nan, active_hours: 1, complete_accurate: 1}\n",
            ":2: steps.0.wait_hours:",
        ),
        (
            "steps:\n  - {name: a, wait_hours: 1, active_hours: -1, complete_accurate: 1}\n",
            ":2: steps.0.active_hours:",
        ),
        (
            "steps:\n  - {name: a, wait_hours: 1, active_hours: 1, complete_accurate: 1, pca: 3}\n",
            ":2: steps.0.pca: unknown key",
        ),
        ("steps: [\n", ""),
    ],
)
def test_bad_map_is_one_line_and_writes_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str, where: str
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    db = tmp_path / "never.db"
    code, out, err = run(capsys, "process", "map", "--from-yaml", str(bad), "--db", str(db))
    assert code == 2 and out == ""
    assert err.startswith(f"fleetwise: error: {bad}") and err.count("\n") == 1
    assert where in err
    assert not db.exists()


def _kpi_file(tmp_path: Path) -> Path:
    path = tmp_path / "kpis.yaml"
    # A time with its zone: a bare date as baseline_date is a naive datetime, which
    # kpi_state cannot compare with readings (reported to the lead, not fixed here).
    before = (datetime.now(UTC) - timedelta(days=200)).strftime("%Y-%m-%dT00:00:00Z")
    path.write_text(
        "kpis:\n"
        "  - name: review-wait\n"
        "    source: analysis:process:steps.code-review.wait_hours\n"
        "    unit: h\n    direction: lower\n"
        f"    baseline_value: 20\n    baseline_date: {before}\n"
        "    goal_value: 6\n    goal_date: 2027-12-31\n"
    )
    return path


def _map_with_review_wait(tmp_path: Path, hours: float) -> Path:
    path = tmp_path / "process-map.yaml"
    path.write_text(MAP.read_text().replace("wait_hours: 20 ", f"wait_hours: {hours} ", 1))
    return path


def test_a_done_action_gain_eroding_is_found_once(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db = str(tmp_path / "s.db")
    closed = (datetime.now(UTC) - timedelta(days=100)).date()
    actions = tmp_path / "actions.yaml"
    actions.write_text(
        "actions:\n"
        "  - title: Reviewer rotation\n    owner: Priya\n    status: done\n"
        f"    start: {closed - timedelta(days=10)}\n    end: {closed}\n"
        "    effects: [{kpi: review-wait, change: -0.6}]\n"
    )
    # No reading yet (the KPI has its stated baseline): nothing measured, nothing credited.
    assert run(capsys, "kpi", "add", str(_kpi_file(tmp_path)), "--db", db)[0] == 0
    assert run(capsys, "plan", "import", str(actions), "--db", db)[0] == 0
    code, out, _ = run(capsys, "kpi", "watch", "--db", db)
    assert code == 0 and "not measured" in out and "no gain measured yet" in out
    # Measured after closure (8 h, 12 h saved), then back to 17 h: 25% of the gain kept.
    for hours in (8, 17):
        mapped = _map_with_review_wait(tmp_path, hours)
        assert run(capsys, "process", "map", "--from-yaml", str(mapped), "--db", db)[0] == 0
    for _ in range(2):
        code, out, _ = run(capsys, "kpi", "watch", "--json", "--db", db)
        assert code == 0
    doc = json.loads(out)
    (w,) = doc["watches"]
    assert w["verdict"] == "eroding" and w["before"] == 20 and w["measured"] == 8
    assert w["latest"] == 17 and w["kept"] == pytest.approx(0.25)
    assert [c["state"] for c in w["checkpoints"]] == ["held", "held", "held"]
    assert doc["recognition"] == [{"owner": "Priya", "actions": [1], "kpis": ["review-wait"]}]
    assert [f["kind"] for f in doc["findings"]] == ["process.gain_eroding"]
    store = Store(f"sqlite:///{db}")
    eroding = [f for f in current_findings(store.analyses()) if f.kind == "process.gain_eroding"]
    assert len(eroding) == 1 and eroding[0].evidence[0].source == "action:1"
    assert len(store.analyses(kind="sustain")) == 3
    store.close()
    code, out, _ = run(capsys, "kpi", "watch", "--db", db)
    assert "held (100%)" in out and "eroding" in out and "Priya (#1)" in out
    code, out, _ = run(capsys, "report", "improvement", "--json", "--db", db)
    report = json.loads(out)
    keys = {s["key"]: s for s in report["sections"]}
    assert keys["sustainment"]["tables"][0]["rows"][0][-1] == "eroding"
    assert keys["recognition"]["items"][0]["title"].startswith("Priya: #1 Reviewer rotation")
