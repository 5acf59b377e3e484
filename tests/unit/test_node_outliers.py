"""Slow nodes of a fleet-wide run, and the targets a Ray cluster offers."""

from __future__ import annotations

import pytest

from fleetwise.analyze.node_outliers import node_outliers, outlier_findings
from fleetwise.collect.executors.ray import targets
from fleetwise.errors import InputError
from fleetwise.models import ResultRecord
from fleetwise.stats import summarize


def _result(rid: int, median: float, metric: str = "tflops", direction: str = "higher"):
    samples = [median * 0.99, median, median * 1.01]
    return ResultRecord(
        id=rid,
        case_key="000-a",
        case_index=0,
        benchmark="compute.gemm",
        layer="compute",
        params={"size": 1024},
        metric=metric,
        unit="TFLOP/s" if direction == "higher" else "ms",
        direction=direction,  # type: ignore[arg-type]
        samples=samples,
        summary=summarize(samples),
    )


def test_a_node_fifteen_percent_slower_is_an_outlier() -> None:
    runs = {
        "n1": (1, [_result(1, 100.0), _result(2, 10.0, "latency", "lower")]),
        "n2": (2, [_result(3, 101.0), _result(4, 10.1, "latency", "lower")]),
        "n3": (3, [_result(5, 80.0), _result(6, 12.5, "latency", "lower")]),
        "n4": (4, [_result(7, 99.0), _result(8, 9.9, "latency", "lower")]),
    }
    found = node_outliers(runs)
    assert {(o.node, o.metric) for o in found} == {("n3", "tflops"), ("n3", "latency")}
    tf = next(o for o in found if o.metric == "tflops")
    assert tf.peers_median == 100.0 and tf.slowdown == pytest.approx(0.2)
    lat = next(o for o in found if o.metric == "latency")
    assert lat.slowdown == pytest.approx(1 - 10.0 / 12.5)
    (finding,) = outlier_findings(found, {"n3": 8}, usd_per_gpu_hour=2.0, hours_per_year=8760)
    assert finding.kind == "fleet.slow_node" and finding.layer == "compute"
    assert finding.cost is not None
    assert finding.cost.gpu_hours_per_year == pytest.approx(0.2 * 8 * 8760)
    assert finding.cost.usd_per_year == pytest.approx(0.2 * 8 * 8760 * 2.0)
    assert {e.source for e in finding.evidence} == {"result:5", "result:6"}


def test_fourteen_percent_is_not_and_one_node_has_no_peers() -> None:
    runs = {"a": (1, [_result(1, 100.0)]), "b": (2, [_result(2, 86.5)])}
    assert node_outliers(runs) == []
    assert node_outliers({"a": (1, [_result(1, 100.0)])}) == []


def test_targets_per_node_and_per_gpu() -> None:
    nodes = [
        {"NodeID": "b" * 8, "Alive": True, "NodeManagerAddress": "10.0.0.2",
         "Resources": {"CPU": 8.0, "GPU": 2.0}},
        {"NodeID": "a" * 8, "Alive": True, "NodeManagerAddress": "10.0.0.1",
         "Resources": {"CPU": 4.0}},
        {"NodeID": "c" * 8, "Alive": False, "NodeManagerAddress": "10.0.0.3",
         "Resources": {"CPU": 4.0, "GPU": 8.0}},
    ]  # fmt: skip
    assert [t.label for t in targets(nodes, "node")] == ["10.0.0.1/aaaaaaaa", "10.0.0.2/bbbbbbbb"]
    assert [t.label for t in targets(nodes, "gpu")] == [
        "10.0.0.2/bbbbbbbb/gpu0",
        "10.0.0.2/bbbbbbbb/gpu1",
    ]
    with pytest.raises(InputError, match="no GPUs"):
        targets(nodes[1:2], "gpu")
