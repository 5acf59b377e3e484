"""``trace`` commands ask OpenBLAS for one thread before NumPy loads (the analyses use no
BLAS; a thread per core costs about 45 ms of start-up), and keep a value the user set."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from fleetwise.analyze.traces_threads import BLAS_THREADS_VARIABLE, spare_blas_threads

DATA = Path(__file__).parents[1] / "data" / "kineto"

SCRIPT = """
import os, sys
from fleetwise.present.cli import main
assert "numpy" not in sys.modules, "the CLI loaded NumPy before the command ran"
code = main(["trace", "analyze", sys.argv[1], "--json"])
sys.stdout.flush()
print("\\nBLAS", os.environ.get("OPENBLAS_NUM_THREADS"), code)
"""


def run_trace_analyze(env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(DATA / "amd_mi250_minitoy")],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return done.stdout.strip().splitlines()[-1]


def test_trace_analyze_runs_numpy_with_one_blas_thread() -> None:
    env = {k: v for k, v in os.environ.items() if k != BLAS_THREADS_VARIABLE}
    assert run_trace_analyze(env) == "BLAS 1 0"


def test_a_users_blas_setting_is_kept() -> None:
    assert run_trace_analyze({**os.environ, BLAS_THREADS_VARIABLE: "2"}) == "BLAS 2 0"


def test_spare_blas_threads_sets_only_what_is_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(BLAS_THREADS_VARIABLE, raising=False)
    assert spare_blas_threads() is True
    assert os.environ[BLAS_THREADS_VARIABLE] == "1"
    monkeypatch.setenv(BLAS_THREADS_VARIABLE, "4")
    assert spare_blas_threads() is False
    assert os.environ[BLAS_THREADS_VARIABLE] == "4"
