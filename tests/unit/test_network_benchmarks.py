"""network.* benchmarks run for real on CPU with tiny parameters (gloo over loopback)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from bench_helpers import leftover_children, run_case

from fleetwise.collect.benchmarks.network import AllReduce
from fleetwise.errors import InputError

torch = pytest.importorskip("torch")


def samples(out: dict[str, Any], name: str, unit: str, direction: str) -> list[float]:
    m = next(m for m in out["metrics"] if m["name"] == name)
    assert (m["unit"], m["direction"], m["peak"]) == (unit, direction, None)
    assert len(m["samples"]) == 2
    assert all(math.isfinite(v) and v > 0 for v in m["samples"]), m["samples"]
    return list(m["samples"])


def test_allreduce_gloo_two_ranks(tmp_path: Path) -> None:
    out = run_case(tmp_path, "network.allreduce", backend="gloo", world_size=2, size_mb=1)
    assert out["status"] == "ok", out["error"]
    busbw = samples(out, "busbw", "GB/s", "higher")
    algbw = samples(out, "algbw", "GB/s", "higher")
    # nccl-tests: busbw = algbw * 2(n-1)/n, which is 1 for two ranks.
    assert busbw == pytest.approx(algbw, rel=1e-12)
    assert out["params"]["backend"] == "gloo"
    assert out["params"]["bytes"] == 1_000_000
    assert out["calibration"]["loops"] >= 1
    assert out["notes"] == []  # every rank left on "stop", none had to be terminated
    assert leftover_children() == []


def test_allreduce_busbw_factor_for_three_ranks(tmp_path: Path) -> None:
    out = run_case(tmp_path, "network.allreduce", backend="gloo", world_size=3, size_mb=0.1)
    assert out["status"] == "ok", out["error"]
    busbw = samples(out, "busbw", "GB/s", "higher")
    algbw = samples(out, "algbw", "GB/s", "higher")
    assert busbw == pytest.approx([a * 4 / 3 for a in algbw], rel=1e-12)
    assert leftover_children() == []


def test_allreduce_setup_failure_leaves_no_ranks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_calibration(self: AllReduce) -> None:
        raise RuntimeError("calibration broke")

    # The ranks are up when calibration runs: a failure there must still stop them,
    # because the worker does not tear down a case whose set-up failed.
    monkeypatch.setattr(AllReduce, "_calibrate", broken_calibration)
    out = run_case(tmp_path, "network.allreduce", backend="gloo", size_mb=0.01)
    assert out["status"] == "failed"
    assert "calibration broke" in out["error"]
    assert leftover_children() == []


@pytest.mark.skipif(torch.cuda.device_count() >= 2, reason="checks the too-few-GPUs path")
def test_allreduce_nccl_without_gpus_is_skipped(tmp_path: Path) -> None:
    out = run_case(tmp_path, "network.allreduce", backend="nccl", world_size=2)
    assert out["status"] == "skipped"
    assert "NCCL" in out["error"]
    assert leftover_children(grace_s=0) == []


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU path")
def test_host_device_copy_skipped_without_cuda(tmp_path: Path) -> None:
    out = run_case(tmp_path, "network.host_device_copy")
    assert out["status"] == "skipped"
    assert "needs a CUDA GPU" in out["error"]
    assert [m["name"] for m in out["metrics"]] == [
        "h2d_pageable",
        "h2d_pinned",
        "d2h_pageable",
        "d2h_pinned",
    ]


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_host_device_copy_on_gpu(tmp_path: Path) -> None:
    out = run_case(tmp_path, "network.host_device_copy", size_mb=64)
    assert out["status"] == "ok", out["error"]
    for name in ("h2d_pageable", "h2d_pinned", "d2h_pageable", "d2h_pinned"):
        # Well below any link's peak (PCIe 5 x16 ~64 GB/s, NVLink-C2C 450 GB/s per way).
        assert all(v < 1000 for v in samples(out, name, "GB/s", "higher"))
    assert out["params"]["bytes"] == 64_000_000


@pytest.mark.gpu
@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs two CUDA GPUs")
def test_allreduce_nccl(tmp_path: Path) -> None:
    out = run_case(tmp_path, "network.allreduce", backend="nccl", size_mb=16)
    assert out["status"] == "ok", out["error"]
    assert samples(out, "busbw", "GB/s", "higher") == samples(out, "algbw", "GB/s", "higher")
    assert leftover_children() == []


@pytest.mark.parametrize(
    ("benchmark", "params", "key"),
    [
        ("network.allreduce", {"world_size": 1}, "world_size"),
        ("network.allreduce", {"backend": "mpi"}, "backend"),
        ("network.allreduce", {"size_mb": 0}, "size_mb"),
        ("network.allreduce", {"ranks": 2}, "ranks"),
        ("network.host_device_copy", {"size_mb": -1}, "size_mb"),
        ("network.host_device_copy", {"pinned": True}, "pinned"),
    ],
)
def test_bad_params_rejected(
    tmp_path: Path, benchmark: str, params: dict[str, Any], key: str
) -> None:
    with pytest.raises(InputError, match=f"parameter '{key}'"):
        run_case(tmp_path, benchmark, **params)
