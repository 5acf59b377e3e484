"""Closed-form queueing: Erlang C (M/M/c) and the Allen-Cunneen M/G/c approximation.

These are the fast lower bounds of GPU sizing (DESIGN.md, "Capacity"): they treat the
cluster as ``c`` interchangeable servers and ignore gang scheduling, so they under-predict
the waits of multi-GPU jobs by orders of magnitude. ``simulate.py`` gives the real answer.

Definitions (Kleinrock, *Queueing Systems* vol. 1; Allen, *Probability, Statistics and
Queueing Theory*, 2nd ed., 1990, eq. 6.53):

- offered load ``a = lambda / mu`` (Erlangs), utilization ``rho = a / c``;
- Erlang C, the probability that an arrival waits, from the Erlang B recursion
  ``B(0) = 1, B(k) = a B(k-1) / (k + a B(k-1))``, ``C = c B / (c - a (1 - B))``
  (stable for thousands of servers, unlike the factorial sum);
- mean wait ``Wq = C / (c mu - lambda)``; the wait is 0 with probability ``1 - C`` and
  exponential with rate ``c mu - lambda`` otherwise, so ``P(W > t) = C exp(-(c mu - lambda) t)``;
- Allen-Cunneen: ``Wq(M/G/c) ~ Wq(M/M/c) (ca^2 + cs^2) / 2`` with the squared
  coefficients of variation of inter-arrival and service times.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from fleetwise.errors import InputError


def erlang_c(servers: int, offered_load: float) -> float:
    """Probability that an arrival waits in M/M/c (1.0 when the queue is unstable)."""
    if servers < 1:
        raise InputError(f"servers must be >= 1, got {servers}")
    if offered_load < 0:
        raise InputError(f"offered load must be >= 0, got {offered_load}")
    if offered_load >= servers:
        return 1.0
    blocking = 1.0
    for k in range(1, servers + 1):
        blocking = offered_load * blocking / (k + offered_load * blocking)
    return servers * blocking / (servers - offered_load * (1 - blocking))


@dataclass(frozen=True)
class QueueEstimate:
    """Waits predicted by a closed form (seconds); ``inf`` when the queue is unstable."""

    method: str
    servers: int
    utilization: float
    wait_probability: float
    mean_wait_s: float
    p95_wait_s: float
    p99_wait_s: float


def _quantile(p_wait: float, drain_rate: float, q: float) -> float:
    # P(W > t) = C exp(-drain t): the q-quantile is 0 when the tail mass 1-q >= C.
    if p_wait <= 1 - q:
        return 0.0
    return math.log(p_wait / (1 - q)) / drain_rate


def mmc(arrival_rate: float, mean_service_s: float, servers: int) -> QueueEstimate:
    """Erlang C waits for Poisson arrivals and exponential service."""
    if arrival_rate <= 0 or mean_service_s <= 0:
        raise InputError("arrival rate and mean service time must be > 0")
    load = arrival_rate * mean_service_s
    rho = load / servers
    if rho >= 1:
        inf = math.inf
        return QueueEstimate("erlang-c", servers, rho, 1.0, inf, inf, inf)
    p_wait = erlang_c(servers, load)
    drain = servers / mean_service_s - arrival_rate
    return QueueEstimate(
        "erlang-c",
        servers,
        rho,
        p_wait,
        p_wait / drain,
        _quantile(p_wait, drain, 0.95),
        _quantile(p_wait, drain, 0.99),
    )


def allen_cunneen(
    arrival_rate: float,
    mean_service_s: float,
    servers: int,
    arrival_cv2: float,
    service_cv2: float,
) -> QueueEstimate:
    """M/G/c (G/G/c) approximation: Erlang C scaled by ``(ca^2 + cs^2) / 2``.

    The percentiles keep the exponential shape of the M/M/c tail, scaled the same way;
    they are rough for heavy-tailed service and meant as a lower bound only.
    """
    base = mmc(arrival_rate, mean_service_s, servers)
    factor = (arrival_cv2 + service_cv2) / 2
    return QueueEstimate(
        "allen-cunneen",
        servers,
        base.utilization,
        base.wait_probability,
        base.mean_wait_s * factor,
        base.p95_wait_s * factor,
        base.p99_wait_s * factor,
    )


def cv2(values: npt.ArrayLike) -> float:
    """Squared coefficient of variation (population variance over mean squared)."""
    x = np.asarray(values, dtype=np.float64)
    mean = float(x.mean())
    return float(x.var() / (mean * mean)) if mean > 0 else 0.0


def gpu_lower_bounds(
    arrival_rate: float,
    gpus: npt.ArrayLike,
    durations_s: npt.ArrayLike,
    total_gpus: int,
) -> tuple[QueueEstimate, QueueEstimate]:
    """Erlang C and Allen-Cunneen for GPU jobs, as if every job were divisible.

    Each GPU is a server and a job's service is its GPU-seconds ``gpus * duration``, so the
    offered load is the cluster's true GPU load; what is ignored is that a job needs all its
    GPUs at once (and on few nodes). Poisson arrivals: ``ca^2 = 1``.
    """
    work = np.asarray(gpus, dtype=np.float64) * np.asarray(durations_s, dtype=np.float64)
    mean = float(work.mean())
    return (
        mmc(arrival_rate, mean, total_gpus),
        allen_cunneen(arrival_rate, mean, total_gpus, 1.0, cv2(work)),
    )
