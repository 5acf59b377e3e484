"""Fragmentation on nodes: free GPUs stranded on partly used nodes, the largest gang that
could be placed, and the waits that placement (not the GPU count) caused.

Nodes are grouped in pools of one GPU model and one GPU count per node, as a gang does
not span models. For each node, free GPUs = its GPUs - those allocated (from a node-state
snapshot, or from the placements of the jobs running at the time); a down or drained
node has none. Then:

- stranded GPUs = free GPUs on partly used nodes (some but not all of their GPUs taken);
- a job is placed as the simulator (``plan/simulate.py``) and consolidating schedulers
  place it: a job of at most a node's GPUs on one node, a larger one on whole free nodes
  plus the remainder on one more node. So the largest gang that fits in a pool is
  (whole free nodes x GPUs per node) + the most free GPUs on a partly used node;
- a waiting job is *blocked by placement* while the cluster has at least its GPUs free
  but the largest gang is smaller: it could start by count, not by placement. The time in
  that state is an upper bound on the delay fragmentation caused (queue order and
  reservations may also have held the job);
- stranded GPU-hours while blocked = stranded GPUs integrated over the time at least one
  waiting job was blocked by placement: GPUs paid for and idle because they were in the
  wrong places.

History needs an inventory (``cluster nodes``) and placements for the started GPU jobs
(Slurm ``NodeList``, Philly ``detail``, a CSV ``hosts`` column). It counts every node of
the inventory as up (node states are a snapshot, not a history). Jobs running before the
log's first record are unknown, so free GPUs early in the log are overstated. Waiting jobs
larger than the largest pool can never start and are left out.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from fleetwise.models import JobRecord, NodeRecord

FloatArray = npt.NDArray[np.float64]

#: History is computed only when at least this share of started GPU jobs has a placement.
MIN_COVERAGE = 0.95


def latest_nodes(nodes: Iterable[NodeRecord]) -> dict[str, NodeRecord]:
    """Each node's most recent record (a later import overrides an earlier one)."""
    out: dict[str, NodeRecord] = {}
    for n in nodes:
        out[n.name] = n
    return out


def pool_key(n: NodeRecord) -> tuple[str, int]:
    return (n.model, n.gpus)


def pool_label(model: str, gpus_per_node: int) -> str:
    return f"{model or 'GPU'} x{gpus_per_node}"


def largest_gang(free: Iterable[int], gpus_per_node: int) -> tuple[int, int, int]:
    """(GPUs, whole nodes, remainder GPUs on one more node) of the largest job that fits
    on nodes with these free counts: whole free nodes plus the best partly free one."""
    whole = remainder = 0
    for f in free:
        if f >= gpus_per_node:
            whole += 1
        elif f > remainder:
            remainder = f
    return whole * gpus_per_node + remainder, whole, remainder


def fits(free: Iterable[int], gpus_per_node: int, gpus: int) -> bool:
    """Can a job of ``gpus`` be placed (the rule above) on nodes with these free counts?"""
    return gpus <= largest_gang(free, gpus_per_node)[0]


@dataclass(frozen=True)
class PoolState:
    pool: str
    model: str
    gpus_per_node: int
    nodes: int
    unavailable_nodes: int
    gpus: int
    used: int
    free: int
    whole_free_nodes: int
    stranded: int
    largest_on_one_node: int
    largest_gang: int
    #: The largest gang's shape: whole nodes, plus this many GPUs on one more node.
    gang_whole_nodes: int
    gang_remainder: int


def pool_states(nodes: Mapping[str, NodeRecord], used: Mapping[str, int]) -> list[PoolState]:
    """The state of each pool given the GPUs ``used`` per node (missing = 0), largest first."""
    pools: dict[tuple[str, int], list[NodeRecord]] = defaultdict(list)
    for n in nodes.values():
        if n.gpus > 0:
            pools[pool_key(n)].append(n)
    states = []
    for (model, cap), members in pools.items():
        up = [n for n in members if n.available]
        taken = [min(used.get(n.name, 0), cap) for n in up]
        free = [cap - t for t in taken]
        gang, g_whole, g_rest = largest_gang(free, cap)
        states.append(
            PoolState(
                pool=pool_label(model, cap),
                model=model,
                gpus_per_node=cap,
                nodes=len(members),
                unavailable_nodes=len(members) - len(up),
                gpus=cap * len(up),
                used=sum(taken),
                free=sum(free),
                whole_free_nodes=sum(1 for t in taken if t == 0),
                stranded=sum(f for f, t in zip(free, taken, strict=True) if t > 0),
                largest_on_one_node=max(free, default=0),
                largest_gang=gang,
                gang_whole_nodes=g_whole,
                gang_remainder=g_rest,
            )
        )
    return sorted(states, key=lambda s: (-s.gpus, s.pool))


@dataclass(frozen=True)
class Snapshot:
    """The cluster at one time: per pool, and the jobs then waiting."""

    at: datetime
    basis: str
    pools: list[PoolState]
    waiting_jobs: int
    waiting_gpus: int
    #: Waiting jobs with no more GPUs than are free, but more than the largest gang.
    blocked_jobs: int
    unknown_hosts: list[str] = field(default_factory=list)

    @property
    def free(self) -> int:
        return sum(p.free for p in self.pools)

    @property
    def stranded(self) -> int:
        return sum(p.stranded for p in self.pools)

    @property
    def largest_gang(self) -> int:
        return max((p.largest_gang for p in self.pools), default=0)

    def summary(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "basis": self.basis,
            "free_gpus": self.free,
            "stranded_gpus": self.stranded,
            "largest_gang": self.largest_gang,
            "waiting_jobs": self.waiting_jobs,
            "waiting_gpus": self.waiting_gpus,
            "blocked_jobs": self.blocked_jobs,
            "unknown_hosts": self.unknown_hosts,
            "pools": [p.__dict__ for p in self.pools],
        }


def _end_of_log(jobs: Sequence[JobRecord]) -> datetime | None:
    times = [t for j in jobs for t in (j.submit_time, j.start_time, j.end_time) if t is not None]
    return max(times, default=None)


def _running(j: JobRecord, at: datetime) -> bool:
    return (
        j.start_time is not None and j.start_time <= at and (j.end_time is None or at < j.end_time)
    )


def _waiting(j: JobRecord, at: datetime) -> bool:
    if j.gpus <= 0 or j.submit_time > at:
        return False
    if j.start_time is not None:
        return at < j.start_time
    return j.end_time is None or at < j.end_time


def snapshot(
    nodes: Sequence[NodeRecord], jobs: Sequence[JobRecord], at: datetime | None = None
) -> Snapshot:
    """The cluster at ``at``: from a node-state snapshot when the nodes have allocations
    and no time is asked for, else from the placements of the jobs running at ``at``
    (default: the last time in the job log)."""
    inventory = latest_nodes(nodes)
    if not inventory:
        raise ValueError("no nodes: import an inventory or node state first")
    states = [n for n in inventory.values() if n.gpus_used is not None]
    unknown: set[str] = set()
    if at is None and states:
        taken = max((n.captured_at for n in states if n.captured_at), default=None)
        when = taken or datetime.now(UTC)
        used = {n.name: n.gpus_used or 0 for n in states}
        basis = f"node state captured {when.isoformat(timespec='seconds')}"
    else:
        when = at or _end_of_log([j for j in jobs if j.gpus > 0]) or datetime.now(UTC)
        used = defaultdict(int)
        for j in jobs:
            if _running(j, when):
                for host, n in j.placement.items():
                    if host in inventory:
                        used[host] += n
                    else:
                        unknown.add(host)
        basis = f"placements of the jobs running at {when.isoformat(timespec='seconds')}"
    pools = pool_states(inventory, used)
    waiting = [j for j in jobs if _waiting(j, when)]
    free = sum(p.free for p in pools)
    gang = max((p.largest_gang for p in pools), default=0)
    biggest_pool = max((p.gpus for p in pools), default=0)
    return Snapshot(
        at=when,
        basis=basis,
        pools=pools,
        waiting_jobs=len(waiting),
        waiting_gpus=sum(j.gpus for j in waiting),
        blocked_jobs=sum(1 for j in waiting if gang < j.gpus <= min(free, biggest_pool)),
        unknown_hosts=sorted(unknown)[:10],
    )


@dataclass(frozen=True)
class History:
    """Fragmentation over the job log's span (see the module's definitions)."""

    start: datetime
    end: datetime
    capacity_gpus: int
    started_gpu_jobs: int
    placed_jobs: int
    unknown_host_jobs: int
    stranded_gpu_hours: float
    blocked_stranded_gpu_hours: float
    #: Hours during which at least one waiting job was blocked by placement.
    blocked_hours: float
    blocked_jobs: int
    blocked_job_hours: float
    #: Sum over blocked jobs of GPUs x time blocked: demand held by placement.
    blocked_gpu_hours: float
    mean_free_gpus: float
    mean_largest_gang: float

    @property
    def hours(self) -> float:
        return (self.end - self.start).total_seconds() / 3600

    @property
    def coverage(self) -> float:
        return self.placed_jobs / self.started_gpu_jobs if self.started_gpu_jobs else 0.0

    def summary(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["start"] = self.start.isoformat()
        out["end"] = self.end.isoformat()
        out["hours"] = self.hours
        out["coverage"] = self.coverage
        return out


class _Pools:
    """Free-GPU histograms per pool, so the largest gang costs O(GPUs per node) to find."""

    def __init__(self, inventory: Mapping[str, NodeRecord]) -> None:
        keys = sorted({pool_key(n) for n in inventory.values() if n.gpus > 0})
        self.index = {k: p for p, k in enumerate(keys)}
        self.cap = [k[1] for k in keys]
        self.hist = [[0] * (cap + 1) for cap in self.cap]
        self.node_pool: dict[str, int] = {}
        self.used: dict[str, int] = {}
        for n in inventory.values():
            if n.gpus > 0:
                p = self.index[pool_key(n)]
                self.node_pool[n.name] = p
                self.used[n.name] = 0
                self.hist[p][n.gpus] += 1
        self.total = [cap * (sum(h) - h[0]) for cap, h in zip(self.cap, self.hist, strict=True)]
        self.values = [self._compute(p) for p in range(len(keys))]
        self.dirty: set[int] = set()

    def change(self, host: str, delta: int) -> None:
        p = self.node_pool[host]
        cap = self.cap[p]
        before = self.used[host]
        after = before + delta
        self.used[host] = after
        old_free, new_free = max(cap - min(before, cap), 0), max(cap - min(after, cap), 0)
        if old_free != new_free:
            self.hist[p][old_free] -= 1
            self.hist[p][new_free] += 1
            self.dirty.add(p)

    def _compute(self, p: int) -> tuple[int, int, int]:
        h, cap = self.hist[p], self.cap[p]
        free = sum(f * h[f] for f in range(1, cap + 1))
        stranded = sum(f * h[f] for f in range(1, cap))
        remainder = next((f for f in range(cap - 1, 0, -1) if h[f]), 0)
        return free, stranded, h[cap] * cap + remainder

    def totals(self) -> tuple[int, int, int]:
        for p in self.dirty:
            self.values[p] = self._compute(p)
        self.dirty.clear()
        free = sum(v[0] for v in self.values)
        stranded = sum(v[1] for v in self.values)
        gang = max((v[2] for v in self.values), default=0)
        return free, stranded, gang


def history(nodes: Sequence[NodeRecord], jobs: Sequence[JobRecord]) -> History | str:
    """Fragmentation over the log, or why it cannot be computed (a sentence)."""
    inventory = latest_nodes(nodes)
    pools = _Pools(inventory)
    if not pools.cap:
        return "no nodes with GPUs: import an inventory with `fleetwise cluster nodes FILE`"
    gpu_jobs = [j for j in jobs if j.gpus > 0]
    end = _end_of_log(gpu_jobs)
    if end is None:
        return "no GPU jobs"
    # the earliest time in the log (a start before its submit is clock skew, not an error)
    t0 = min(min(j.submit_time, j.start_time or j.submit_time) for j in gpu_jobs)
    started = [j for j in gpu_jobs if j.start_time is not None]
    placed = [j for j in started if j.placement]
    if not started or len(placed) / len(started) < MIN_COVERAGE:
        return (
            f"placements known for {len(placed)} of {len(started)} started GPU jobs "
            f"(under {MIN_COVERAGE:.0%}); import a log with node lists (sacct NodeList, "
            "Philly detail, a CSV hosts column)"
        )

    def sec(t: datetime) -> float:
        return (t - t0).total_seconds()

    t_end = sec(end)
    alloc: list[tuple[float, int, dict[str, int]]] = []
    unknown_jobs = 0
    for j in placed:
        assert j.start_time is not None
        a, b = sec(j.start_time), sec(j.end_time) if j.end_time else t_end
        known = {h: n for h, n in j.placement.items() if h in pools.node_pool}
        unknown_jobs += len(known) < len(j.placement)
        if b > a and known:
            alloc.append((a, 1, known))
            alloc.append((b, -1, known))
    waits: list[tuple[float, float, int]] = []
    for j in gpu_jobs:
        a = sec(j.submit_time)
        if j.start_time is not None:
            b = sec(j.start_time)
        else:
            b = sec(j.end_time) if j.end_time else t_end
        if b > a:
            waits.append((a, b, j.gpus))
    times = np.unique(
        np.array(
            [0.0, t_end] + [e[0] for e in alloc] + [w[0] for w in waits] + [w[1] for w in waits]
        )
    )
    alloc.sort(key=lambda e: e[0])
    n_t = len(times)
    free = np.zeros(n_t)
    stranded = np.zeros(n_t)
    gang = np.zeros(n_t)
    e = 0
    for i, t in enumerate(times):
        while e < len(alloc) and alloc[e][0] <= t:
            _, sign, hosts = alloc[e]
            for host, n in hosts.items():
                pools.change(host, sign * n)
            e += 1
        free[i], stranded[i], gang[i] = pools.totals()
    wait_arr = np.array(waits, dtype=np.float64).reshape(-1, 3)
    return History(
        start=t0,
        end=end,
        capacity_gpus=sum(n.gpus for n in inventory.values()),
        started_gpu_jobs=len(started),
        placed_jobs=len(placed),
        unknown_host_jobs=unknown_jobs,
        **integrate(times, free, stranded, gang, wait_arr, max(pools.total)),
    )


def integrate(
    times: FloatArray,
    free: FloatArray,
    stranded: FloatArray,
    gang: FloatArray,
    waits: FloatArray,
    largest_pool: int,
) -> dict[str, Any]:
    """History's figures from the free GPUs, stranded GPUs and largest gang on each segment
    ``[times[i], times[i+1])`` (seconds) and the waits (rows of start, end, GPUs; jobs
    larger than the largest pool left out): one pass per job size, on arrays."""
    dt = np.append(np.diff(times), 0.0)
    sizes = waits[:, 2]
    kept = sizes <= largest_pool
    any_blocked = np.zeros(len(times), dtype=bool)
    blocked_jobs = 0
    blocked_job_s = blocked_gpu_s = 0.0
    present, first = np.unique(sizes[kept], return_index=True)
    for size in present[np.argsort(first)]:
        blocked = (gang < size) & (size <= free)
        if not blocked.any():
            continue
        cum = np.concatenate(([0.0], np.cumsum(blocked * dt)))
        arr = waits[kept & (sizes == size)]
        ia = np.searchsorted(times, arr[:, 0])
        ib = np.searchsorted(times, arr[:, 1])
        per_job = cum[ib] - cum[ia]
        blocked_jobs += int((per_job > 0).sum())
        blocked_job_s += float(per_job.sum())
        blocked_gpu_s += float(per_job.sum()) * float(size)
        count = np.zeros(len(times) + 1)
        np.add.at(count, ia, 1)
        np.add.at(count, ib, -1)
        any_blocked |= blocked & (np.cumsum(count)[: len(times)] > 0)
    span = float(dt.sum()) or 1.0
    return {
        "stranded_gpu_hours": float((stranded * dt).sum()) / 3600,
        "blocked_stranded_gpu_hours": float((stranded * dt * any_blocked).sum()) / 3600,
        "blocked_hours": float((dt * any_blocked).sum()) / 3600,
        "blocked_jobs": blocked_jobs,
        "blocked_job_hours": blocked_job_s / 3600,
        "blocked_gpu_hours": blocked_gpu_s / 3600,
        "mean_free_gpus": float((free * dt).sum()) / span,
        "mean_largest_gang": float((gang * dt).sum()) / span,
    }


def fragmentation_of(
    nodes: Sequence[NodeRecord], jobs: Sequence[JobRecord]
) -> tuple[History | str, Snapshot | None]:
    """History over the log (or why not) and the nodes now: at the end of the log, or,
    without placements, from a node-state snapshot when there is one."""
    found = history(nodes, jobs)
    if isinstance(found, str):
        # without placements only a node-state snapshot says what is free now
        has_state = any(n.gpus_used is not None for n in nodes)
        return found, snapshot(nodes, jobs) if has_state else None
    return found, snapshot(nodes, jobs)
