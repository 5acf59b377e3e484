"""The smallest cluster that meets a queue-wait SLO, by simulation and bisection.

Demand (GPU-hours per day) and a sample of real job sizes make one Poisson workload; the
same jobs and arrivals are simulated on every candidate size (common random numbers, so the
wait falls with size without sampling noise in between), and the size is bisected in whole
nodes between the first size that can carry the load and one that meets the SLO. Erlang C
and Allen-Cunneen give the size they would claim, as the lower bound they are.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from fleetwise.errors import InputError
from fleetwise.plan.queueing import QueueEstimate, gpu_lower_bounds
from fleetwise.plan.simulate import Cluster, Policy, SimResult, poisson_workload, simulate

Statistic = Literal["mean", "p50", "p95", "p99", "max"]
_UNIT_S = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hr": 3600, "d": 86400, "day": 86400}
_SLO = re.compile(
    r"\s*(mean|avg|p50|median|p95|p99|max)\s+wait\s*(<=|<)\s*([0-9]*\.?[0-9]+)\s*([a-z]+)\s*",
    re.IGNORECASE,
)
#: Doublings tried above the smallest stable size before giving up.
MAX_DOUBLINGS = 12


@dataclass(frozen=True)
class Slo:
    statistic: Statistic
    limit_s: float
    text: str

    def value_of(self, r: SimResult | QueueEstimate) -> float:
        if isinstance(r, SimResult):
            values = {
                "mean": r.mean_wait_s,
                "p50": r.p50_wait_s,
                "p95": r.p95_wait_s,
                "p99": r.p99_wait_s,
                "max": r.max_wait_s,
            }
            return values[self.statistic]
        by_stat = {"mean": r.mean_wait_s, "p95": r.p95_wait_s, "p99": r.p99_wait_s}
        return by_stat.get(self.statistic, r.mean_wait_s)

    def met_by(self, r: SimResult | QueueEstimate) -> bool:
        return self.value_of(r) < self.limit_s


def parse_slo(text: str) -> Slo:
    """``"p95 wait < 1h"``, ``"mean wait < 30 min"``, ``"p99 wait <= 2 h"``."""
    m = _SLO.fullmatch(text)
    unit = m.group(4).lower() if m else ""
    if m is None or unit not in _UNIT_S:
        raise InputError(
            f"--slo {text!r}: expected '<statistic> wait < <number><unit>' with statistic "
            f"mean, p50, p95, p99 or max and unit {', '.join(sorted(_UNIT_S))}"
        )
    stat = m.group(1).lower()
    stat = {"avg": "mean", "median": "p50"}.get(stat, stat)
    limit = float(m.group(3)) * _UNIT_S[unit]
    if limit <= 0:
        raise InputError(f"--slo {text!r}: the limit must be > 0")
    return Slo(stat, limit, text.strip())  # type: ignore[arg-type]  # checked by the regex


@dataclass(frozen=True)
class SizingStep:
    gpus: int
    value_s: float  # the SLO statistic simulated at this size
    met: bool


@dataclass(frozen=True)
class Sizing:
    slo: Slo
    policy: Policy
    node_gpus: int | None
    demand_gpu_hours_per_day: float
    arrival_rate_per_h: float
    offered_gpus: float  # mean GPUs busy at this demand
    gpus: int  # the answer: smallest size that meets the SLO
    result: SimResult  # the simulation at that size
    erlang_c_gpus: int  # what Erlang C would claim (lower bound)
    allen_cunneen_gpus: int
    steps: tuple[SizingStep, ...]


def _closed_form_size(
    slo: Slo, rate: float, g: npt.NDArray[np.int64], d: npt.NDArray[np.float64], lo: int
) -> tuple[int, int]:
    def smallest(which: int) -> int:
        c = lo
        while not slo.met_by(gpu_lower_bounds(rate, g, d, c)[which]):
            c = max(c + 1, int(c * 1.05))
        low, high = lo - 1, c  # bisect: low fails (or is below the range), high meets
        while high - low > 1:
            mid = (low + high) // 2
            if slo.met_by(gpu_lower_bounds(rate, g, d, mid)[which]):
                high = mid
            else:
                low = mid
        return high

    return smallest(0), smallest(1)


def size_cluster(
    gpus: npt.ArrayLike,
    durations_s: npt.ArrayLike,
    demand_gpu_hours_per_day: float,
    slo: Slo,
    policy: Policy = "fifo",
    node_gpus: int | None = 8,
    n_jobs: int = 50_000,
    seed: int = 0,
) -> Sizing:
    """Smallest cluster (whole nodes) whose simulated wait statistic meets ``slo``."""
    g = np.asarray(gpus, dtype=np.int64)
    d = np.asarray(durations_s, dtype=np.float64)
    if demand_gpu_hours_per_day <= 0:
        raise InputError(f"demand must be > 0 GPU-hours per day, got {demand_gpu_hours_per_day}")
    offered = demand_gpu_hours_per_day / 24.0  # GPUs busy on average
    rate = offered / float(np.mean(g * d))  # jobs per second
    workload = poisson_workload(g, d, n_jobs, rate, seed)
    unit = node_gpus or 1
    biggest = int(workload.gpus.max())
    first = max(math.floor(offered) + 1, biggest)
    lo_nodes = math.ceil(first / unit)

    steps: list[SizingStep] = []
    runs: dict[int, SimResult] = {}

    def met(nodes: int) -> bool:
        c = nodes * unit
        r = simulate(workload, Cluster(c, node_gpus), policy)
        runs[nodes] = r
        steps.append(SizingStep(c, slo.value_of(r), slo.met_by(r)))
        return slo.met_by(r)

    if met(lo_nodes):
        hi = lo_nodes
    else:
        hi = lo_nodes
        for _ in range(MAX_DOUBLINGS):
            hi *= 2
            if met(hi):
                break
        else:
            raise InputError(f"SLO {slo.text!r} not met even with {hi * unit} GPUs")
        low = lo_nodes
        while hi - low > 1:
            mid = (low + hi) // 2
            if met(mid):
                hi = mid
            else:
                low = mid
    erlang, allen = _closed_form_size(slo, rate, g, d, math.floor(offered) + 1)
    return Sizing(
        slo=slo,
        policy=policy,
        node_gpus=node_gpus,
        demand_gpu_hours_per_day=demand_gpu_hours_per_day,
        arrival_rate_per_h=rate * 3600,
        offered_gpus=offered,
        gpus=hi * unit,
        result=runs[hi],
        erlang_c_gpus=erlang,
        allen_cunneen_gpus=allen,
        steps=tuple(sorted(steps, key=lambda s: s.gpus)),
    )
