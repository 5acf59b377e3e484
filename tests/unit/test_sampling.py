"""Several worker processes per case: merging, adaptive stopping, and the stored record."""

from __future__ import annotations

import json
import math
import statistics
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fleetwise.collect import sampling
from fleetwise.collect.executors import local
from fleetwise.collect.runner import outcome_to_results
from fleetwise.collect.suite import Case, case_key, load_suite

SUITES = Path(__file__).parents[1] / "data" / "suites"


def _worker(values: list[float], loops: int = 10, status: str = "ok") -> dict[str, Any]:
    return {
        "benchmark": "orchestration.spawn",
        "status": status,
        "error": None if status == "ok" else "boom",
        "params": {"command": "true", "spawns": 3},
        "metrics": [{"name": "latency", "unit": "ms", "samples": values, "peak": None}],
        "calibration": {"loops": loops, "timer": "perf_counter"},
        "notes": ["same note"],
    }


def _case(**plan: Any) -> Case:
    params = {"command": "true", "spawns": 3}
    return Case(
        index=0,
        key=case_key(0, "orchestration.spawn", params),
        benchmark="orchestration.spawn",
        params=params,
        warmup=0,
        repeat=2,
        min_sample_time=0.01,
        timeout=60,
        **plan,
    )


def test_merge_keeps_raw_samples_and_one_median_per_process() -> None:
    merged = sampling.merge_outcomes(
        [_worker([1.0, 2.0, 3.0], 10), _worker([4.0, 6.0], 12)], "processes"
    )
    (m,) = merged["metrics"]
    assert m["samples"] == [1.0, 2.0, 3.0, 4.0, 6.0]
    assert m["process_medians"] == [2.0, 5.0]
    cal = merged["calibration"]
    assert cal["loops_per_process"] == [10, 12] and cal["samples_per_process"] == [3, 2]
    assert cal["processes"] == 2 and cal["stopped_by"] == "processes"
    assert merged["notes"] == ["same note"]


def test_a_failed_worker_fails_the_case_and_names_itself() -> None:
    merged = sampling.merge_outcomes([_worker([1.0]), _worker([], status="failed")], "processes")
    assert merged["status"] == "failed"
    assert merged["error"].startswith("worker 2 of 2: boom")


def _step(outcomes: list[dict[str, Any]], **kw: Any) -> str | None:
    plan: dict[str, Any] = {
        "processes": 3,
        "ci_target": 0.01,
        "max_processes": 10,
        "budget": None,
        "timeout": 100.0,
        "elapsed": 1.0,
        **kw,
    }
    return sampling.next_step(outcomes, **plan)


def test_fixed_plan_runs_exactly_processes_workers() -> None:
    assert _step([_worker([1.0])] * 2, ci_target=None) is None
    assert _step([_worker([1.0])] * 3, ci_target=None) == "processes"


def test_adaptive_stops_on_the_ci_the_budget_the_cap_or_the_timeout() -> None:
    steady = [_worker([100.0 + i * 0.01]) for i in range(3)]
    noisy = [_worker([v]) for v in (80.0, 100.0, 130.0)]
    assert _step(steady[:2]) is None, "fewer than three processes are never judged"
    assert _step(steady) == "ci"
    assert _step(noisy) is None
    assert _step(noisy, budget=1.2) == "budget"
    assert _step(noisy, max_processes=3) == "max_processes"
    assert _step(noisy, timeout=1.4) == "timeout"
    assert _step([*noisy[:2], _worker([], status="failed")]) == "processes"


def test_relative_half_width_shrinks_with_agreeing_processes() -> None:
    assert sampling.relative_half_width([1.0, 2.0]) == math.inf
    wide = sampling.relative_half_width([90.0, 100.0, 110.0, 95.0, 105.0])
    narrow = sampling.relative_half_width([99.0, 100.0, 101.0, 99.5, 100.5])
    assert 0 < narrow < wide


def test_summary_is_over_process_medians_and_they_are_stored() -> None:
    merged = sampling.merge_outcomes(
        [_worker([1.0, 1.1]), _worker([2.0, 2.2]), _worker([3.0, 3.3])], "ci"
    )
    (rec,) = outcome_to_results(
        _case(processes=3), merged, environment_id=None, started_at=datetime.now(UTC)
    )
    assert rec.summary is not None and rec.summary.n == 3
    assert rec.summary.median == statistics.median([1.05, 2.1, 3.15])
    assert rec.calibration["process_medians"] == [1.05, 2.1, 3.15]
    assert rec.calibration["stopped_by"] == "ci" and len(rec.samples) == 6
    assert any("only 3 processes" in w and "'processes'" in w for w in rec.warnings)


def test_one_worker_keeps_todays_record() -> None:
    (rec,) = outcome_to_results(
        _case(), _worker([1.0, 2.0, 3.0]), environment_id=None, started_at=datetime.now(UTC)
    )
    assert rec.summary is not None and rec.summary.n == 3
    assert "process_medians" not in rec.calibration and "stopped_by" not in rec.calibration


def test_suite_yaml_sets_the_plan_per_case_and_by_default(tmp_path: Path) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text(
        "name: plan\n"
        "defaults: {processes: 4, ci_target: 0.02, budget: 30}\n"
        "cases:\n"
        "  - benchmark: orchestration.spawn\n"
        "  - benchmark: orchestration.spawn\n"
        "    processes: 2\n"
        "    max_processes: 6\n"
    )
    first, second = load_suite(str(path)).cases
    assert (first.processes, first.ci_target, first.budget) == (4, 0.02, 30)
    assert (second.processes, second.max_processes) == (2, 6)
    plain = load_suite(str(SUITES / "tiny.yaml")).cases[0]
    assert plain.processes == 1 and not plain.adaptive


def test_local_executor_runs_separate_workers(tmp_path: Path) -> None:
    outcome = local.run_case(_case(processes=2), tmp_path / "work")
    assert outcome["status"] == "ok", outcome["error"]
    (m,) = outcome["metrics"]
    assert len(m["process_medians"]) == 2 and len(m["samples"]) == 4
    assert outcome["calibration"]["stopped_by"] == "processes"


def test_with_plan_overrides_every_case_within_the_suite_bounds() -> None:
    suite = load_suite(str(SUITES / "tiny.yaml"))
    planned = suite.with_plan(processes=3, ci_target=0.05)
    assert all(c.processes == 3 and c.ci_target == 0.05 for c in planned.cases)
    assert all(c.max_processes == suite.cases[0].max_processes for c in planned.cases)
    assert suite.with_plan() == suite


def test_bench_run_options_store_the_per_process_medians(tmp_path: Path) -> None:
    db = str(tmp_path / "plan.db")
    args = ["bench", "run", str(SUITES / "tiny.yaml"), "--db", db, "--no-progress"]
    plan = ["--processes", "3", "--ci-target", "0.5", "--max-processes", "4"]
    done = subprocess.run(
        [sys.executable, "-m", "fleetwise", *args, *plan, "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)["results"]
    for r in results:
        cal = r["calibration"]
        assert 3 <= cal["processes"] <= 4 and cal["stopped_by"] in {"ci", "max_processes"}
        assert len(cal["process_medians"]) == cal["processes"] == r["summary"]["n"]
