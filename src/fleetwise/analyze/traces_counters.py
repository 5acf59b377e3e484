"""Counters over time: kernel-launch queue length and memcpy/memset bandwidth.

Definitions from HTA 0.5.0 ``hta/analyzers/trace_counters.py``:

* **Queue length** of a stream: +1 when a runtime call enqueues work on it, -1 when that
  work starts on the GPU; summarised over every change point. A graph launch enqueues one
  item, which starts with the graph's first kernel (HTA 0.5 leaves graph launches out).
* **Memory bandwidth**: each memcpy/memset adds its ``memory bandwidth (GB/s)`` at its start
  and removes it at its end (a zero duration counts as 1 us, HTA issue #20); the running sum
  per copy kind (``Memcpy HtoD``, ``Memcpy DtoH``, ``Memcpy DtoD``, ``Memset``...) is
  summarised over its positive points.

HTA sorts the change points with NumPy's (unstable) quicksort, so when two points share a
timestamp the statistics depend on the order it picks; we sort the same sequence the same
way, which breaks ties identically.
"""

from __future__ import annotations

import numpy as np

from fleetwise.analyze.records import Record
from fleetwise.analyze.traces import GRAPH_CALLS, LAUNCH_CALLS
from fleetwise.analyze.traces_intervals import I64, describe, ints
from fleetwise.analyze.traces_prepare import KernelType, RankEvents

#: Runtime calls that put work on a stream (HTA ``get_runtime_launch_events_query``,
#: plus CUDA/HIP graph launches).
ENQUEUE_CALLS = LAUNCH_CALLS


class QueueLength(Record, frozen=True):
    rank: int
    stream: int
    #: pandas ``describe`` of the queue length at each change point.
    stats: dict[str, float | None]


class MemoryBandwidth(Record, frozen=True):
    rank: int
    kind: str
    #: pandas ``describe`` of the running bandwidth (GB/s) at its positive points.
    stats: dict[str, float | None]
    #: Total time (us) copies of this kind ran, and their count.
    busy_us: int
    count: int


def queue_length_summary(ev: RankEvents) -> list[QueueLength]:
    call_ids = [i for i, n in enumerate(ev.names) if n in ENQUEUE_CALLS]
    kernel_corr = np.unique(ev.correlation[ev.is_kernel & (ev.correlation >= 0)])
    calls = np.flatnonzero(
        np.isin(ev.name_id, call_ids) & ~ev.is_kernel & np.isin(ev.correlation, kernel_corr)
    )
    gpu = np.flatnonzero(ev.gpu & np.isin(ev.correlation, ev.correlation[calls]))
    gpu = _one_item_per_graph(ev, calls, gpu)
    if len(calls) == 0 or len(gpu) == 0:
        return []
    # Each call takes the stream of its GPU work (one point per launched item, as HTA's join).
    order = gpu[np.argsort(ev.correlation[gpu], kind="stable")]
    keys = ev.correlation[order]
    lo = np.searchsorted(keys, ev.correlation[calls], side="left")
    hi = np.searchsorted(keys, ev.correlation[calls], side="right")
    counts = hi - lo
    call_rows = np.repeat(calls, counts)
    within = np.arange(len(call_rows)) - np.repeat(np.cumsum(counts) - counts, counts)
    call_stream = ev.stream[order[np.repeat(lo, counts) + within]]
    ts = np.concatenate([ev.ts[call_rows], ev.ts[gpu]])
    stream = np.concatenate([call_stream, ev.stream[gpu]])
    delta = np.concatenate([np.ones(len(call_rows), np.int64), -np.ones(len(gpu), np.int64)])
    # HTA sorts all change points at once with NumPy's quicksort; doing the same on the
    # same sequence (calls then GPU work, each in file order) breaks ties as HTA does.
    order = np.argsort(ts, kind="quicksort")
    out: list[QueueLength] = []
    for s in sorted(set(ints(stream))):
        o = order[stream[order] == s]
        queue = np.cumsum(delta[o]).astype(np.float64)
        out.append(QueueLength(rank=ev.rank, stream=int(s), stats=describe(queue)))
    return out


def _one_item_per_graph(ev: RankEvents, calls: I64, gpu: I64) -> I64:
    """A graph launch enqueues one item, which starts with its first kernel: drop the
    graph's other kernels (they share the call's correlation id)."""
    graph_ids = [i for i, n in enumerate(ev.names) if n in GRAPH_CALLS]
    graph_corr = ev.correlation[calls[np.isin(ev.name_id[calls], graph_ids)]]
    in_graph = np.isin(ev.correlation[gpu], graph_corr)
    if not in_graph.any():
        return gpu
    g = gpu[in_graph]
    g = g[np.lexsort((ev.ts[g], ev.correlation[g]))]
    first = np.concatenate(([True], ev.correlation[g][1:] != ev.correlation[g][:-1]))
    kept: I64 = np.sort(np.concatenate([gpu[~in_graph], g[first]]))
    return kept


def memory_kind(name: str) -> str:
    if name.startswith("Memset"):
        return "Memset"
    if not name.startswith("Memcpy"):
        return "Memcpy Unknown"
    return name[:11]


def memory_bandwidth_summary(ev: RankEvents) -> list[MemoryBandwidth]:
    rows = np.flatnonzero(ev.gpu & (ev.ktype == KernelType.MEMORY))
    kind_names = [memory_kind(ev.names[i]) for i in ints(ev.name_id[rows])]
    kinds = np.asarray(kind_names, dtype=str)
    dur = np.maximum(ev.dur[rows], 1)
    ts = np.concatenate([ev.ts[rows], ev.ts[rows] + dur])
    delta = np.concatenate([ev.bandwidth_gbps[rows], -ev.bandwidth_gbps[rows]])
    kind_all = np.concatenate([kinds, kinds])
    order = np.argsort(ts, kind="quicksort")
    out: list[MemoryBandwidth] = []
    for kind in sorted(set(kind_names)):
        o = order[kind_all[order] == kind]
        running = np.cumsum(delta[o])
        positive = running[running > 0]
        if len(positive) == 0:
            continue  # no bandwidth recorded (e.g. ROCm and MTIA traces)
        r = rows[kinds == kind]
        out.append(
            MemoryBandwidth(
                rank=ev.rank,
                kind=kind,
                stats=describe(positive),
                busy_us=int(ev.dur[r].sum()),
                count=len(r),
            )
        )
    return out
