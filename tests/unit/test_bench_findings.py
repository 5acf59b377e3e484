"""Benchmark findings: each kind fires on its condition, cites its results, and prices it."""

from __future__ import annotations

import pytest

from fleetwise.analyze.bench_findings import CostModel, bench_findings
from fleetwise.analyze.findings import Represented
from fleetwise.models import Peak, ResultRecord
from fleetwise.stats import summarize


def result(
    rid: int, benchmark: str, metric: str, samples: list[float], **params: object
) -> ResultRecord:
    layer = benchmark.split(".")[0]
    return ResultRecord(
        id=rid,
        run_id=1,
        case_key=f"k{rid}",
        case_index=rid,
        benchmark=benchmark,
        layer=layer,
        params=dict(params),
        metric=metric,
        unit="x",
        direction="higher",
        samples=samples,
        summary=summarize(samples),
    )


def test_low_efficiency_cites_the_result_and_prices_the_gap() -> None:
    r = result(7, "compute.gemm", "tflops", [1.0, 1.0, 1.0], size=64, device="cuda")
    r.peak = Peak(value=10.0, unit="x", source="datasheet")
    r.efficiency = 0.1
    rep = Represented(512, 2.5, 8760.0, "512 GPUs")
    (f,) = [f for f in bench_findings([r], CostModel(rep)) if f.kind == "bench.low_efficiency"]
    assert {e.source for e in f.evidence} == {"result:7"}
    assert f.cost is not None
    assert f.share == pytest.approx(1 - 0.1 / 0.6)
    # wasted share 1 - 0.1 / 0.6 of the 512 GPUs the host represents x 8,760 h at $2.50
    hours = (1 - 0.1 / 0.6) * 512 * 8760
    assert f.cost.gpu_hours_per_year == pytest.approx(hours, abs=0.1)
    assert f.cost.usd_per_year == pytest.approx(hours * 2.5, rel=1e-6)


def test_a_cpu_result_claims_no_gpu_fleet_cost() -> None:
    r = result(8, "compute.gemm", "tflops", [1.0, 1.0, 1.0], size=64)
    r.calibration = {"resolved": {"device": "cpu"}}
    r.peak = Peak(value=10.0, unit="x", source="estimate")
    r.efficiency = 0.1
    rep = Represented(512, 2.5, 8760.0, "512 GPUs")
    (f,) = [f for f in bench_findings([r], CostModel(rep)) if f.kind == "bench.low_efficiency"]
    assert f.cost is None and "Measured on a CPU" in f.detail


def test_a_host_that_represents_nothing_has_no_cost() -> None:
    r = result(7, "compute.gemm", "tflops", [1.0, 1.0, 1.0], size=64, device="cuda")
    r.peak = Peak(value=10.0, unit="x", source="datasheet")
    r.efficiency = 0.1
    (f,) = [f for f in bench_findings([r]) if f.kind == "bench.low_efficiency"]
    assert f.cost is None and f.share == pytest.approx(1 - 0.1 / 0.6)


def test_mfu_counts_as_efficiency_and_a_good_one_is_quiet() -> None:
    low = result(1, "compute.train_step", "mfu", [0.2, 0.2, 0.2])
    good = result(2, "compute.train_step", "mfu", [0.5, 0.5, 0.5])
    kinds = [f.kind for f in bench_findings([low, good])]
    assert kinds == ["bench.low_efficiency"]


def test_unstable_result() -> None:
    r = result(3, "storage.fio", "bw", [100.0, 150.0, 60.0, 100.0, 105.0], rw="read")
    (f,) = bench_findings([r])
    assert f.kind == "bench.unstable" and f.layer == "storage"
    # noise of the benchmark host is about the measurement, not a cost of the fleet
    assert f.cost is None and "33% from the best sample" in f.detail


def test_dataloader_workers_and_storage_below_device() -> None:
    m = CostModel(Represented(64, 2.0, 8760, "team a, 64 GPUs"), input_share=0.2)
    slow = result(
        10, "storage.dataloader", "samples_per_s", [100.0] * 3, num_workers=0, cache="cold"
    )
    fast = result(
        11, "storage.dataloader", "samples_per_s", [300.0] * 3, num_workers=2, cache="cold"
    )
    mb = result(12, "storage.dataloader", "mb_per_s", [20.0] * 3, num_workers=2, cache="cold")
    dev = result(13, "storage.fio", "bw", [500.0] * 3, rw="read")
    found = {f.kind: f for f in bench_findings([slow, fast, mb, dev], m)}
    loader = found["bench.dataloader_workers"]
    assert [e.source for e in loader.evidence] == ["result:11", "result:10"]
    assert loader.cost is not None
    assert loader.cost.gpu_hours_per_year == pytest.approx(0.2 * (1 - 1 / 3) * 64 * 8760, abs=0.1)
    storage = found["bench.storage_below_device"]
    assert storage.cost is not None
    assert storage.cost.usd_per_year == pytest.approx(
        0.2 * (1 - 20 / 500) * 64 * 8760 * 2.0, abs=0.01
    )


def test_failed_results_give_nothing() -> None:
    r = result(1, "compute.gemm", "tflops", [1.0])
    r.summary = None
    assert bench_findings([r]) == []
