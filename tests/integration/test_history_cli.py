"""``bench compare``, ``bench series``, ``bench history`` and ``regressions`` end to end."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from fleetwise.models import ResultRecord, RunStatus
from fleetwise.present.cli import main
from fleetwise.stats import summarize
from fleetwise.store import Store

DATA = Path(__file__).parents[1] / "data"


def fill(db: Path, medians: list[float], *, metric: str = "tflops", tag: str = "") -> None:
    """Runs of one gemm case whose medians are given (5 samples around each)."""
    store = Store(f"sqlite:///{db}")
    env = store.save_environment(
        {"host": "h", "cpu": {"model": "Test CPU", "cores": 2}, "libraries": {"torch": "2.13.0"}},
        "e" * 64,
    )
    rng = np.random.default_rng(0)
    for m in medians:
        run = store.create_run(
            "quick", {"cases": []}, tags=[tag] if tag else [], environment_id=env
        )
        samples = list(m * (1 + rng.normal(0, 0.002, 5)))
        store.add_results(
            run.id,
            [
                ResultRecord(
                    case_key="000-a",
                    case_index=0,
                    benchmark="compute.gemm",
                    layer="compute",
                    params={"size": 256, "dtype": "fp32", "device": "cpu"},
                    metric=metric,
                    unit="TFLOP/s",
                    direction="higher",
                    samples=samples,
                    summary=summarize(samples),
                    environment_id=env,
                    started_at=datetime(2026, 1, 1, tzinfo=UTC),
                )
            ],
        )
        store.set_run_status(run.id, RunStatus.COMPLETED)
    store.close()


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_compare_by_tag_and_single_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "c.db"
    fill(db, [1.00, 1.01, 0.99, 1.00, 1.02], tag="base")
    fill(db, [0.80, 0.81, 0.79, 0.80, 0.80], tag="change")
    code, out, _ = run_cli(capsys, "bench", "compare", "base", "change", "--db", str(db), "--json")
    assert code == 0
    (row,) = json.loads(out)["comparisons"]
    assert row["verdict"] == "slower" and row["ci_high"] < 1.0 and row["a_runs"] == 5
    assert row["ratio"] == pytest.approx(0.8, rel=0.02)
    code, out, _ = run_cli(capsys, "bench", "compare", "1", "2", "--db", str(db), "--json")
    (single,) = json.loads(out)["comparisons"]
    assert single["verdict"] == "inconclusive" and single["history_runs"] == 8
    code, out, _ = run_cli(capsys, "bench", "compare", "1,2,3", "4,5", "--db", str(db), "--json")
    (same,) = json.loads(out)["comparisons"]
    assert same["verdict"] == "no significant change"
    code, out, _ = run_cli(capsys, "bench", "compare", "1", "2", "--db", str(db), "--no-history")
    assert code == 0 and "inconclusive" in out and "repeat each side" in out
    assert "+0.00" not in out  # no test, no effect size: g is left blank
    assert "1 results: 0 changed (0 faster, 0 slower), 0 unchanged, 1 inconclusive" in out
    assert "run each side at least 5 times, interleaved" in out
    assert "warning: every run of one side ran before every run of the other" in out
    code, out, _ = run_cli(capsys, "bench", "compare", "1", "2", "--db", str(db))
    assert "to reach a verdict on 1 inconclusive results: run each side" in out
    assert "80% power at the 5% level to detect" in out and "--tag A-TAG" in out
    code, out, _ = run_cli(capsys, "bench", "compare", "base", "change", "--db", str(db))
    assert "1 results: 1 changed (0 faster, 1 slower), 0 unchanged, 0 inconclusive" in out
    assert "warning: every run" in out and "to reach a verdict" not in out
    code, _, err = run_cli(capsys, "bench", "compare", "nope", "1", "--db", str(db))
    assert code == 2 and "'nope'" in err


def test_regressions_find_the_step_and_gate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "r.db"
    rng = np.random.default_rng(3)
    fill(db, list(100 + rng.normal(0, 1, 30)) + list(80 + rng.normal(0, 1, 30)))
    code, out, _ = run_cli(capsys, "regressions", "--db", str(db), "--json")
    assert code == 0
    (cp,) = json.loads(out)["change_points"]
    assert cp["index"] == 30 and cp["kind"] == "regression"
    assert cp["before"] == "run 30" and cp["after"] == "run 31"
    assert cp["change"] == pytest.approx(-0.2, abs=0.02)
    code, out, _ = run_cli(capsys, "regressions", "--db", str(db), "--fail-on", "regression")
    assert code == 3 and "regression" in out
    code, out, _ = run_cli(capsys, "regressions", "--db", str(db), "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["index"] for r in rows] == ["30"]
    later = (datetime.now(UTC) + timedelta(days=1)).isoformat(timespec="seconds")[:19]
    code, out, _ = run_cli(
        capsys, "regressions", "--db", str(db), "--since", later, "--fail-on", "any", "--json"
    )
    assert code == 0 and json.loads(out)["change_points"] == []


def test_series_and_history(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "h.db"
    fill(db, [1.0] * 12 + [2.0] * 12)
    code, out, _ = run_cli(capsys, "bench", "series", "--db", str(db), "--json")
    (s,) = json.loads(out)["series"]
    assert s["points"] == 24 and s["id"].startswith("compute.gemm:tflops:")
    code, out, _ = run_cli(capsys, "bench", "history", "compute.gemm", "--db", str(db), "--json")
    doc = json.loads(out)
    assert len(doc["points"]) == 24 and [c["index"] for c in doc["change_points"]] == [12]
    assert doc["change_points"][0]["kind"] == "improvement"
    code, out, _ = run_cli(capsys, "bench", "history", "compute.gemm", "--db", str(db))
    assert code == 0 and "improvement +100.0%" in out
    code, _, err = run_cli(capsys, "bench", "history", "nope", "--db", str(db))
    assert code == 2 and "fleetwise bench series" in err


def test_regressions_on_an_otava_csv(capsys: pytest.CaptureFixture[str]) -> None:
    sample = DATA / "changepoints" / "otava_samples" / "sample.csv"
    code, out, _ = run_cli(capsys, "regressions", "--csv", str(sample), "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["scanned"] == 2
    code, _, err = run_cli(capsys, "regressions", "--csv", str(sample), "--fail-on", "regression")
    assert code == 2 and "--direction" in err
