"""The compute benchmarks, run for real on CPU with tiny parameters through ``measure``."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")

from fleetwise import hardware  # noqa: E402
from fleetwise.collect.benchmarks.base import get_benchmark, validate_params  # noqa: E402
from fleetwise.collect.worker import measure  # noqa: E402
from fleetwise.errors import InputError  # noqa: E402

TINY_MODEL = {"layers": 1, "d_model": 32, "heads": 2, "seq_len": 16, "vocab": 64}
needs_gpu = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def run(tmp_path: Path, name: str, **params: Any) -> dict[str, Any]:
    return measure(
        {
            "benchmark": name,
            "params": params,
            "workdir": str(tmp_path / "work"),
            "repeat": 3,
            "warmup": 1,
            "min_sample_time": 0.01,
        }
    )


def metric(result: dict[str, Any], name: str) -> dict[str, Any]:
    return next(m for m in result["metrics"] if m["name"] == name)


def assert_ok(result: dict[str, Any], units: dict[str, str]) -> None:
    assert result["status"] == "ok", result["error"]
    assert {m["name"]: m["unit"] for m in result["metrics"]} == units
    for m in result["metrics"]:
        assert len(m["samples"]) == 3
        assert all(math.isfinite(v) and v > 0 for v in m["samples"]), m


@pytest.fixture(autouse=True)
def _keep_thread_count() -> Any:
    # measure() runs in this process; a `threads` case must not leak into later tests.
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_registered_in_the_compute_layer() -> None:
    for name in ("compute.gemm", "compute.membw", "compute.train_step", "compute.inference"):
        bench = get_benchmark(name)
        assert bench.layer == "compute" and bench.description


def test_gemm_fp32_is_below_the_estimated_peak(tmp_path: Path) -> None:
    result = run(tmp_path, "compute.gemm", size=256, device="cpu")
    assert_ok(result, {"tflops": "TFLOP/s"})
    m = metric(result, "tflops")
    peak = m["peak"]
    assert peak is not None and peak["unit"] == "TFLOP/s" and peak["estimated"]
    median = sorted(m["samples"])[1]
    # The estimate uses the nominal clock, which turbo can exceed: allow up to 1.5x.
    assert 0 < median < peak["value"] * 1.5
    params = result["params"]
    wanted = {"m": 256, "n": 256, "k": 256, "device": "cpu", "dtype": "fp32"}
    assert {key: params[key] for key in wanted} == wanted
    assert result["params"]["threads"] == torch.get_num_threads()
    assert result["calibration"]["timer"] == "perf_counter" and result["calibration"]["loops"] >= 1


def test_gemm_rectangular_with_threads(tmp_path: Path) -> None:
    result = run(tmp_path, "compute.gemm", m=64, n=32, k=128, threads=1, dtype="fp64")
    assert_ok(result, {"tflops": "TFLOP/s"})
    params = result["params"]
    assert (params["m"], params["n"], params["k"], params["threads"]) == (64, 32, 128, 1)


def test_gemm_bf16_on_cpu_runs_and_says_so(tmp_path: Path) -> None:
    result = run(tmp_path, "compute.gemm", size=128, dtype="bf16")
    assert_ok(result, {"tflops": "TFLOP/s"})
    assert any("bf16 GEMM on CPU" in note for note in result["notes"])


@pytest.mark.parametrize("dtype", ["tf32", "fp8"])
def test_gpu_only_dtypes_are_skipped_on_cpu(tmp_path: Path, dtype: str) -> None:
    result = run(tmp_path, "compute.gemm", size=64, dtype=dtype, device="cpu")
    assert result["status"] == "skipped"
    assert f"{dtype} is a GPU tensor-core format" in result["error"]
    assert all(m["samples"] == [] for m in result["metrics"])


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU message")
@pytest.mark.parametrize("name", ["compute.gemm", "compute.train_step"])
def test_cuda_device_without_gpu_is_skipped(tmp_path: Path, name: str) -> None:
    result = run(tmp_path, name, device="cuda")
    assert result["status"] == "skipped"
    assert "needs a CUDA GPU" in result["error"]


@pytest.mark.parametrize(
    ("name", "params", "key"),
    [
        ("compute.gemm", {"sise": 64}, "sise"),
        ("compute.gemm", {"dtype": "int8"}, "dtype"),
        ("compute.gemm", {"dtype": "fp8", "size": 100}, "params"),  # not a multiple of 16
        ("compute.gemm", {"device": "tpu"}, "device"),
        ("compute.membw", {"size_mib": 0}, "size_mib"),
        ("compute.train_step", {"d_model": 30, "heads": 4}, "params"),
        ("compute.inference", {"batch_size": 0}, "batch_size"),
    ],
)
def test_bad_params_are_rejected(name: str, params: dict[str, Any], key: str) -> None:
    with pytest.raises(InputError, match=f"parameter '{key}'"):
        validate_params(get_benchmark(name), params)


def test_unknown_param_rejected_by_measure(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="threds"):
        run(tmp_path, "compute.membw", threds=2)


def test_membw_copy_and_triad(tmp_path: Path) -> None:
    result = run(tmp_path, "compute.membw", size_mib=8, device="cpu")
    assert_ok(result, {"copy": "GB/s", "triad": "GB/s"})
    for name in ("copy", "triad"):
        peak = metric(result, name)["peak"]
        assert peak is not None and peak["unit"] == "GB/s" and peak["estimated"]
    assert result["params"]["elements"] == 8 * (1 << 20) // 4
    assert set(result["calibration"]) == {"copy", "triad"}


def test_train_step_mfu_is_6n_tokens_over_peak(tmp_path: Path) -> None:
    result = run(tmp_path, "compute.train_step", batch=2, device="cpu", **TINY_MODEL)
    assert_ok(result, {"tokens_per_s": "tokens/s", "mfu": "fraction"})
    # Independently: per block qkv, proj, fc, out weights and biases plus 2 LayerNorms
    # (12d^2 + 13d), the tied token embedding (V d), the final LayerNorm; the positional
    # table is a lookup and is not counted.
    d, layers, vocab = TINY_MODEL["d_model"], TINY_MODEL["layers"], TINY_MODEL["vocab"]
    n = layers * (12 * d * d + 13 * d) + vocab * d + 2 * d
    assert result["params"]["n_params_mfu"] == n
    peak = hardware.peak_for("cpu", "flops", "fp32")
    assert peak is not None
    tps, mfu = metric(result, "tokens_per_s")["samples"], metric(result, "mfu")["samples"]
    for t, u in zip(tps, mfu, strict=True):
        assert u == pytest.approx(6 * n * t / (peak.value * 1e12), rel=1e-9)
    assert result["params"]["mfu_peak_source"] == peak.source
    assert 0 < result["params"]["attention_flops_share"] < 1


def test_train_step_bf16_autocast(tmp_path: Path) -> None:
    result = run(tmp_path, "compute.train_step", batch=2, dtype="bf16", **TINY_MODEL)
    assert_ok(result, {"tokens_per_s": "tokens/s", "mfu": "fraction"})


def test_train_step_without_a_peak_reports_nan_and_a_note(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hardware, "peak_for", lambda *args, **kwargs: None)
    result = run(tmp_path, "compute.train_step", batch=1, **TINY_MODEL)
    assert result["status"] == "ok"
    assert all(math.isnan(v) for v in metric(result, "mfu")["samples"])
    assert any("FLEETWISE_PEAK_FLOPS_FP32" in note for note in result["notes"])


@pytest.mark.parametrize("dtype", ["fp32", "bf16"])
def test_inference_latency_percentiles(tmp_path: Path, dtype: str) -> None:
    result = run(tmp_path, "compute.inference", batch_size=2, requests=8, dtype=dtype, **TINY_MODEL)
    units = {
        "latency_p50": "ms",
        "latency_p90": "ms",
        "latency_p99": "ms",
        "throughput": "samples/s",
    }
    assert_ok(result, units)
    p50, p90, p99 = (metric(result, f"latency_p{q}")["samples"] for q in (50, 90, 99))
    assert all(a <= b <= c for a, b, c in zip(p50, p90, p99, strict=True))
    # Throughput is batch x requests / wall time, so it cannot beat batch / fastest median.
    for tp, lat in zip(metric(result, "throughput")["samples"], p50, strict=True):
        assert tp < 2 * 2 / (lat / 1e3)
    assert result["calibration"]["loops"] == 8


@pytest.mark.gpu
@needs_gpu
@pytest.mark.parametrize("dtype", ["fp32", "tf32", "bf16", "fp8"])
def test_gemm_on_gpu(tmp_path: Path, dtype: str) -> None:
    result = run(tmp_path, "compute.gemm", size=4096, dtype=dtype, device="cuda")
    if result["status"] == "skipped":  # fp8 before sm_89
        pytest.skip(result["error"])
    assert_ok(result, {"tflops": "TFLOP/s"})
    assert result["calibration"]["timer"] == "cuda-events+l2-flush"
    peak = metric(result, "tflops")["peak"]
    if peak is not None:
        assert max(metric(result, "tflops")["samples"]) < peak["value"] * 1.05


@pytest.mark.gpu
@needs_gpu
def test_model_cases_on_gpu(tmp_path: Path) -> None:
    assert_ok(
        run(tmp_path, "compute.membw", size_mib=256, device="cuda"),
        {"copy": "GB/s", "triad": "GB/s"},
    )
    result = run(tmp_path, "compute.train_step", dtype="bf16", device="cuda")
    assert result["status"] == "ok", result["error"]
    result = run(tmp_path, "compute.inference", batch_size=4, requests=20, device="cuda")
    assert result["status"] == "ok", result["error"]
