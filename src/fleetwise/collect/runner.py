"""Execute a suite: one or more subprocesses per case, results committed as each case finishes.

The runner owns the run's life cycle in the store: ``running`` while it works,
``completed`` at the end (individual failed or timed-out cases are results, not a failed
run), ``interrupted`` on Ctrl-C with every finished case kept, and resumable with
:func:`resume`. Statistics and stability warnings are computed here, as results arrive,
so what is stored is complete and the presentation layer only formats it.
"""

from __future__ import annotations

import math
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from fleetwise.collect import fingerprint as fpmod
from fleetwise.collect import system_state as sysstate
from fleetwise.collect.benchmarks.base import get_benchmark
from fleetwise.collect.executors import local
from fleetwise.collect.suite import Case, Suite
from fleetwise.errors import InputError
from fleetwise.models import Peak, ResultRecord, ResultStatus, RunRecord, RunStatus
from fleetwise.stats import stability_warnings, summarize

CaseExecutor = Callable[[Case, Path], dict[str, Any]]


class RunStore(Protocol):
    """What the runner needs of a store. ``fleetwise.store.Store`` is one; collect does not
    import the store layer (data flows collect -> store), the caller hands it in."""

    def save_environment(self, fingerprint: dict[str, Any], fingerprint_hash: str) -> int: ...
    def create_run(
        self,
        suite: str,
        config: dict[str, Any],
        *,
        tags: Sequence[str] = (),
        executor: str = "local",
        environment_id: int | None = None,
    ) -> RunRecord: ...
    def get_run(self, run_id: int) -> RunRecord: ...
    def set_run_status(
        self,
        run_id: int,
        status: RunStatus,
        *,
        end_state: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> None: ...
    def recover_stale_runs(self) -> list[int]: ...
    def add_results(self, run_id: int, records: Sequence[ResultRecord]) -> list[int]: ...
    def results(self, run_id: int) -> list[ResultRecord]: ...
    def done_case_keys(self, run_id: int) -> set[str]: ...


class RunObserver(Protocol):
    """Receives progress as a run goes (the CLI draws a progress bar from it)."""

    def run_started(self, run: RunRecord, cases: Sequence[Case], todo: int) -> None: ...
    def case_started(self, case: Case) -> None: ...
    def case_finished(self, case: Case, results: Sequence[ResultRecord]) -> None: ...


@dataclass
class RunOutcome:
    run: RunRecord
    results: list[ResultRecord] = field(default_factory=list)


class RunInterrupted(Exception):  # noqa: N818 - it is a signal to the caller, not an error
    """Ctrl-C stopped the run; ``run`` is stored as interrupted and can be resumed."""

    def __init__(self, run: RunRecord) -> None:
        self.run = run
        super().__init__(f"run {run.id} interrupted")


def identity_params(
    declared: dict[str, Any], resolved: dict[str, Any], local: frozenset[str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split what a worker ran into the result's identity and its details.

    The identity has exactly the benchmark's declared parameters, with ``auto`` and unset
    values replaced by what was chosen (``device: auto`` -> ``cpu``), so two runs of the
    same case on the same kind of machine share a series. Everything else the benchmark
    reported (fio arguments, library versions, paths) goes to the details.
    """
    identity = {}
    for key, value in declared.items():
        chosen = resolved.get(key)
        if value in (None, "auto") and chosen is not None and key not in local:
            identity[key] = chosen
        else:
            identity[key] = value
    details = {k: v for k, v in resolved.items() if k not in identity or identity[k] != v}
    return identity, details


def outcome_to_results(
    case: Case,
    outcome: dict[str, Any],
    *,
    environment_id: int | None,
    started_at: datetime,
    load_avg: float | None = None,
    cores: int | None = None,
    steal_pct: float | None = None,
    flags: Sequence[str] = (),
) -> list[ResultRecord]:
    """Turn a worker's outcome into one stored result per metric, with summaries.

    ``flags``: what throttled while the case ran (system_state.case_flags); they go with
    every metric's warnings, since each metric measured the throttle."""
    bench = get_benchmark(case.benchmark)
    status = ResultStatus(outcome.get("status", "failed"))
    finished = datetime.now(UTC)
    by_name = {m["name"]: m for m in outcome.get("metrics", [])}
    notes = [f"note: {n}" for n in outcome.get("notes", [])]
    params, details = identity_params(case.params, outcome.get("params") or {}, bench.LOCAL_PARAMS)
    records = []
    for spec in bench.metrics(bench.parse_params(case.params)):
        got = by_name.get(spec.name, {})
        samples = [float(x) for x in got.get("samples", [])]
        metric_status, metric_error = status, outcome.get("error")
        if status is ResultStatus.OK and not all(math.isfinite(x) for x in samples):
            # A metric the benchmark could not compute here (e.g. MFU without a known peak).
            metric_status = ResultStatus.SKIPPED
            metric_error = f"{spec.name} not computable here; " + "; ".join(
                outcome.get("notes", [])
            )
            samples = []
        # Several workers: the summary and CI are over the per-process medians, so they
        # carry between-process variance (collect/sampling.py); one worker: over samples.
        medians = [float(x) for x in got.get("process_medians", [])] if samples else []
        summarised = medians if len(medians) > 1 else samples
        summary = summarize(summarised) if metric_status is ResultStatus.OK and summarised else None
        peak = Peak.model_validate(got["peak"]) if got.get("peak") else None
        efficiency = None
        if summary is not None and peak is not None and peak.value > 0 and peak.unit == spec.unit:
            efficiency = summary.median / peak.value
        warnings = [*notes, *flags]
        if efficiency is not None and efficiency > 1.0 and peak is not None:
            warnings.append(
                f"efficiency {efficiency:.0%} exceeds the peak ({peak.source}); the peak is "
                + (
                    "an estimate (turbo clocks above the one read); set FLEETWISE_PEAK_* to "
                    "the real figure"
                    if peak.estimated
                    else "check the device identification"
                )
            )
        if summary is not None:
            warnings += stability_warnings(
                summary,
                load_avg=load_avg,
                cores=cores,
                steal_pct=steal_pct,
                over_processes=len(medians) > 1,
            )
        records.append(
            ResultRecord(
                case_key=case.key,
                case_index=case.index,
                benchmark=bench.name,
                layer=bench.layer,
                params=params,
                metric=spec.name,
                unit=spec.unit,
                direction=spec.direction,
                status=metric_status,
                error=metric_error,
                samples=samples,
                summary=summary,
                peak=peak,
                efficiency=efficiency,
                warnings=warnings,
                calibration={
                    **outcome.get("calibration", {}),
                    "warmup": case.warmup,
                    "repeat": case.repeat,
                    **({"process_medians": medians} if len(medians) > 1 else {}),
                    "resolved": details,
                    "declared": case.declared,
                },
                environment_id=environment_id,
                started_at=started_at,
                finished_at=finished,
            )
        )
    return records


def _capture_environment(store: RunStore) -> tuple[int, dict[str, Any]]:
    fp = fpmod.fingerprint()
    return store.save_environment(fp, fpmod.fingerprint_hash(fp)), fp


def run_suite(
    store: RunStore,
    suite: Suite,
    *,
    tags: Sequence[str] = (),
    workdir: Path,
    observer: RunObserver | None = None,
    execute: CaseExecutor | None = None,
) -> RunOutcome:
    """Run every case of ``suite`` into a new run of ``store``."""
    env_id, fp = _capture_environment(store)
    # The environment row is shared by runs with one hash, so what varies per run (load,
    # the tuning and throttle state) goes with the run.
    config = {**suite.config(), "start_state": fp["load"], "system_state": fp["system"]}
    run = store.create_run(suite.name, config, tags=tags, environment_id=env_id)
    return _execute(store, run, suite, env_id, fp, workdir, observer, execute)


def resume(
    store: RunStore,
    run_id: int,
    *,
    workdir: Path,
    observer: RunObserver | None = None,
    execute: CaseExecutor | None = None,
) -> RunOutcome:
    """Finish an interrupted run: run the cases that have no stored result yet."""
    store.recover_stale_runs()
    run = store.get_run(run_id)
    if run.status is RunStatus.COMPLETED:
        raise InputError(f"run {run_id} is already completed; nothing to resume")
    if run.status is RunStatus.RUNNING:
        raise InputError(f"run {run_id} is still running (pid {run.pid} on {run.host})")
    suite = Suite.model_validate(
        {k: run.config[k] for k in ("name", "description", "source", "cases")}
    )
    env_id, fp = _capture_environment(store)
    store.set_run_status(run_id, RunStatus.RUNNING)
    return _execute(store, store.get_run(run_id), suite, env_id, fp, workdir, observer, execute)


def _execute(
    store: RunStore,
    run: RunRecord,
    suite: Suite,
    env_id: int,
    fp: dict[str, Any],
    workdir: Path,
    observer: RunObserver | None,
    execute: CaseExecutor | None,
) -> RunOutcome:
    run_case = execute or (lambda case, wd: local.run_case(case, wd, seed=case.index))
    done = store.done_case_keys(run.id)
    todo = [c for c in suite.cases if c.key not in done]
    cores = fp.get("cpu", {}).get("cores")
    with_gpus = bool(fp.get("gpus"))
    run_times = fpmod.cpu_times()
    if observer:
        observer.run_started(run, suite.cases, len(todo))
    results: list[ResultRecord] = []
    run_dir = workdir / f"run-{run.id}"
    try:
        for case in todo:
            if observer:
                observer.case_started(case)
            started = datetime.now(UTC)
            before = fpmod.cpu_times()
            throttle_before = sysstate.throttle_snapshot(with_gpus)
            case_dir = run_dir / f"case-{case.index:03d}"
            try:
                outcome = run_case(case, case_dir)
            finally:
                shutil.rmtree(case_dir, ignore_errors=True)
            flags = sysstate.case_flags(throttle_before, sysstate.throttle_snapshot(with_gpus))
            records = outcome_to_results(
                case,
                outcome,
                environment_id=env_id,
                started_at=started,
                load_avg=_loadavg(),
                cores=cores,
                steal_pct=fpmod.steal_pct(before, fpmod.cpu_times()),
                flags=flags,
            )
            ids = store.add_results(run.id, records)
            for rec, rid in zip(records, ids, strict=True):
                rec.id, rec.run_id = rid, run.id
            results.extend(records)
            if observer:
                observer.case_finished(case, records)
    except KeyboardInterrupt:
        store.set_run_status(
            run.id,
            RunStatus.INTERRUPTED,
            end_state=_end_state(run_times),
            error="interrupted by the user (Ctrl-C)",
        )
        raise RunInterrupted(store.get_run(run.id)) from None
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)
    store.set_run_status(run.id, RunStatus.COMPLETED, end_state=_end_state(run_times))
    return RunOutcome(run=store.get_run(run.id), results=store.results(run.id))


def _loadavg() -> float:
    return os.getloadavg()[0]


def _end_state(run_times: list[int]) -> dict[str, Any]:
    state = fpmod.load_state(window_s=0.1)
    state["steal_pct_run"] = fpmod.steal_pct(run_times, fpmod.cpu_times())
    return state
