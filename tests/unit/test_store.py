"""The store facade on SQLite: migrations, round trips, run life cycle."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import text

from fleetwise.errors import InputError, StoreError
from fleetwise.models import Peak, ResultRecord, ResultStatus, RunStatus, Summary
from fleetwise.store import Store


def _result(metric: str = "tflops", status: ResultStatus = ResultStatus.OK) -> ResultRecord:
    ok = status is ResultStatus.OK
    return ResultRecord(
        case_key="000-abc",
        case_index=0,
        benchmark="compute.gemm",
        layer="compute",
        params={"size": 512, "dtype": "fp32"},
        metric=metric,
        unit="TFLOP/s",
        direction="higher",
        status=status,
        error=None if ok else "boom",
        samples=[1.0, 1.1, 0.9] if ok else [],
        summary=Summary(
            n=3,
            median=1.0,
            mean=1.0,
            stdev=0.1,
            iqr=0.1,
            ci_low=0.9,
            ci_high=1.1,
            cv=0.1,
            min=0.9,
            max=1.1,
        )
        if ok
        else None,
        peak=Peak(value=10.0, unit="TFLOP/s", source="test", estimated=True) if ok else None,
        efficiency=0.1 if ok else None,
        warnings=["w"] if ok else [],
        started_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


def test_store_is_migrated_and_sqlite_is_wal(store: Store, db_url: str) -> None:
    with store.engine.connect() as conn:
        if store.engine.dialect.name == "sqlite":
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        head = ScriptDirectory.from_config(store._alembic_config()).get_current_head()
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == head
    Store(db_url).close()  # opening again is a no-op migration


def test_results_round_trip(store: Store) -> None:
    env = store.save_environment({"host": "h", "cpu": {"model": "x", "cores": 2}}, "f" * 64)
    assert store.save_environment({"host": "h"}, "f" * 64) == env  # one row per hash
    run = store.create_run(
        "quick", {"cases": []}, tags=["baseline", "baseline"], environment_id=env
    )
    assert run.status is RunStatus.RUNNING and run.tags == ["baseline"]
    rec = _result()
    store.add_results(run.id, [rec, _result("other", ResultStatus.FAILED)])
    got = store.results(run.id)
    assert got[0].model_dump(exclude={"id", "run_id"}) == rec.model_dump(exclude={"id", "run_id"})
    assert got[1].status is ResultStatus.FAILED and got[1].error == "boom"
    assert store.done_case_keys(run.id) == {"000-abc"}
    store.set_run_status(run.id, RunStatus.COMPLETED, end_state={"loadavg_1m": 0.5})
    done = store.get_run(run.id)
    assert done.status is RunStatus.COMPLETED and done.finished_at is not None
    assert [r.id for r in store.list_runs(tag="baseline")] == [run.id]
    assert store.list_runs(tag="nope") == []


def test_unknown_run_is_input_error(store: Store) -> None:
    with pytest.raises(InputError, match="no run 42"):
        store.get_run(42)


def test_dead_process_runs_become_interrupted(store: Store) -> None:
    run = store.create_run("quick", {})
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE runs SET pid = :p WHERE id = :i"), {"p": proc.pid, "i": run.id})
    assert store.recover_stale_runs() == [run.id]
    assert store.get_run(run.id).status is RunStatus.INTERRUPTED
    live = store.create_run("quick", {})  # this process: alive, so left alone
    assert store.recover_stale_runs() == []
    assert store.get_run(live.id).status is RunStatus.RUNNING


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    Store(f"sqlite:///{path}").close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(StoreError, match="newer than this fleetwise knows; upgrade fleetwise"):
        Store(f"sqlite:///{path}")


def test_bad_locations_are_clear(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is a directory"):
        Store(f"sqlite:///{tmp_path}")
    with pytest.raises(InputError, match="not a database URL"):
        Store("::::")


def test_read_only_database_gives_store_error(tmp_path: Path) -> None:
    path = tmp_path / "ro.db"
    s = Store(f"sqlite:///{path}")
    run = s.create_run("quick", {})
    s.close()
    ro = Store(f"sqlite:///file:{path}?mode=ro&uri=true")
    with pytest.raises(StoreError):
        ro.create_run("quick", {})
    assert ro.get_run(run.id).suite == "quick"
    ro.close()


def test_migrations_match_the_schema(store: Store) -> None:
    # A model change without its Alembic migration shows up here as a non-empty diff.
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from fleetwise.store.schema import Base

    with store.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []


def test_unwritable_location_is_a_store_error() -> None:
    with pytest.raises(StoreError, match="cannot create its folder"):
        Store("sqlite:////proc/fleetwise/x.db")
