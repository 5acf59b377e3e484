"""Findings from a stored benchmark run: what its numbers say is worth fixing, and its cost.

Four kinds, each with evidence pointing at the results (``result:<id>``):

- ``bench.low_efficiency``: a result below ``LOW_EFFICIENCY`` of its hardware peak (MFU for
  the training step). Wasted share = 1 - efficiency / ``TARGET_EFFICIENCY``: the time the
  same work would take at an efficiency well-tuned code reaches (PaLM's 46% MFU, Chowdhery
  et al. 2022, table 3; cuBLAS GEMMs run at 70-90% of peak).
- ``bench.unstable``: a result whose samples vary more than ``stats.CV_WARN``. Wasted share
  = the gap between the median sample and the best one (what removing the noise source
  would give back), as pyperf warns on the same condition.
- ``bench.dataloader_workers``: ``storage.dataloader`` cases that differ only in
  ``num_workers`` and whose samples/s differ by at least ``LOADER_GAIN``. Wasted share =
  ``input_share x (1 - slow / fast)``: jobs configured like the slow case wait on input.
- ``bench.storage_below_device``: a cold-cache data loader reading at under
  ``STORAGE_RATIO`` of the device's sequential read bandwidth (``storage.fio`` rw=read in the
  same run). Wasted share = ``input_share x (1 - loader / device)``.

Cost as for trace findings (``analyze.findings``): the wasted share (``Finding.share``) of the
GPUs the run's host represents in the fleet profile, times hours per year, at the profile's
price. A host that represents nothing (a CPU test machine, a laptop) gets no cost: its
findings are that host's only.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from fleetwise.analyze.findings import Represented
from fleetwise.models import (
    Cost,
    Evidence,
    Finding,
    FindingLayer,
    ResultRecord,
    ResultStatus,
    Severity,
)
from fleetwise.stats import CV_WARN
from fleetwise.units import sig

LOW_EFFICIENCY = 0.4
TARGET_EFFICIENCY = 0.6
LOADER_GAIN = 1.2
STORAGE_RATIO = 0.5
#: Share of a training step spent waiting on input when the loader is the slow one: an
#: assumption (HTA's idle-time breakdown on a host-bound trace measures it for a real job).
DEFAULT_INPUT_SHARE = 0.2


@dataclass(frozen=True)
class CostModel:
    """What a run's host represents in the fleet (the profile's ``workloads``; None: this
    host only, no fleet cost) and the assumed input share of a training step."""

    represents: Represented | None = None
    input_share: float = DEFAULT_INPUT_SHARE

    def cost(self, wasted_share: float, basis: str) -> Cost | None:
        rep = self.represents
        if rep is None:
            return None
        return Cost.of_gpu_hours(
            wasted_share * rep.gpus * rep.hours_per_year,
            rep.usd_per_gpu_hour,
            basis,
            represents=rep.label,
            represented_gpus=rep.gpus,
            hours_per_year=rep.hours_per_year,
            wasted_share=round(wasted_share, 6),
        )


def _severity(wasted: float) -> Severity:
    for bound, sev in ((0.5, Severity.CRITICAL), (0.25, Severity.HIGH), (0.1, Severity.MEDIUM)):
        if wasted >= bound:
            return sev
    return Severity.LOW if wasted >= 0.02 else Severity.INFO


_LAYERS: dict[str, FindingLayer] = {
    "compute": "compute",
    "storage": "storage",
    "orchestration": "orchestration",
    "network": "network",
}


def _layer(r: ResultRecord) -> FindingLayer:
    return _LAYERS.get(r.layer, "compute")


def _src(r: ResultRecord) -> str:
    return f"result:{r.id}"


def _case(r: ResultRecord) -> str:
    shown = ", ".join(f"{k}={v}" for k, v in sorted(r.params.items()) if v is not None)
    return f"{r.benchmark} [{shown}]"


def _ok(results: Sequence[ResultRecord]) -> list[ResultRecord]:
    return [r for r in results if r.status is ResultStatus.OK and r.summary is not None]


def _on_gpu(r: ResultRecord) -> bool:
    """Whether the result was measured on a GPU (declared, or resolved from ``auto``)."""
    device = r.params.get("device") or r.calibration.get("resolved", {}).get("device") or "cpu"
    return str(device).startswith(("cuda", "gpu", "hip"))


def _low_efficiency(r: ResultRecord, m: CostModel) -> Finding | None:
    assert r.summary is not None
    eff = r.summary.median if r.metric == "mfu" else r.efficiency
    if eff is None or eff <= 0 or eff >= LOW_EFFICIENCY:
        return None
    wasted = 1.0 - eff / TARGET_EFFICIENCY
    peak = f" of {sig(r.peak.value)} {r.peak.unit} ({r.peak.source})" if r.peak else ""
    # A CPU's efficiency says nothing about the GPU fleet's: no fleet cost is claimed for it.
    cost = (
        m.cost(wasted, f"time saved at {TARGET_EFFICIENCY:.0%} efficiency") if _on_gpu(r) else None
    )
    where = (
        ""
        if _on_gpu(r)
        else " Measured on a CPU: no GPU-fleet cost is claimed; run the gpu suite on a fleet"
        " node for one."
    )
    return Finding(
        kind="bench.low_efficiency",
        layer=_layer(r),
        title=f"{_case(r)} {r.metric} runs at {eff:.0%} of peak",
        detail=(
            f"median {sig(r.summary.median)} {r.unit}{peak}; at {TARGET_EFFICIENCY:.0%} the "
            f"same work would take {wasted:.0%} less time.{where}"
        ),
        severity=_severity(wasted),
        evidence=[
            Evidence(
                label=f"{r.metric} median", value=r.summary.median, unit=r.unit, source=_src(r)
            ),
            Evidence(label="efficiency", value=round(eff, 4), unit="fraction", source=_src(r)),
        ],
        cost=cost,
        share=wasted if _on_gpu(r) else None,
        recommendations=["bf16 autocast", "torch.compile", "larger batch per device"],
    )


def _unstable(r: ResultRecord, m: CostModel) -> Finding | None:
    s = r.summary
    assert s is not None
    if s.cv <= CV_WARN or s.median <= 0 or s.min <= 0:
        return None
    wasted = 1.0 - s.median / s.max if r.direction == "higher" else 1.0 - s.min / s.median
    return Finding(
        kind="bench.unstable",
        layer=_layer(r),
        title=f"{_case(r)} {r.metric} is unstable (CV {s.cv:.0%})",
        detail=(
            f"{s.n} samples from {sig(s.min)} to {sig(s.max)} {r.unit}; comparisons of this case "
            f"need more runs. The median is {wasted:.0%} from the best sample. A finding about "
            "the measurement, not the fleet: no fleet cost is claimed"
        ),
        severity=Severity.MEDIUM if s.cv > 2 * CV_WARN else Severity.LOW,
        evidence=[
            Evidence(label="cv", value=round(s.cv, 4), unit="fraction", source=_src(r)),
            Evidence(label="median", value=s.median, unit=r.unit, source=_src(r)),
            Evidence(
                label="best sample",
                value=s.max if r.direction == "higher" else s.min,
                unit=r.unit,
                source=_src(r),
            ),
        ],
        cost=None,
        recommendations=["pin cores and clocks", "run on a dedicated node", "interleave A/B runs"],
    )


def _loader_groups(results: Sequence[ResultRecord]) -> dict[str, list[ResultRecord]]:
    groups: dict[str, list[ResultRecord]] = {}
    for r in results:
        if r.benchmark == "storage.dataloader" and r.metric == "samples_per_s":
            rest = {k: v for k, v in r.params.items() if k != "num_workers"}
            groups.setdefault(json.dumps(rest, sort_keys=True), []).append(r)
    return groups


def _median(r: ResultRecord) -> float:
    return r.summary.median if r.summary else 0.0


def _dataloader_workers(group: Sequence[ResultRecord], m: CostModel) -> Finding | None:
    if len({r.params.get("num_workers") for r in group}) < 2:
        return None
    slow, fast = min(group, key=_median), max(group, key=_median)
    if _median(slow) <= 0 or _median(fast) / _median(slow) < LOADER_GAIN:
        return None
    gain = _median(fast) / _median(slow)
    wasted = m.input_share * (1.0 - _median(slow) / _median(fast))
    nw_fast, nw_slow = fast.params.get("num_workers"), slow.params.get("num_workers")
    return Finding(
        kind="bench.dataloader_workers",
        layer="storage",
        title=f"DataLoader with num_workers={nw_fast} is {gain:.2f}x num_workers={nw_slow}",
        detail=(
            f"{sig(_median(fast))} vs {sig(_median(slow))} samples/s on the same files; jobs "
            f"configured like the slow case wait on input (assumed {m.input_share:.0%} of a step)"
        ),
        severity=_severity(wasted),
        evidence=[
            Evidence(
                label=f"samples/s, num_workers={nw_fast}",
                value=_median(fast),
                unit="samples/s",
                source=_src(fast),
            ),
            Evidence(
                label=f"samples/s, num_workers={nw_slow}",
                value=_median(slow),
                unit="samples/s",
                source=_src(slow),
            ),
        ],
        cost=m.cost(
            wasted, f"input wait ({m.input_share:.0%} of a step) saved by the fast setting"
        ),
        share=wasted,
        recommendations=[f"num_workers={nw_fast}", "persistent_workers=True for short epochs"],
    )


def _storage_below_device(results: Sequence[ResultRecord], m: CostModel) -> Finding | None:
    device = [
        r
        for r in results
        if r.benchmark == "storage.fio" and r.metric == "bw" and r.params.get("rw") == "read"
    ]
    loaders = [
        r
        for r in results
        if r.benchmark == "storage.dataloader"
        and r.metric == "mb_per_s"
        and r.params.get("cache") == "cold"
    ]
    if not device or not loaders:
        return None
    dev, best = max(device, key=_median), max(loaders, key=_median)
    if _median(dev) <= 0:
        return None
    ratio = _median(best) / _median(dev)
    if ratio >= STORAGE_RATIO:
        return None
    wasted = m.input_share * (1.0 - ratio)
    return Finding(
        kind="bench.storage_below_device",
        layer="storage",
        title=f"Data loader reads at {ratio:.0%} of the device's sequential bandwidth",
        detail=(
            f"best cold-cache loader {sig(_median(best))} MB/s vs fio sequential read "
            f"{sig(_median(dev))} MB/s: per-file costs, not the device, limit input"
        ),
        severity=_severity(wasted),
        evidence=[
            Evidence(label="loader MB/s", value=_median(best), unit="MB/s", source=_src(best)),
            Evidence(label="device read MB/s", value=_median(dev), unit="MB/s", source=_src(dev)),
        ],
        cost=m.cost(wasted, f"input wait ({m.input_share:.0%} of a step) x unused bandwidth"),
        share=wasted,
        recommendations=["pack small files into shards", "more loader workers"],
    )


def bench_findings(
    results: Sequence[ResultRecord], model: CostModel = CostModel()
) -> list[Finding]:
    """Findings of one run's results (stored ones: evidence cites their ids), costliest first."""
    ok = _ok(results)
    found: list[Finding | None] = [_low_efficiency(r, model) for r in ok]
    # One unstable finding per case: a case's metrics come from the same samples (samples/s
    # and MB/s of one epoch), so they are one problem; the noisiest metric speaks for it.
    noisiest: dict[str, ResultRecord] = {}
    for r in ok:
        assert r.summary is not None
        held = noisiest.get(r.case_key)
        if held is None or (held.summary is not None and r.summary.cv > held.summary.cv):
            noisiest[r.case_key] = r
    found += [_unstable(r, model) for r in noisiest.values()]
    found += [_dataloader_workers(g, model) for g in _loader_groups(ok).values()]
    found.append(_storage_below_device(ok, model))
    real = [f for f in found if f is not None]
    return sorted(real, key=lambda f: -(f.cost.usd_per_year if f.cost else 0.0))
