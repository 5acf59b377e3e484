"""Trace-driven discrete-event simulation of GPU jobs on nodes, with gang scheduling.

A job needs all its GPUs at once (a gang). With ``node_gpus`` set, a job of ``g <= node_gpus``
GPUs must fit on one node (best fit: the node with the fewest free GPUs that suffice) and a
larger job takes ``g // node_gpus`` whole free nodes plus the remainder on one more node;
without it the cluster is one pool of GPUs. Policies, all non-preemptive:

- ``fifo``: jobs start in arrival order; the head of the queue blocks the rest.
- ``sjf``: the shortest waiting job starts first (durations known); it blocks the rest.
- ``backfill``: FIFO with EASY backfilling (Lifka 1995; Slurm's ``sched/backfill``): the
  head gets a reservation at the earliest time it fits given the running jobs' ends, and a
  later job may jump ahead when it fits now and does not delay that reservation.

Speed: FIFO needs no event list. Each job starts at ``max(its arrival, the previous
start)``, after releasing every job that ended by then, or at the next ends until it fits;
one heap of running jobs' ends and per-node free counts (bucketed by free count, so best
fit costs at most ``node_gpus`` set look-ups) make it O(log n) per job in plain Python.
Arrivals and job sizes are drawn up front with NumPy. SJF and backfill run a general event
loop over arrivals and ends.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from itertools import islice
from typing import Literal, cast

import numpy as np
import numpy.typing as npt

from fleetwise.errors import InputError

Policy = Literal["fifo", "sjf", "backfill"]
POLICIES: tuple[Policy, ...] = ("fifo", "sjf", "backfill")
#: Jobs a backfill pass looks at behind the head (Slurm's ``bf_max_job_test`` idea).
BACKFILL_DEPTH = 100
_INF = float("inf")

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Workload:
    """Jobs in arrival order: arrival time (s), GPUs, duration (s)."""

    arrivals_s: FloatArray
    gpus: IntArray
    durations_s: FloatArray

    def __post_init__(self) -> None:
        n = len(self.arrivals_s)
        if len(self.gpus) != n or len(self.durations_s) != n:
            raise InputError("workload: arrivals, gpus and durations differ in length")
        if n and (np.any(np.diff(self.arrivals_s) < 0) or np.any(self.gpus < 1)):
            raise InputError("workload: arrivals must be sorted and every job needs >= 1 GPU")

    @property
    def gpu_seconds(self) -> FloatArray:
        return np.asarray(self.gpus * self.durations_s, dtype=np.float64)


@dataclass(frozen=True)
class Cluster:
    total_gpus: int
    #: GPUs per node; None: one pool (no placement constraint beyond the gang).
    node_gpus: int | None = None

    def __post_init__(self) -> None:
        if self.total_gpus < 1:
            raise InputError(f"cluster needs >= 1 GPU, got {self.total_gpus}")
        if self.node_gpus is not None and (self.node_gpus < 1 or self.total_gpus % self.node_gpus):
            raise InputError(
                f"{self.total_gpus} GPUs is not a whole number of {self.node_gpus}-GPU nodes"
            )

    @property
    def nodes(self) -> int:
        return 1 if self.node_gpus is None else self.total_gpus // self.node_gpus


@dataclass(frozen=True)
class SimResult:
    policy: Policy
    cluster: Cluster
    jobs: int  # measured jobs (after the warm-up)
    offered_load: float  # GPU-seconds arriving per second / GPUs
    utilization: float  # GPU-seconds served in the arrival window / (GPUs x window)
    mean_wait_s: float
    p50_wait_s: float
    p95_wait_s: float
    p99_wait_s: float
    max_wait_s: float
    waits_s: FloatArray  # every measured job's wait, in arrival order


def arrival_rate_for_load(load: float, total_gpus: int, work: FloatArray) -> float:
    """Jobs per second that offer ``load`` of ``total_gpus`` given GPU-seconds per job."""
    return load * total_gpus / float(np.mean(work))


def poisson_workload(
    gpus: npt.ArrayLike,
    durations_s: npt.ArrayLike,
    n_jobs: int,
    arrival_rate: float,
    seed: int = 0,
) -> Workload:
    """``n_jobs`` Poisson arrivals whose (GPUs, duration) pairs are drawn from a trace."""
    g = np.asarray(gpus, dtype=np.int64)
    d = np.asarray(durations_s, dtype=np.float64)
    if len(g) == 0 or len(g) != len(d):
        raise InputError("job sizes: need as many GPU counts as durations, and at least one")
    if arrival_rate <= 0:
        raise InputError(f"arrival rate must be > 0, got {arrival_rate}")
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(g), n_jobs)
    arrivals = np.cumsum(rng.exponential(1.0 / arrival_rate, n_jobs))
    return Workload(arrivals, g[pick], d[pick])


class _Nodes:
    """Free GPUs per node, bucketed by free count for best-fit placement."""

    def __init__(self, cluster: Cluster) -> None:
        self.size = cluster.node_gpus or cluster.total_gpus
        self.free = [self.size] * cluster.nodes
        self.buckets: list[set[int]] = [set() for _ in range(self.size + 1)]
        self.buckets[self.size] = set(range(cluster.nodes))

    def _move(self, node: int, delta: int) -> None:
        f = self.free[node]
        self.buckets[f].discard(node)
        self.free[node] = f + delta
        self.buckets[f + delta].add(node)

    def plan(self, gpus: int) -> list[tuple[int, int]] | None:
        """Where ``gpus`` would go now (node, count), or None; changes nothing."""
        size, buckets = self.size, self.buckets
        if len(self.free) == 1:
            return [(0, gpus)] if self.free[0] >= gpus else None
        whole, rest = divmod(gpus, size)
        full = buckets[size]
        if len(full) < whole:
            return None
        taken = list(full)[:whole] if whole else []
        plan = [(n, size) for n in taken]
        if rest:
            for f in range(rest, size + 1):
                spare = buckets[f] - set(taken) if f == size else buckets[f]
                if spare:
                    plan.append((min(spare), rest))
                    return plan
            return None
        return plan

    def take(self, plan: list[tuple[int, int]]) -> None:
        for node, count in plan:
            self._move(node, -count)

    def release(self, node: int, count: int) -> None:
        self._move(node, count)


def _fifo_pool(arr: list[float], gpus: list[int], dur: list[float], total: int) -> list[float]:
    heap: list[tuple[float, int]] = []
    push, pop = heapq.heappush, heapq.heappop
    free = total
    t = 0.0
    starts = [0.0] * len(arr)
    for i, a in enumerate(arr):
        if a > t:
            t = a
        need = gpus[i]
        while heap and heap[0][0] <= t:
            free += pop(heap)[1]
        while free < need:
            end, k = pop(heap)
            free += k
            t = end
        free -= need
        starts[i] = t
        push(heap, (t + dur[i], need))
    return starts


def _fifo_nodes(arr: list[float], gpus: list[int], dur: list[float], c: Cluster) -> list[float]:
    nodes = _Nodes(c)
    size, buckets, free_of = nodes.size, nodes.buckets, nodes.free
    heap: list[tuple[float, int, int]] = []
    push, pop = heapq.heappush, heapq.heappop
    t = 0.0
    starts = [0.0] * len(arr)
    for i, a in enumerate(arr):
        if a > t:
            t = a
        need = gpus[i]
        while heap and heap[0][0] <= t:
            _, node, k = pop(heap)
            f = free_of[node]
            buckets[f].discard(node)
            free_of[node] = f + k
            buckets[f + k].add(node)
        while True:
            if need <= size:  # the common case, inlined: best fit on one node
                placed = -1
                for f in range(need, size + 1):
                    if buckets[f]:
                        placed = buckets[f].pop()
                        free_of[placed] = f - need
                        buckets[f - need].add(placed)
                        break
                if placed >= 0:
                    push(heap, (t + dur[i], placed, need))
                    break
            else:
                plan = nodes.plan(need)
                if plan is not None:
                    nodes.take(plan)
                    for node, k in plan:
                        push(heap, (t + dur[i], node, k))
                    break
            end, node, k = pop(heap)
            nodes.release(node, k)
            t = end
        starts[i] = t
    return starts


def _event_loop(
    arr: list[float], gpus: list[int], dur: list[float], c: Cluster, policy: Policy
) -> list[float]:
    nodes = _Nodes(c)
    heap: list[tuple[float, int, int]] = []
    starts = [0.0] * len(arr)
    fifo: deque[int] = deque()
    by_length: list[tuple[float, int]] = []

    def start(j: int, t: float, plan: list[tuple[int, int]]) -> None:
        nodes.take(plan)
        for node, k in plan:
            heapq.heappush(heap, (t + dur[j], node, k))
        starts[j] = t

    def shadow(head: int) -> tuple[float, list[int]]:
        """When the head fits if nothing else starts, and the free GPUs then (head placed)."""
        free = list(nodes.free)
        when = _INF
        for end, node, k in sorted(heap):
            free[node] += k
            if _fits(free, gpus[head], nodes.size):
                when = end
                break
        _place_copy(free, gpus[head], nodes.size)
        return when, free

    def schedule_backfill(t: float) -> None:
        while fifo:
            plan = nodes.plan(gpus[fifo[0]])
            if plan is None:
                break
            start(fifo.popleft(), t, plan)
        if len(fifo) < 2:
            return
        when, later = shadow(fifo[0])
        chosen: list[int] = []
        for j in list(islice(fifo, 1, BACKFILL_DEPTH + 1)):
            plan = nodes.plan(gpus[j])
            if plan is None:
                continue
            if t + dur[j] > when:  # still running at the reservation: must not take its GPUs
                if any(later[node] < k for node, k in plan):
                    continue
                for node, k in plan:
                    later[node] -= k
            start(j, t, plan)
            chosen.append(j)
        for j in chosen:
            fifo.remove(j)

    def schedule_sjf(t: float) -> None:
        while by_length:
            plan = nodes.plan(gpus[by_length[0][1]])
            if plan is None:
                break
            start(heapq.heappop(by_length)[1], t, plan)

    schedule: Callable[[float], None] = schedule_sjf if policy == "sjf" else schedule_backfill
    i, n = 0, len(arr)
    while i < n or fifo or by_length:
        t = min(arr[i] if i < n else _INF, heap[0][0] if heap else _INF)
        while heap and heap[0][0] <= t:
            _, node, k = heapq.heappop(heap)
            nodes.release(node, k)
        while i < n and arr[i] <= t:
            if policy == "sjf":
                heapq.heappush(by_length, (dur[i], i))
            else:
                fifo.append(i)
            i += 1
        schedule(t)
    return starts


def _fits(free: list[int], gpus: int, size: int) -> bool:
    """Would ``gpus`` fit on nodes with these free counts (whole nodes plus a remainder)?"""
    if len(free) == 1:
        return free[0] >= gpus
    whole, rest = divmod(gpus, size)
    full = sum(1 for f in free if f == size)
    if not rest:
        return full >= whole
    return full > whole or (full >= whole and any(rest <= f < size for f in free))


def _place_copy(free: list[int], gpus: int, size: int) -> None:
    if len(free) == 1:
        free[0] -= min(gpus, free[0])
        return
    whole, rest = divmod(gpus, size)
    for _ in range(whole):
        free[free.index(size)] = 0
    if rest:
        fitting = [(f, n) for n, f in enumerate(free) if f >= rest]
        if fitting:
            f, n = min(fitting)
            free[n] = f - rest


def start_times(workload: Workload, cluster: Cluster, policy: Policy = "fifo") -> FloatArray:
    """When each job starts under ``policy`` (the simulation itself)."""
    if policy not in POLICIES:
        raise InputError(f"unknown policy {policy!r}: choose one of {', '.join(POLICIES)}")
    if len(workload.gpus) and int(workload.gpus.max()) > cluster.total_gpus:
        raise InputError(
            f"a job needs {int(workload.gpus.max())} GPUs, more than the cluster's "
            f"{cluster.total_gpus}"
        )
    # plain lists: indexing them is several times faster than indexing arrays in the loop
    arr = cast(list[float], workload.arrivals_s.tolist())
    gpus = cast(list[int], workload.gpus.tolist())
    dur = cast(list[float], workload.durations_s.tolist())
    if policy == "fifo" and cluster.node_gpus is None:
        starts = _fifo_pool(arr, gpus, dur, cluster.total_gpus)
    elif policy == "fifo":
        starts = _fifo_nodes(arr, gpus, dur, cluster)
    else:
        starts = _event_loop(arr, gpus, dur, cluster, policy)
    return np.asarray(starts, dtype=np.float64)


def busy_fraction(
    starts: FloatArray, workload: Workload, total_gpus: int, t0: float, t1: float
) -> float:
    """GPU-seconds running inside ``[t0, t1]`` over ``total_gpus * (t1 - t0)``."""
    if t1 <= t0:
        return 0.0
    ends = starts + workload.durations_s
    overlap = np.clip(np.minimum(ends, t1) - np.maximum(starts, t0), 0.0, None)
    return float((overlap * workload.gpus).sum() / (total_gpus * (t1 - t0)))


def simulate(
    workload: Workload, cluster: Cluster, policy: Policy = "fifo", warmup: float = 0.1
) -> SimResult:
    """Simulate and summarise the waits of the jobs after the first ``warmup`` fraction."""
    n = len(workload.arrivals_s)
    if n < 10:
        raise InputError(f"simulation needs at least 10 jobs, got {n}")
    starts = start_times(workload, cluster, policy)
    waits = np.asarray(starts - workload.arrivals_s, dtype=np.float64)[int(n * warmup) :]
    t0, t1 = float(workload.arrivals_s[int(n * warmup)]), float(workload.arrivals_s[-1])
    p50, p95, p99 = np.percentile(waits, [50, 95, 99])
    return SimResult(
        policy=policy,
        cluster=cluster,
        jobs=len(waits),
        offered_load=float(workload.gpu_seconds.sum())
        / (cluster.total_gpus * float(workload.arrivals_s[-1] - workload.arrivals_s[0])),
        utilization=busy_fraction(starts, workload, cluster.total_gpus, t0, t1),
        mean_wait_s=float(waits.mean()),
        p50_wait_s=float(p50),
        p95_wait_s=float(p95),
        p99_wait_s=float(p99),
        max_wait_s=float(waits.max()),
        waits_s=waits,
    )


def max_sustainable_utilization(
    gpus: npt.ArrayLike,
    durations_s: npt.ArrayLike,
    cluster: Cluster,
    policy: Policy = "fifo",
    n_jobs: int = 20_000,
    seed: int = 0,
) -> float:
    """Utilization with an endless queue: the highest load the cluster can keep up with.

    Every job arrives at once, so the scheduler always has work; the busy fraction until
    the last job starts (before the drain) is the throughput limit that gang placement and
    head-of-line blocking leave. A load above it makes the queue grow without bound.
    """
    g = np.asarray(gpus, dtype=np.int64)
    d = np.asarray(durations_s, dtype=np.float64)
    pick = np.random.default_rng(seed).integers(0, len(g), n_jobs)
    saturated = Workload(np.zeros(n_jobs), g[pick], d[pick])
    starts = start_times(saturated, cluster, policy)
    return busy_fraction(starts, saturated, cluster.total_gpus, 0.0, float(starts.max()))
