"""Helpers for the benchmark tests: run one case in-process, find leaked processes."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import psutil

from fleetwise.collect.worker import measure


def run_case(tmp_path: Path, benchmark: str, **params: Any) -> dict[str, Any]:
    """One case with tiny sampling (one warm-up, two samples of >= 20 ms)."""
    spec = {
        "benchmark": benchmark,
        "params": params,
        "workdir": str(tmp_path / "work"),
        "min_sample_time": 0.02,
        "warmup": 1,
        "repeat": 2,
    }
    return measure(spec)


def leftover_children(grace_s: float = 5.0) -> list[psutil.Process]:
    """Children of this process still alive after a grace period, except multiprocessing's
    resource tracker: every spawn start launches that one helper per interpreter, and it
    lives as long as the interpreter by design."""

    def is_tracker(proc: psutil.Process) -> bool:
        try:
            return "multiprocessing.resource_tracker" in " ".join(proc.cmdline())
        except psutil.Error:
            return True  # already gone

    deadline = time.monotonic() + grace_s
    while True:
        kids = [p for p in psutil.Process().children(recursive=True) if not is_tracker(p)]
        if not kids or time.monotonic() > deadline:
            return kids
        time.sleep(0.1)
