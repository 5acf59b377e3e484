"""orchestration.* benchmarks run for real on CPU with tiny parameters."""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

import pytest
from bench_helpers import leftover_children, run_case

from fleetwise.errors import InputError

torch = pytest.importorskip("torch")


def metric(out: dict[str, Any], name: str) -> dict[str, Any]:
    return next(m for m in out["metrics"] if m["name"] == name)


def assert_positive(out: dict[str, Any], name: str, unit: str, direction: str) -> list[float]:
    m = metric(out, name)
    assert (m["unit"], m["direction"]) == (unit, direction)
    assert len(m["samples"]) == 2
    assert all(math.isfinite(v) and v > 0 for v in m["samples"]), m["samples"]
    return list(m["samples"])


def test_spawn_true_and_python(tmp_path: Path) -> None:
    true_out = run_case(tmp_path, "orchestration.spawn", command="true")
    assert true_out["status"] == "ok", true_out["error"]
    true_ms = assert_positive(true_out, "latency", "ms", "lower")
    assert true_out["params"] == {"command": "true", "spawns": None}
    assert true_out["calibration"]["loops"] >= 1
    assert true_out["calibration"]["argv"][0].endswith("true")
    assert true_out["calibration"]["calibrated"] is True

    py_out = run_case(tmp_path, "orchestration.spawn", command="python", spawns=2)
    assert py_out["status"] == "ok", py_out["error"]
    py_ms = assert_positive(py_out, "latency", "ms", "lower")
    assert py_out["params"] == {"command": "python", "spawns": 2}
    assert py_out["calibration"] == {
        "loops": 2,
        "timer": "perf_counter",
        "min_sample_time": 0.02,
        "calibrated": False,
        "argv": [sys.executable, "-c", "pass"],
    }
    # A whole interpreter start costs far more than exec of /bin/true (~8 ms vs ~0.7 ms).
    assert min(py_ms) > max(true_ms)
    assert leftover_children(grace_s=0) == []


def test_dispatch_latency_and_throughput(tmp_path: Path) -> None:
    out = run_case(tmp_path, "orchestration.dispatch", workers=2, tasks=30)
    assert out["status"] == "ok", out["error"]
    latency = assert_positive(out, "latency_p50", "us", "lower")
    throughput = assert_positive(out, "throughput", "tasks/s", "higher")
    # A round trip through another process takes microseconds, not nanoseconds or seconds.
    assert all(1 < v < 1e6 for v in latency)
    assert all(v < 1e7 for v in throughput)
    assert out["params"] == {"workers": 2, "tasks": 30, "start_method": "spawn"}
    assert leftover_children() == []


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU path")
def test_kernel_launch_skipped_without_cuda(tmp_path: Path) -> None:
    out = run_case(tmp_path, "orchestration.kernel_launch")
    assert out["status"] == "skipped"
    assert "needs a CUDA GPU" in out["error"]
    assert all(m["samples"] == [] for m in out["metrics"])
    assert {m["name"] for m in out["metrics"]} == {"launch_us", "latency_us"}


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_kernel_launch_on_gpu(tmp_path: Path) -> None:
    out = run_case(tmp_path, "orchestration.kernel_launch", launches=100)
    assert out["status"] == "ok", out["error"]
    launch = assert_positive(out, "launch_us", "us", "lower")
    latency = assert_positive(out, "latency_us", "us", "lower")
    assert all(v < 1000 for v in launch + latency)
    assert out["params"]["device"].startswith("cuda:")


@pytest.mark.parametrize(
    ("benchmark", "params", "key"),
    [
        ("orchestration.spawn", {"command": "bash"}, "command"),
        ("orchestration.spawn", {"spawns": 0}, "spawns"),
        ("orchestration.spawn", {"spawn": 3}, "spawn"),
        ("orchestration.dispatch", {"workers": 0}, "workers"),
        ("orchestration.dispatch", {"tasks": -1}, "tasks"),
        ("orchestration.kernel_launch", {"launches": 5000}, "launches"),
    ],
)
def test_bad_params_rejected(
    tmp_path: Path, benchmark: str, params: dict[str, Any], key: str
) -> None:
    with pytest.raises(InputError, match=f"parameter '{key}'"):
        run_case(tmp_path, benchmark, **params)
