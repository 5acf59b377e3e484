"""End to end through the CLI: a real suite in worker processes into a real SQLite file."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fleetwise.present.cli import main
from fleetwise.store import Store

SUITES = Path(__file__).parents[1] / "data" / "suites"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fleetwise", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "COLUMNS": "200"},
    )


def test_run_show_list_export(tmp_path: Path) -> None:
    db = str(tmp_path / "e2e.db")
    done = cli("bench", "run", str(SUITES / "tiny.yaml"), "--db", db, "--tag", "e2e")
    assert done.returncode == 0, done.stderr
    assert "run 1: tiny (completed)" in done.stdout
    assert (
        "orchestration.spawn" in done.stdout and "latency" in done.stdout and " ms" in done.stdout
    )

    shown = json.loads(cli("bench", "show", "1", "--db", db, "--json").stdout)
    assert shown["schema_version"] == 1
    assert shown["run"]["status"] == "completed" and shown["run"]["tags"] == ["e2e"]
    results = shown["results"]
    assert len(results) == 2
    for r in results:
        assert r["status"] == "ok" and len(r["samples"]) == 3
        s = r["summary"]
        assert s["ci_low"] <= s["median"] <= s["ci_high"] and s["median"] > 0
    assert shown["environments"][0]["data"]["cpu"]["cores"] >= 1

    listed = json.loads(cli("bench", "list", "--db", db, "--json").stdout)
    assert [r["id"] for r in listed["runs"]] == [1]

    exported = cli("bench", "export", "1", "--db", db, "--format", "csv").stdout
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert {r["metric"] for r in rows} == {"latency"}
    assert all(len(r["samples"].split()) == 3 for r in rows)
    out = tmp_path / "run.json"
    assert cli("bench", "export", "1", "--db", db, "-o", str(out)).returncode == 0
    assert json.loads(out.read_text())["results"] == results


@pytest.mark.parametrize(
    "suite", ["typo_key.yaml", "typo_param.yaml", "unknown_benchmark.yaml", "broken_yaml.yaml"]
)
def test_bad_suite_exits_2_with_one_line_and_keeps_the_store(tmp_path: Path, suite: str) -> None:
    db = tmp_path / "keep.db"
    assert cli("bench", "run", str(SUITES / "tiny.yaml"), "--db", str(db)).returncode == 0
    before = _dump(db)
    bad = cli("bench", "run", str(SUITES / suite), "--db", str(db))
    assert bad.returncode == 2
    lines = bad.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("fleetwise: error: ") and suite in lines[0]
    assert bad.stdout == ""
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM results").fetchone()[0] == 2
    assert _dump(db) == before  # every row as it was (WAL or not)


def _dump(db: Path) -> list[str]:
    """The store's whole content as SQL (its bytes differ with a WAL file beside it)."""
    conn = sqlite3.connect(db)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def test_unknown_run_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "x.db")
    assert main(["bench", "show", "7", "--db", db]) == 2
    assert "no store there" in capsys.readouterr().err  # reading needs a store
    Store(f"sqlite:///{db}").close()
    assert main(["bench", "show", "7", "--db", db]) == 2
    assert "no run 7" in capsys.readouterr().err


def _wait_for_results(db: Path, count: int, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if db.exists():
            try:
                with sqlite3.connect(db, timeout=1) as conn:
                    n = conn.execute("SELECT count(*) FROM results").fetchone()[0]
                if n >= count:
                    return
            except sqlite3.OperationalError:
                pass  # schema not created yet
        time.sleep(0.1)
    raise AssertionError(f"fewer than {count} results after {timeout} s")


def _workers_of(db: Path) -> list[int]:
    """Worker processes whose case files live under this test's work folder."""
    import psutil

    found = []
    for proc in psutil.process_iter(["cmdline", "environ"]):
        cmd = " ".join(proc.info["cmdline"] or [])
        if "fleetwise.collect.worker" in cmd and str(db.parent) in str(proc.info["environ"]):
            found.append(proc.pid)
    return found


def _start_run(db: Path, suite: Path = SUITES / "slow.yaml") -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fleetwise",
            "bench",
            "run",
            str(suite),
            "--db",
            str(db),
            "--no-progress",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_sigkill_mid_run_leaves_store_intact_and_resumable(tmp_path: Path) -> None:
    db = tmp_path / "killed.db"
    proc = _start_run(db)
    _wait_for_results(db, 2)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        kept = conn.execute("SELECT count(*) FROM results").fetchone()[0]
        assert 2 <= kept < 6
        assert conn.execute("SELECT status FROM runs").fetchone()[0] == "running"
    # The case in flight dies with the runner (PR_SET_PDEATHSIG): nothing keeps measuring.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _workers_of(db):
        time.sleep(0.1)
    assert _workers_of(db) == []
    listed = json.loads(cli("bench", "list", "--db", str(db), "--json").stdout)
    assert listed["runs"][0]["status"] == "interrupted"
    resumed = cli("bench", "run", "--resume", "1", "--db", str(db))
    assert resumed.returncode == 0, resumed.stderr
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT status FROM runs").fetchone()[0] == "completed"
        keys = conn.execute("SELECT case_key FROM results ORDER BY case_index").fetchall()
    assert len(keys) == 6 and len(set(keys)) == 6  # every case once: none lost, none twice
    again = cli("bench", "run", "--resume", "1", "--db", str(db))
    assert again.returncode == 2 and "already completed" in again.stderr


def test_ctrl_c_marks_interrupted_and_keeps_results(tmp_path: Path) -> None:
    db = tmp_path / "sigint.db"
    # Twenty one-second cases: on a loaded machine the signal still lands mid-run.
    long_suite = tmp_path / "long.yaml"
    long_suite.write_text(
        (SUITES / "slow.yaml")
        .read_text()
        .replace("spawns: [11, 12, 13, 14, 15, 16]", f"spawns: {list(range(11, 31))}")
    )
    proc = _start_run(db, long_suite)
    _wait_for_results(db, 1)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "Resume with: fleetwise bench run --resume 1" in err
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT status FROM runs").fetchone()[0] == "interrupted"
        assert conn.execute("SELECT count(*) FROM results").fetchone()[0] >= 1
    # No benchmark process of this run outlives it.
    deadline = time.monotonic() + 10
    while _workers_of(db) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _workers_of(db) == []


def test_verify_reruns_and_judges_every_result(tmp_path: Path) -> None:
    db = str(tmp_path / "verify.db")
    assert cli("bench", "run", str(SUITES / "tiny.yaml"), "--db", db).returncode == 0
    done = cli("bench", "verify", "1", "--db", db, "--json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["run"] == 1 and doc["rerun"] == 2
    assert len(doc["verdicts"]) == 2
    for v in doc["verdicts"]:
        lo, hi = v["original_ci"]
        assert v["reproduced"] == (lo <= v["rerun_median"] <= hi)
        assert v["reason"] in {"within the original CI", "outside the original CI"}
    runs = json.loads(cli("bench", "list", "--db", db, "--json").stdout)["runs"]
    assert runs[0]["tags"] == ["verify:1"]


def test_timed_out_and_failing_cases_are_stored_and_the_suite_goes_on(tmp_path: Path) -> None:
    db = str(tmp_path / "failing.db")
    done = cli("bench", "run", str(SUITES / "failing.yaml"), "--db", db)
    assert done.returncode == 0, done.stderr
    results = json.loads(cli("bench", "show", "1", "--db", db, "--json").stdout)["results"]
    by_case = {r["case_index"]: r for r in results}
    assert by_case[0]["status"] == "timeout" and "timed out after 2 s" in by_case[0]["error"]
    assert by_case[1]["status"] in {"failed", "skipped"} and by_case[1]["error"]
    assert by_case[2]["status"] == "ok" and by_case[2]["summary"]["n"] == 3
    assert "timeout" in done.stdout and "timed out after 2 s" in done.stdout


def test_env_json_is_the_fingerprint() -> None:
    done = cli("env", "--json")
    assert done.returncode == 0, done.stderr
    fp = json.loads(done.stdout)
    assert fp["cpu"]["cores"] >= 1 and fp["memory"]["total_bytes"] > 0
    assert {"os", "python", "libraries", "env", "git", "load"} <= set(fp)
    assert len(fp["fingerprint_hash"]) == 64
    assert "steal_pct" in fp["load"] and "loadavg_1m" in fp["load"]


@pytest.mark.parametrize(
    "argv", [["bench", "show"], ["bench", "show", "x"], ["bench", "nope"], ["--nope"]]
)
def test_usage_errors_exit_2_without_traceback(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    # A missing argument or an unknown command keeps Typer's usage panel; a bad value is
    # one line naming the argument.
    assert "Traceback" not in err
    assert "Usage" in err or "No such" in err or err.startswith("fleetwise: error: RUN: ")
