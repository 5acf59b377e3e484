"""Run one case in fresh subprocesses on this machine, with a timeout.

A case runs in one worker process, or in several one after another when the suite asks for
``processes`` > 1 or a ``ci_target`` (``collect/sampling.py`` merges them and decides when
to stop); the case's timeout covers all of its workers.

The worker gets its own session so that a Ctrl-C at the terminal reaches only the runner,
which then kills the whole case (worker and anything it started) deliberately; and it
asks the kernel to kill it if the runner dies (``PR_SET_PDEATHSIG``), so a SIGKILLed run
leaves no benchmark behind competing with the next one.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from fleetwise.collect import sampling
from fleetwise.collect.suite import Case

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except OSError:
        pass


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)


def _failure(case: Case, status: str, error: str) -> dict[str, Any]:
    return {
        "benchmark": case.benchmark,
        "status": status,
        "error": error,
        "params": case.params,
        "metrics": [],
        "calibration": {},
        "notes": [],
    }


def run_case(case: Case, workdir: Path, *, seed: int = 0) -> dict[str, Any]:
    """Run ``case`` in its worker process(es); return the case's outcome document.

    A timeout, a crash of a worker (segfault, OOM kill) or unreadable output becomes an
    outcome with status ``timeout`` or ``failed`` and the reason, never an exception.
    KeyboardInterrupt kills the running worker's process group and propagates.
    """
    if case.processes == 1 and not case.adaptive:
        return _run_worker(case, workdir, seed=seed, timeout=case.timeout)
    started = time.monotonic()
    outcomes: list[dict[str, Any]] = []
    while True:
        elapsed = time.monotonic() - started
        stop = sampling.next_step(
            outcomes,
            processes=case.processes,
            ci_target=case.ci_target,
            max_processes=case.max_processes,
            budget=case.budget,
            timeout=case.timeout,
            elapsed=elapsed,
        )
        if stop is not None and outcomes:
            return sampling.merge_outcomes(outcomes, stop)
        remaining = case.timeout - elapsed
        if remaining <= 0:
            return _failure(case, "timeout", f"timed out after {case.timeout:g} s")
        outcome = _run_worker(case, workdir, seed=seed, timeout=remaining)
        if outcome.get("status") == "timeout":
            # The case's timeout covers every worker: say so, not the last one's remainder.
            return _failure(case, "timeout", f"timed out after {case.timeout:g} s")
        outcomes.append(outcome)


def _run_worker(case: Case, workdir: Path, *, seed: int, timeout: float) -> dict[str, Any]:
    workdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="fleetwise-case-") as tmp:
        spec_path = Path(tmp) / "spec.json"
        out_path = Path(tmp) / "out.json"
        err_path = Path(tmp) / "stderr.txt"
        spec = {
            "benchmark": case.benchmark,
            "params": case.params,
            "warmup": case.warmup,
            "repeat": case.repeat,
            "min_sample_time": case.min_sample_time,
            "max_time": case.max_time,
            "workdir": str(workdir),
            "seed": seed,
        }
        spec_path.write_text(json.dumps(spec))
        cmd = [sys.executable, "-m", "fleetwise.collect.worker", str(spec_path), str(out_path)]
        with err_path.open("wb") as err:
            proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
            try:
                rc = proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                _kill_group(proc)
                return _failure(case, "timeout", f"timed out after {timeout:g} s")
            except BaseException:
                _kill_group(proc)
                raise
            # Helpers the benchmark started (fio, data-loader workers) go with the case.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
        stderr_tail = err_path.read_text(errors="replace")[-2000:].strip()
        if rc != 0 or not out_path.exists():
            why = f"worker exited with code {rc}"
            if rc < 0:
                why = f"worker killed by signal {signal.Signals(-rc).name}"
            return _failure(case, "failed", f"{why}: {stderr_tail}" if stderr_tail else why)
        try:
            outcome: dict[str, Any] = json.loads(out_path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            return _failure(case, "failed", f"unreadable worker output: {exc}")
        return outcome
