"""Crash safety: SIGKILL at random moments, and a full disk (read-only: tests/unit/test_store.py).

Ten seeded trials kill ``fleetwise bench run`` at a random moment between its start and
its end - while Python starts, while the store is created and migrated, between cases,
in the middle of a commit. After each kill the SQLite file passes its integrity check,
the next fleetwise process marks the run ``interrupted``, and ``--resume`` completes it
with every case stored exactly once.
"""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import event

from fleetwise.collect.runner import resume
from fleetwise.errors import StoreError
from fleetwise.models import ResultRecord
from fleetwise.stats import summarize
from fleetwise.store import Store

SUITE = """\
name: crash
defaults: {warmup: 0, repeat: 2, min_sample_time: 0.02, timeout: 60, processes: 1}
cases:
  - benchmark: orchestration.spawn
    matrix:
      spawns: [3, 4, 5]
"""
CASES = 3
TRIALS = 10


def _fleetwise(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fleetwise", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _run_window(suite: Path, tmp_path: Path) -> tuple[float, float]:
    """(seconds until the run's row exists, seconds until the process ends) of one run."""
    db = tmp_path / "t.db"
    start = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "fleetwise", "bench", "run", str(suite), "--db", str(db)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    created = None
    while proc.poll() is None:
        if created is None and db.exists():
            try:
                with sqlite3.connect(db, timeout=1) as conn:
                    if conn.execute("SELECT count(*) FROM runs").fetchone()[0]:
                        created = time.monotonic() - start
            except sqlite3.OperationalError:
                pass  # schema not there yet
        time.sleep(0.02)
    assert proc.returncode == 0
    length = time.monotonic() - start
    return (created if created is not None else 0.0), length


@pytest.mark.slow
def test_sigkill_at_random_moments_never_loses_or_duplicates(tmp_path: Path) -> None:
    suite = tmp_path / "crash.yaml"
    suite.write_text(SUITE)
    created, length = _run_window(suite, tmp_path)
    rng = random.Random(20261130)
    outcomes = []
    for trial in range(TRIALS):
        db = tmp_path / f"trial{trial}.db"
        # Even trials: any moment of the process's life (start-up, schema, cases, commits);
        # odd ones: a moment while its run exists, so that a loaded machine, whose start-up
        # takes most of the time, still kills runs in the middle.
        # (the first half of the run's life: the cases themselves are short).
        delay = (
            rng.uniform(0.0, length)
            if trial % 2 == 0
            else rng.uniform(created, (created + length) / 2)
        )
        proc = subprocess.Popen(
            [sys.executable, "-m", "fleetwise", "bench", "run", str(suite), "--db", str(db)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        if db.exists():
            with sqlite3.connect(db) as conn:
                assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        # The next process to open the store (here this one, through the same code as the
        # CLI) creates or finishes its schema if the kill came first, and marks the dead
        # run interrupted.
        store = Store(f"sqlite:///{db}")
        store.recover_stale_runs()
        runs = [(r.id, r.status.value) for r in store.list_runs()]
        if not runs:
            outcomes.append("before the run existed")
            store.close()
            continue
        ((run_id, status),) = runs
        if status == "completed":
            outcomes.append("after the run completed")
            store.close()
            continue
        assert status == "interrupted", (trial, delay, status)
        resume(store, run_id, workdir=tmp_path / "work")
        store.close()
        with sqlite3.connect(db) as conn:
            assert conn.execute("SELECT status FROM runs").fetchone()[0] == "completed"
            keys = [k for (k,) in conn.execute("SELECT case_key FROM results")]
        assert len(keys) == CASES and len(set(keys)) == CASES, (trial, delay, keys)
        outcomes.append("mid-run, resumed")
    # The seeded delays do land inside runs: the test is not vacuous.
    assert outcomes.count("mid-run, resumed") >= 3, outcomes


def _record(i: int, n_samples: int) -> ResultRecord:
    samples = [1.0 + (i * 7919 + k) % 97 / 1000 for k in range(n_samples)]
    return ResultRecord(
        case_key=f"case-{i}",
        case_index=i,
        benchmark="compute.gemm",
        layer="compute",
        params={"size": 64},
        metric="tflops",
        unit="TFLOP/s",
        direction="higher",
        samples=samples,
        summary=summarize(samples),
    )


def test_a_full_disk_is_a_clear_error_and_earlier_results_survive(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'full.db'}"
    store = Store(url)
    run = store.create_run("quick", {})
    store.add_results(run.id, [_record(0, 10)])
    with store.engine.connect() as conn:
        pages = int(conn.exec_driver_sql("PRAGMA page_count").scalar() or 0)
    store.engine.dispose()

    # SQLite's own limit on the file size: the same SQLITE_FULL a full disk gives.
    @event.listens_for(store.engine, "connect")
    def _cap(dbapi_conn: sqlite3.Connection, _record: object) -> None:
        dbapi_conn.execute(f"PRAGMA max_page_count={pages + 1}")

    with pytest.raises(StoreError, match="full") as err:
        store.add_results(run.id, [_record(i, 20_000) for i in range(1, 4)])
    assert len(str(err.value)) < 300, "one line, not a dump of the SQL and its parameters"
    store.close()
    again = Store(url)
    (kept,) = again.results(run.id)
    assert kept.case_key == "case-0" and kept.samples == _record(0, 10).samples
    again.close()
