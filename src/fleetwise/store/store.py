"""The one facade over the results store: SQLite by default, PostgreSQL by URL.

Transactions are short and a run's results are committed case by case, so a crash loses
at most the case in flight (STYLE.md, "SQLite done right"). Opening a store brings its
schema to the current Alembic revision and refuses a database written by a newer
fleetwise rather than guessing at its meaning.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from fleetwise.errors import InputError, StoreError
from fleetwise.models import (
    KPI,
    Action,
    ActionStatus,
    AnalysisRecord,
    Decision,
    EnvironmentRecord,
    Experiment,
    Finding,
    JobRecord,
    Peak,
    ProcessEvent,
    Removal,
    ResultRecord,
    Retrospective,
    RunRecord,
    RunStatus,
    Series,
    Summary,
)
from fleetwise.store import plan as plan_rows
from fleetwise.store import removal
from fleetwise.store.alignment import AlignmentStore
from fleetwise.store.columnar import NO_DATA_DIR, FleetData, data_dir_for
from fleetwise.store.columnar import connect as columnar_connect
from fleetwise.store.columnar_nodes import NodeStore
from fleetwise.store.findings import add_analysis, query_analyses
from fleetwise.store.jobs import drop_legacy_jobs, legacy_jobs
from fleetwise.store.people import PeopleStore
from fleetwise.store.process import add_events as add_process_events
from fleetwise.store.process import query_events as query_process_events
from fleetwise.store.schema import (
    EnvironmentRow,
    ProcessEventRow,
    ResultRow,
    RunRow,
    RunTagRow,
)
from fleetwise.store.series import all_series
from fleetwise.timeutil import as_utc

MIGRATIONS = Path(__file__).with_name("migrations")


def params_hash(params: dict[str, Any]) -> str:
    """Stable identity of a parameter set (key order does not matter)."""
    blob = json.dumps(params, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _database_says(exc: SQLAlchemyError) -> str:
    """What the database said, in one line: the driver's message without the SQL statement
    and its parameters (which can be megabytes of samples)."""
    orig = getattr(exc, "orig", None)
    text = str(orig) if orig is not None else str(exc)
    first = text.strip().splitlines()[0] if text.strip() else exc.__class__.__name__
    kind = orig.__class__.__name__ if orig is not None else exc.__class__.__name__
    hint = ""
    if "full" in first.lower():
        hint = " (the disk or the database's size limit is full; earlier results are intact)"
    elif "readonly" in first.lower() or "read-only" in first.lower():
        hint = " (the store is read-only; earlier results are intact)"
    return f"{kind}: {first[:200]}{hint}"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # WAL: readers never block the writer, and a killed writer leaves the file intact.
    cur.execute("PRAGMA journal_mode=WAL")
    # NORMAL is durable against a crashed process (the WAL survives); FULL would only add
    # protection against power loss at a large cost per commit.
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


class Store(PeopleStore, AlignmentStore, NodeStore):
    """Everything fleetwise keeps: environments, runs, results."""

    def __init__(self, url: str, data_dir: str | None = None) -> None:
        self.url = url
        self.engine = self._connect(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._migrate()
        #: Jobs live in columnar files beside the database (``store/columnar.py``).
        folder, temporary = data_dir_for(url, data_dir)
        self.fleet_data = FleetData(folder, temporary=temporary)
        self._legacy_jobs_checked = False

    # -- opening ---------------------------------------------------------------------------
    @staticmethod
    def _connect(url: str) -> Engine:
        try:
            parsed = make_url(url)
        except SQLAlchemyError as exc:
            raise InputError(f"not a database URL: {url!r}") from exc
        if parsed.get_backend_name() == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                path = Path(parsed.database)
                if path.is_dir():
                    raise InputError(f"{path}: is a directory, not a SQLite database file")
                try:
                    path.parent.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise StoreError(f"{path}: cannot create its folder: {exc.strerror}") from exc
            engine = create_engine(url)
            event.listen(engine, "connect", _sqlite_pragmas)
            return engine
        try:
            return create_engine(url, pool_pre_ping=True)
        except (SQLAlchemyError, ImportError) as exc:
            raise StoreError(
                f"cannot use database {parsed.render_as_string(hide_password=True)}: {exc}"
            ) from exc

    def _alembic_config(self) -> Config:
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        return cfg

    def _migrate(self) -> None:
        cfg = self._alembic_config()
        script = ScriptDirectory.from_config(cfg)
        head = script.get_current_head()
        try:
            with self.engine.begin() as conn:
                current = MigrationContext.configure(conn).get_current_revision()
                if current == head:
                    return
                if current is not None and current not in {
                    r.revision for r in script.walk_revisions()
                }:
                    raise StoreError(
                        f"{self.display_url}: database schema revision {current} is newer "
                        "than this fleetwise knows; upgrade fleetwise"
                    )
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
        except SQLAlchemyError as exc:
            raise StoreError(
                f"cannot open store {self.display_url}: {_database_says(exc)}"
            ) from exc

    @contextmanager
    def _session(self) -> Iterator[Session]:
        session = self._sessions()
        try:
            yield session
            session.commit()
        except SQLAlchemyError as exc:
            session.rollback()
            raise StoreError(f"store {self.display_url}: {_database_says(exc)}") from exc
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    @property
    def display_url(self) -> str:
        """The URL with any password masked, for messages."""
        return self.engine.url.render_as_string(hide_password=True)

    def close(self) -> None:
        self.engine.dispose()
        self.fleet_data.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- environments ----------------------------------------------------------------------
    def save_environment(self, fingerprint: dict[str, Any], fingerprint_hash: str) -> int:
        """Store a fingerprint once per hash; return its id."""
        cpu = fingerprint.get("cpu", {})
        gpus = fingerprint.get("gpus", [])
        row = EnvironmentRow(
            fingerprint_hash=fingerprint_hash,
            host=str(fingerprint.get("host", "")),
            cpu_model=str(cpu.get("model", "")),
            cpu_cores=int(cpu.get("cores", 0) or 0),
            memory_bytes=int(fingerprint.get("memory", {}).get("total_bytes", 0) or 0),
            gpu_model=str(gpus[0].get("name", "")) if gpus else "",
            gpu_count=len(gpus),
            data=fingerprint,
            created_at=datetime.now(UTC),
        )
        found = self._environment_id(fingerprint_hash)
        if found is not None:
            return found
        try:
            with self._session() as s:
                s.add(row)
                s.flush()
                return row.id
        except StoreError as exc:
            # Another writer stored the same fingerprint between our look-up and insert.
            if isinstance(exc.__cause__, IntegrityError):
                found = self._environment_id(fingerprint_hash)
                if found is not None:
                    return found
            raise

    def _environment_id(self, fingerprint_hash: str) -> int | None:
        with self._session() as s:
            stmt = select(EnvironmentRow.id).where(
                EnvironmentRow.fingerprint_hash == fingerprint_hash
            )
            return s.execute(stmt).scalar_one_or_none()

    def get_environment(self, env_id: int) -> EnvironmentRecord:
        with self._session() as s:
            row = s.get(EnvironmentRow, env_id)
            if row is None:
                raise InputError(f"no environment {env_id} in {self.display_url}")
            return EnvironmentRecord(
                id=row.id,
                fingerprint_hash=row.fingerprint_hash,
                host=row.host,
                data=row.data,
                created_at=row.created_at,
            )

    # -- runs ------------------------------------------------------------------------------
    def create_run(
        self,
        suite: str,
        config: dict[str, Any],
        *,
        tags: Sequence[str] = (),
        executor: str = "local",
        environment_id: int | None = None,
    ) -> RunRecord:
        with self._session() as s:
            row = RunRow(
                suite=suite,
                status=RunStatus.RUNNING.value,
                executor=executor,
                started_at=datetime.now(UTC),
                environment_id=environment_id,
                config=config,
                host=socket.gethostname(),
                pid=os.getpid(),
                end_state={},
            )
            row.tags = [RunTagRow(tag=t) for t in dict.fromkeys(tags)]
            s.add(row)
            s.flush()
            return _run_record(row)

    def get_run(self, run_id: int) -> RunRecord:
        with self._session() as s:
            row = s.get(RunRow, run_id)
            if row is None:
                raise InputError(f"no run {run_id} in {self.display_url}")
            return _run_record(row)

    def list_runs(
        self, *, limit: int = 20, tag: str | None = None, suite: str | None = None
    ) -> list[RunRecord]:
        with self._session() as s:
            stmt = select(RunRow).order_by(RunRow.id.desc()).limit(limit)
            if tag is not None:
                stmt = stmt.join(RunTagRow).where(RunTagRow.tag == tag)
            if suite is not None:
                stmt = stmt.where(RunRow.suite == suite)
            return [_run_record(r) for r in s.execute(stmt).scalars()]

    def run_hosts(self, run_ids: Sequence[int] | None = None) -> dict[str, list[int]]:
        """The hosts benchmark runs ran on, each with its run ids (of ``run_ids`` when
        given): one query on two columns, not a record per run."""
        with self._session() as s:
            stmt = select(RunRow.host, RunRow.id).order_by(RunRow.id)
            if run_ids is not None:
                stmt = stmt.where(RunRow.id.in_(list(run_ids)))
            out: dict[str, list[int]] = {}
            for host, run_id in s.execute(stmt):
                out.setdefault(host, []).append(run_id)
            return out

    def set_run_status(
        self,
        run_id: int,
        status: RunStatus,
        *,
        end_state: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> None:
        with self._session() as s:
            row = s.get(RunRow, run_id)
            if row is None:
                raise InputError(f"no run {run_id} in {self.display_url}")
            row.status = status.value
            if status is RunStatus.RUNNING:
                row.finished_at = None
                row.host = socket.gethostname()
                row.pid = os.getpid()
            else:
                row.finished_at = datetime.now(UTC)
            if end_state is not None:
                row.end_state = end_state
            if error is not None:
                row.error = error

    def recover_stale_runs(self) -> list[int]:
        """Mark ``running`` runs of this host whose process is gone as ``interrupted``.

        A run killed with SIGKILL cannot mark itself; the next fleetwise that opens the
        store on the same host does it. A live process with the same pid that started
        after the run did is pid reuse, not the run.
        """
        host = socket.gethostname()
        stale: list[int] = []
        with self._session() as s:
            stmt = select(RunRow).where(RunRow.status == RunStatus.RUNNING.value)
            for row in s.execute(stmt).scalars():
                if row.host != host or row.pid is None:
                    continue
                if not _process_alive_since(row.pid, row.started_at):
                    row.status = RunStatus.INTERRUPTED.value
                    row.error = row.error or "the process running it ended without finishing"
                    stale.append(row.id)
        return stale

    # -- results ---------------------------------------------------------------------------
    def add_results(self, run_id: int, records: Sequence[ResultRecord]) -> list[int]:
        """Commit one case's results in one transaction; return their ids."""
        with self._session() as s:
            rows = [_result_row(run_id, r) for r in records]
            s.add_all(rows)
            s.flush()
            return [r.id for r in rows]

    def results(self, run_id: int) -> list[ResultRecord]:
        with self._session() as s:
            stmt = (
                select(ResultRow)
                .where(ResultRow.run_id == run_id)
                .order_by(ResultRow.case_index, ResultRow.id)
            )
            return [_result_record(r) for r in s.execute(stmt).scalars()]

    def series(self, prefix: str | None = None) -> list[Series]:
        """Series whose id starts with ``prefix`` (all without one), points oldest first."""
        with self._session() as s:
            found = all_series(s)
        return [x for x in found if prefix is None or x.key.id.startswith(prefix)]

    # -- analyses and findings ------------------------------------------------------------
    def save_analysis(
        self,
        kind: str,
        source: str,
        summary: dict[str, Any],
        findings: Sequence[Finding],
        tags: Sequence[str] = (),
    ) -> int:
        """Store one diagnosis (summary document and findings) in one transaction."""
        with self._session() as s:
            return add_analysis(s, kind, source, summary, findings, tags)

    def analyses(self, kind: str | None = None, tag: str | None = None) -> list[AnalysisRecord]:
        """Stored analyses, oldest first, with their findings."""
        with self._session() as s:
            return query_analyses(s, kind, tag)

    def findings(self, kind: str | None = None, tag: str | None = None) -> list[Finding]:
        """Findings of every analysis of ``kind`` carrying ``tag`` (all without them)."""
        return [f for a in self.analyses(kind, tag) for f in a.findings]

    def remove_analysis(self, analysis_id: int, *, by: str, why: str = "") -> Removal:
        """Delete an analysis and its findings, unlink the actions that answered them
        (they stay) and log who removed it and why, in one transaction."""
        with self._session() as s:
            return removal.remove_analysis(s, analysis_id, by, why)

    def input_sources(self) -> dict[str, list[str]]:
        """The distinct sources of the imported jobs, nodes and process events (one query
        each, not a row per record): what the briefing's provenance box lists."""
        found = {"jobs": self.fleet_data.sources(), "nodes": self.node_sources()}
        with self._session() as s:
            process = s.execute(select(ProcessEventRow.source).distinct())
            return found | {"process": sorted(v for (v,) in process)}

    # -- cluster jobs ----------------------------------------------------------------------
    def add_jobs(self, records: Sequence[JobRecord], source: str) -> int:
        """Store a cluster log's jobs in one transaction; jobs already stored from the same
        ``source`` are skipped. Returns how many were added."""
        self._move_legacy_jobs()
        return self.fleet_data.add_records(records, source)

    def adopt_jobs(self, staged: Path, source: str) -> int:
        """Store the jobs an importer staged as Parquet (``store/columnar.py``), merged
        as :meth:`add_jobs` merges; returns how many were added."""
        self._move_legacy_jobs()
        con = columnar_connect()
        try:
            return self.fleet_data.adopt(staged, source, con)
        finally:
            con.close()

    def jobs_data(self) -> FleetData:
        """The columnar jobs, for set-based analyses (``FleetData.connect``)."""
        self._move_legacy_jobs()
        return self.fleet_data

    def _move_legacy_jobs(self) -> None:
        """Jobs a fleetwise before the columnar store kept in the database move to the
        columnar files once, source by source."""
        if self._legacy_jobs_checked:
            return
        with self._session() as s:
            found = legacy_jobs(s)
            if found and self.fleet_data.folder is None:
                raise StoreError(
                    f"{self.display_url} holds jobs an earlier fleetwise stored, to move to "
                    f"the columnar store: {NO_DATA_DIR}"
                )
            for source, records in found.items():
                self.fleet_data.add_records(records, source)
                drop_legacy_jobs(s, source)
        self._legacy_jobs_checked = True

    def jobs(
        self,
        source: str | None = None,
        team: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[JobRecord]:
        """Stored jobs, by submit time, optionally of one source or team and time range."""
        self._move_legacy_jobs()
        return self.fleet_data.records(source, team, since, until)

    # -- process events --------------------------------------------------------------------
    def add_process_events(self, events: Sequence[ProcessEvent]) -> tuple[int, int]:
        """Store delivery/on-call events in one transaction; those already stored (same
        kind, source and key) are skipped. Returns (added, skipped)."""
        with self._session() as s:
            return add_process_events(s, events)

    def process_events(
        self,
        kinds: Sequence[str] = (),
        *,
        team: str | None = None,
        service: str | None = None,
    ) -> list[ProcessEvent]:
        """Stored events of ``kinds`` (all without), by time, optionally of a team/service."""
        with self._session() as s:
            return query_process_events(s, kinds, team=team, service=service)

    # -- plan ------------------------------------------------------------------------------
    def add_actions(
        self, actions: Sequence[Action], local_deps: Sequence[Sequence[int]] = ()
    ) -> list[int]:
        """Store backlog actions in one transaction; ``local_deps[i]`` are indexes of
        ``actions`` that action i waits for (resolved to the new ids). Returns the ids."""
        with self._session() as s:
            return plan_rows.add_actions(s, actions, local_deps)

    def actions(self, status: str | None = None) -> list[Action]:
        """Backlog actions by id, optionally of one status."""
        with self._session() as s:
            return plan_rows.query_actions(s, status)

    def get_action(self, action_id: int) -> Action:
        with self._session() as s:
            return plan_rows.get_action(s, action_id)

    def update_action(self, action: Action) -> None:
        """Replace a stored action's fields with ``action``'s (same id)."""
        with self._session() as s:
            plan_rows.update_action(s, action)

    def remove_action(self, action_id: int, *, by: str, why: str = "") -> Removal:
        """Delete an action (actions waiting for it stop waiting; its decisions and
        experiments stay, unlinked) and log who removed it and why, in one transaction."""
        with self._session() as s:
            return removal.remove_action(s, action_id, by, why)

    def add_kpi(self, kpi: KPI) -> int:
        with self._session() as s:
            return plan_rows.add_kpi(s, kpi)

    def kpis(self) -> list[KPI]:
        with self._session() as s:
            return plan_rows.query_kpis(s)

    def remove_kpi(self, name: str, *, by: str, why: str = "") -> Removal:
        """Delete a KPI (actions lose their expected effect on it) and log who removed it
        and why, in one transaction."""
        with self._session() as s:
            return removal.remove_kpi(s, name, by, why)

    def save_experiment(self, experiment: Experiment) -> int:
        """Insert an experiment (no id) or update the stored one; returns its id."""
        with self._session() as s:
            return plan_rows.save_experiment(s, experiment)

    def experiments(self, action_id: int | None = None) -> list[Experiment]:
        with self._session() as s:
            return plan_rows.query_experiments(s, action_id)

    def get_experiment(self, experiment_id: int) -> Experiment:
        with self._session() as s:
            return plan_rows.get_experiment(s, experiment_id)

    def record_decision(self, decision: Decision, new_status: ActionStatus) -> int:
        """Log a decision and set its action's status in one transaction."""
        with self._session() as s:
            return plan_rows.add_decision(s, decision, new_status)

    def decisions(self, action_id: int | None = None) -> list[Decision]:
        with self._session() as s:
            return plan_rows.query_decisions(s, action_id)

    def add_retrospective(
        self,
        retro: Retrospective,
        actions: Sequence[Action] = (),
        local_deps: Sequence[Sequence[int]] = (),
    ) -> int:
        """Store a retrospective and the backlog actions it created in one transaction."""
        with self._session() as s:
            return plan_rows.add_retrospective(s, retro, actions, local_deps)

    def retrospectives(self, team: str | None = None) -> list[Retrospective]:
        with self._session() as s:
            return plan_rows.query_retrospectives(s, team)

    def done_case_keys(self, run_id: int) -> set[str]:
        """Case keys of ``run_id`` that already have results (any status)."""
        with self._session() as s:
            stmt = select(ResultRow.case_key).where(ResultRow.run_id == run_id).distinct()
            return set(s.execute(stmt).scalars())


def _process_alive_since(pid: int, started_at: datetime) -> bool:
    try:
        proc = psutil.Process(pid)
        created = datetime.fromtimestamp(proc.create_time(), UTC)
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return False
    if proc.status() == psutil.STATUS_ZOMBIE:
        return False
    started = started_at if started_at.tzinfo else started_at.replace(tzinfo=UTC)
    return created <= started


def _run_record(row: RunRow) -> RunRecord:
    return RunRecord(
        id=row.id,
        suite=row.suite,
        status=RunStatus(row.status),
        executor=row.executor,
        started_at=as_utc(row.started_at) or datetime.now(UTC),
        finished_at=as_utc(row.finished_at),
        environment_id=row.environment_id,
        tags=sorted(t.tag for t in row.tags),
        config=row.config,
        host=row.host,
        pid=row.pid,
        end_state=row.end_state or {},
        error=row.error,
    )


def _result_row(run_id: int, r: ResultRecord) -> ResultRow:
    sm = r.summary
    return ResultRow(
        run_id=run_id,
        case_key=r.case_key,
        case_index=r.case_index,
        benchmark=r.benchmark,
        layer=r.layer,
        params=r.params,
        params_hash=params_hash(r.params),
        metric=r.metric,
        unit=r.unit,
        direction=r.direction,
        status=r.status.value,
        error=r.error,
        samples=list(r.samples),
        n=sm.n if sm else None,
        median=sm.median if sm else None,
        mean=sm.mean if sm else None,
        stdev=sm.stdev if sm else None,
        iqr=sm.iqr if sm else None,
        ci_low=sm.ci_low if sm else None,
        ci_high=sm.ci_high if sm else None,
        cv=sm.cv if sm else None,
        min=sm.min if sm else None,
        max=sm.max if sm else None,
        peak=r.peak.model_dump() if r.peak else None,
        efficiency=r.efficiency,
        warnings=list(r.warnings),
        calibration=dict(r.calibration),
        environment_id=r.environment_id,
        started_at=r.started_at,
        finished_at=r.finished_at,
    )


def _result_record(row: ResultRow) -> ResultRecord:
    summary = None
    if row.n is not None and row.median is not None:
        summary = Summary(
            n=row.n,
            median=row.median,
            mean=row.mean or 0.0,
            stdev=row.stdev or 0.0,
            iqr=row.iqr or 0.0,
            ci_low=row.ci_low if row.ci_low is not None else row.median,
            ci_high=row.ci_high if row.ci_high is not None else row.median,
            cv=row.cv or 0.0,
            min=row.min if row.min is not None else row.median,
            max=row.max if row.max is not None else row.median,
        )
    return ResultRecord(
        id=row.id,
        run_id=row.run_id,
        case_key=row.case_key,
        case_index=row.case_index,
        benchmark=row.benchmark,
        layer=row.layer,
        params=row.params,
        metric=row.metric,
        unit=row.unit,
        direction=row.direction,  # type: ignore[arg-type]
        status=row.status,  # type: ignore[arg-type]
        error=row.error,
        samples=row.samples,
        summary=summary,
        peak=Peak.model_validate(row.peak) if row.peak else None,
        efficiency=row.efficiency,
        warnings=row.warnings or [],
        calibration=row.calibration or {},
        environment_id=row.environment_id,
        started_at=as_utc(row.started_at),
        finished_at=as_utc(row.finished_at),
    )
