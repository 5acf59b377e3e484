"""Node health from DCGM's XID and ECC fields: which GPUs were unhealthy, why, how long.

A GPU is unhealthy at a sample when any of these holds (each from NVIDIA's documentation
of the field; the XID classes from ``collect/xid.py``):

- its last XID (``DCGM_FI_DEV_XID_ERRORS``) is not 0 and not an application fault
  (13, 31, 43, 45 are the program's, not the GPU's: reported as information only);
- uncorrected (double-bit) ECC errors since the driver loaded (``ECC_DBE_VOL_TOTAL`` > 0):
  the memory holds bad rows until the GPU is reset;
- row remapping failed (``ROW_REMAP_FAILURE`` > 0) or a page retirement is pending
  (``RETIRED_PENDING`` > 0): the GPU needs a reset, or a replacement.

Hours unhealthy = the sum of the sample intervals that start in an unhealthy state (the
GPU's last sample counts the file's median interval). Corrected (single-bit) errors, pages
already retired and remapped rows are evidence, not ill health.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from fleetwise.collect.importers import dcgm
from fleetwise.collect.xid import xid
from fleetwise.models import Cost, Evidence, Finding, Severity


@dataclass(frozen=True)
class GpuHealth:
    host: str
    gpu: str
    samples: int
    unhealthy_hours: float
    first_unhealthy: datetime | None
    #: XID codes seen (not 0), in the order first seen.
    xids: tuple[int, ...] = ()
    #: Field -> increase over the file (counters) or the highest value (XID excluded).
    counters: dict[str, float] = field(default_factory=dict)

    @property
    def unhealthy(self) -> bool:
        return self.unhealthy_hours > 0

    @property
    def hardware_xids(self) -> tuple[int, ...]:
        return tuple(c for c in self.xids if xid(c).unhealthy)

    @property
    def application_xids(self) -> tuple[int, ...]:
        return tuple(c for c in self.xids if not xid(c).unhealthy)

    def reasons(self) -> list[str]:
        out = [f"XID {c} ({xid(c).meaning})" for c in self.hardware_xids]
        if self.counters.get(dcgm.ECC_DBE, 0) > 0:
            out.append(f"{self.counters[dcgm.ECC_DBE]:.0f} uncorrected ECC errors")
        if self.counters.get(dcgm.REMAP_FAILURE, 0) > 0:
            out.append("row remapping failed")
        if self.counters.get(dcgm.RETIRED_PENDING, 0) > 0:
            out.append("page retirement pending")
        return out


def _unhealthy(state: dict[str, float]) -> bool:
    code = int(state.get(dcgm.XID, 0))
    return (
        (code != 0 and xid(code).unhealthy)
        or state.get(dcgm.ECC_DBE, 0) > 0
        or state.get(dcgm.REMAP_FAILURE, 0) > 0
        or state.get(dcgm.RETIRED_PENDING, 0) > 0
    )


def gpu_health(samples: Sequence[dcgm.Sample]) -> list[GpuHealth]:
    """Per GPU with health samples: its XIDs, counters and hours unhealthy."""
    by_gpu: dict[tuple[str, str], dict[datetime, dict[str, float]]] = defaultdict(
        lambda: defaultdict(dict)
    )
    for s in samples:
        by_gpu[(s.host, s.gpu)][s.time][s.field] = s.value
    steps = [
        float(np.median(np.diff(sorted(t.timestamp() for t in at))))
        for at in by_gpu.values()
        if len(at) > 1
    ]
    last_step_h = (float(np.median(steps)) if steps else 0.0) / 3600
    out = []
    for (host, gpu), at in sorted(by_gpu.items()):
        times = sorted(at)
        state: dict[str, float] = {}
        first_seen: dict[str, float] = {}
        xids: list[int] = []
        hours = 0.0
        first: datetime | None = None
        for i, t in enumerate(times):
            state.update(at[t])
            for f, v in at[t].items():
                first_seen.setdefault(f, v)
            code = int(at[t].get(dcgm.XID, 0))
            if code and code not in xids:
                xids.append(code)
            if _unhealthy(state):
                first = first or t
                step = (times[i + 1] - t).total_seconds() / 3600 if i + 1 < len(times) else None
                hours += last_step_h if step is None else step
        counters = {
            f: state[f] - first_seen[f] if f in (dcgm.ECC_SBE, dcgm.RETIRED_DBE) else state[f]
            for f in state
            if f != dcgm.XID
        }
        out.append(GpuHealth(host, gpu, len(times), hours, first, tuple(xids), counters))
    return out


def _severity(g: GpuHealth) -> Severity:
    kinds = {xid(c).kind for c in g.hardware_xids}
    if (
        kinds & {"memory", "gpu"}
        or g.counters.get(dcgm.REMAP_FAILURE, 0) > 0
        or g.counters.get(dcgm.ECC_DBE, 0) > 0
    ):
        return Severity.HIGH
    return Severity.MEDIUM


def health_findings(
    gpus: Sequence[GpuHealth], src: str, span_hours: float, usd: float, hours_per_year: float
) -> list[Finding]:
    """One finding per unhealthy GPU (its GPU-hours unhealthy, per year, claim the ledger's
    ``down`` bucket), and one information finding for application XIDs."""
    per_year = hours_per_year / span_hours if span_hours > 0 else 0.0
    out = []
    for g in gpus:
        if not g.unhealthy:
            continue
        reasons = g.reasons()
        actions = sorted({xid(c).action for c in g.hardware_xids})
        if g.counters.get(dcgm.ECC_DBE, 0) > 0 or g.counters.get(dcgm.RETIRED_PENDING, 0) > 0:
            actions.append("drain the node and reset the GPU (uncorrected ECC errors)")
        if g.counters.get(dcgm.REMAP_FAILURE, 0) > 0:
            actions.append("replace the GPU (row remapping failed)")
        when = f" from {g.first_unhealthy:%Y-%m-%d %H:%M}Z" if g.first_unhealthy else ""
        evidence = [
            Evidence(
                label="hours unhealthy", value=round(g.unhealthy_hours, 2), unit="h", source=src
            )
        ]
        evidence += [
            Evidence(label=f"XID {c}: {xid(c).meaning}", value=c, source=src) for c in g.xids
        ]
        evidence += [
            Evidence(label=f.removeprefix("DCGM_FI_DEV_"), value=v, source=src)
            for f, v in sorted(g.counters.items())
            if v
        ]
        out.append(
            Finding(
                kind="cluster.node_health",
                layer="orchestration",
                title=(
                    f"GPU {g.gpu} on {g.host or '?'} unhealthy {g.unhealthy_hours:,.1f} h{when}: "
                    + "; ".join(reasons)
                ),
                detail=(
                    "From DCGM's XID and ECC fields. Cost is the GPU-hours the GPU was "
                    "unhealthy; in the ledger it is a claim on 'down', which counts the nodes "
                    "the inventory marks down or drained (a GPU kept in service while "
                    "unhealthy is not in that bucket)."
                ),
                severity=_severity(g),
                evidence=evidence,
                cost=Cost.of_gpu_hours(
                    g.unhealthy_hours * per_year, usd, "GPU-hours unhealthy (XID/ECC), per year"
                ),
                recommendations=actions or ["check the GPU with `dcgmi diag -r 3`"],
            )
        )
    faults = [g for g in gpus if g.application_xids]
    if faults:
        codes = sorted({c for g in faults for c in g.application_xids})
        out.append(
            Finding(
                kind="cluster.application_xid",
                layer="orchestration",
                title=(
                    f"application faults (XID {', '.join(map(str, codes))}) on "
                    f"{len(faults)} GPU{'s' if len(faults) != 1 else ''}"
                ),
                detail=(
                    "XIDs the application causes (a bad kernel, an illegal address): the "
                    "GPU is fine; information only, not counted as down time."
                ),
                severity=Severity.INFO,
                evidence=[
                    Evidence(
                        label=f"GPU {g.gpu} on {g.host or '?'}",
                        value=", ".join(map(str, g.application_xids)),
                        source=src,
                    )
                    for g in faults[:20]
                ],
                recommendations=["Debug the jobs that ran on these GPUs (compute-sanitizer)."],
            )
        )
    return out
