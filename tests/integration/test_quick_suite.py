"""The built-in quick suite, end to end, as `make run` runs it (acceptance of issue 2)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.slow
def test_quick_suite_covers_every_layer_with_ci_and_efficiency(tmp_path: Path) -> None:
    db = tmp_path / "quick.db"
    env = {**os.environ, "COLUMNS": "200"}
    run = subprocess.run(
        [sys.executable, "-m", "fleetwise", "bench", "run", "quick", "--db", str(db)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env=env,
    )
    assert run.returncode == 0, run.stderr
    shown = subprocess.run(
        [sys.executable, "-m", "fleetwise", "bench", "show", "1", "--db", str(db), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env=env,
    )
    doc = json.loads(shown.stdout)
    results = doc["results"]
    # The machine's tuning state goes with the run, judged with the same advice as `env`.
    from fleetwise.collect.system_state import machine_advice

    state = doc["run"]["config"]["system_state"]
    assert state["cpu"]["affinity"] and doc["machine_advice"] == machine_advice(state)
    assert "machine set-up" in run.stdout
    failed = [(r["benchmark"], r["error"]) for r in results if r["status"] != "ok"]
    assert not failed
    assert {r["layer"] for r in results} == {"compute", "storage", "orchestration", "network"}
    for r in results:
        s = r["summary"]
        assert r["unit"] and s["n"] >= 3 and s["ci_low"] <= s["median"] <= s["ci_high"]
    for bench in ("compute.gemm", "compute.membw"):
        effs = [r["efficiency"] for r in results if r["benchmark"] == bench]
        assert effs and all(e is not None and e > 0 for e in effs), bench
        assert all(r["peak"]["source"] for r in results if r["benchmark"] == bench)
    table = run.stdout
    for heading in ("median", "95% CI", "CV", "eff.", "warn"):
        assert heading in table
