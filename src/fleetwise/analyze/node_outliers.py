"""Nodes slower than their peers on the same case: the fleet-wide run's findings.

The runs of one fleet-wide run (one per node or GPU, see ``collect/executors/ray.py``)
executed the same cases. For every case and metric, each node's median is compared with
the median of the *other* nodes' medians; a node worse than that by ``threshold`` (15%
by default) in the metric's direction is an outlier. The peers' median, not the mean,
so that one bad node does not hide another.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fleetwise.models import (
    Cost,
    Evidence,
    Finding,
    FindingLayer,
    ResultRecord,
    ResultStatus,
    Severity,
)

#: A node this much slower than its peers on the same case is reported (issue 9).
DEFAULT_THRESHOLD = 0.15
_LAYERS: dict[str, FindingLayer] = {
    "compute": "compute",
    "storage": "storage",
    "network": "network",
    "orchestration": "orchestration",
}


@dataclass(frozen=True)
class NodeOutlier:
    node: str
    run_id: int
    benchmark: str
    params: dict[str, Any]
    metric: str
    unit: str
    value: float
    peers_median: float
    peers: int
    #: the fraction of its peers' performance the node loses (0.2 = 20% slower)
    slowdown: float
    result_id: int | None


def _slowdown(value: float, peers: float, direction: str) -> float:
    """How much slower than the peers: for higher-is-better metrics ``1 - v/p``, for
    lower-is-better (latencies) ``1 - p/v``; both are the share of throughput lost."""
    if value <= 0 or peers <= 0:
        return 0.0
    return 1.0 - value / peers if direction == "higher" else 1.0 - peers / value


def node_outliers(
    runs: Mapping[str, tuple[int, Sequence[ResultRecord]]],
    threshold: float = DEFAULT_THRESHOLD,
) -> list[NodeOutlier]:
    """``runs`` maps a node label to (run id, its results). Needs at least two nodes."""
    cases: dict[tuple[str, str, str], dict[str, ResultRecord]] = {}
    for node, (_, results) in runs.items():
        for r in results:
            if r.status is ResultStatus.OK and r.summary is not None:
                key = (r.benchmark, json.dumps(r.params, sort_keys=True), r.metric)
                cases.setdefault(key, {})[node] = r
    out = []
    for by_node in cases.values():
        if len(by_node) < 2:
            continue
        for node, r in by_node.items():
            assert r.summary is not None
            peers = [p.summary.median for n, p in by_node.items() if n != node and p.summary]
            ref = statistics.median(peers)
            slow = _slowdown(r.summary.median, ref, r.direction)
            if slow >= threshold:
                out.append(
                    NodeOutlier(
                        node=node,
                        run_id=runs[node][0],
                        benchmark=r.benchmark,
                        params=r.params,
                        metric=r.metric,
                        unit=r.unit,
                        value=r.summary.median,
                        peers_median=ref,
                        peers=len(peers),
                        slowdown=slow,
                        result_id=r.id,
                    )
                )
    return sorted(out, key=lambda o: (-o.slowdown, o.node, o.benchmark, o.metric))


def outlier_findings(
    outliers: Sequence[NodeOutlier],
    gpus_per_node: Mapping[str, int],
    *,
    usd_per_gpu_hour: float,
    hours_per_year: float,
) -> list[Finding]:
    """One finding per slow node (its worst case as the headline, every case as evidence).

    Cost: a node that runs ``s`` slower does ``s`` less work in every hour it is busy, so
    it wastes ``s x GPUs x hours per year`` GPU-hours a year at full allocation. Nodes without
    GPUs get no GPU-hour cost.
    """
    by_node: dict[str, list[NodeOutlier]] = {}
    for o in outliers:
        by_node.setdefault(o.node, []).append(o)
    findings = []
    for node, items in sorted(by_node.items()):
        worst = max(items, key=lambda o: o.slowdown)
        gpus = gpus_per_node.get(node, 0)
        cost = None
        if gpus > 0:
            hours = worst.slowdown * gpus * hours_per_year
            cost = Cost.of_gpu_hours(
                hours,
                usd_per_gpu_hour,
                f"worst slowdown x GPUs x {hours_per_year:,.0f} h (node fully allocated)",
                gpus_on_node=gpus,
            )
        layer = worst.benchmark.split(".")[0]  # compute.gemm -> compute
        findings.append(
            Finding(
                kind="fleet.slow_node",
                layer=_LAYERS.get(layer, "orchestration"),
                title=(
                    f"node {node} is {worst.slowdown:.0%} slower than its peers on "
                    f"{worst.benchmark} {worst.metric}"
                ),
                detail=f"{len(items)} case(s) at least 15% slower than the median of the peers",
                severity=Severity.HIGH if worst.slowdown >= 0.3 else Severity.MEDIUM,
                evidence=[
                    Evidence(
                        label=f"{o.benchmark} {o.metric} vs peers' median ({o.peers} nodes)",
                        value=round(o.value / o.peers_median, 4),
                        unit="ratio",
                        source=f"result:{o.result_id}" if o.result_id else f"run:{o.run_id}",
                    )
                    for o in items
                ],
                cost=cost,
                recommendations=[
                    "drain the node and check clocks, thermals and power capping",
                    "compare its fingerprint (driver, firmware, kernel) with a healthy peer",
                    "re-run the suite on it after the fix to confirm",
                ],
            )
        )
    return findings
