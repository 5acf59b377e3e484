"""The critical path of one rank in a window (a step), as HTA 0.5.0 defines it.

Definitions read from ``hta/analyzers/critical_path_analysis.py`` (``CPGraph``):

* **Nodes**: the start and the end of every CPU operator and CUDA runtime/driver call that
  starts in the window and lasts > 0 us, and of every GPU kernel/memcpy/memset whose
  launching runtime call is such a call.
* **CPU edges**, per thread: consecutive boundaries of nested operators are joined by an
  edge weighing the time between them (an edge ending a blocking call, e.g.
  ``cudaStreamSynchronize``, weighs 0: the wait shows on the GPU side instead); the end of
  one top-level operator is joined to the start of the next by a 0-weight dependency.
* **GPU edges**, per stream in start order: each kernel's span; then a **launch delay**
  (runtime call start -> kernel start) when the stream's queue was empty at the launch and
  the previous kernel ended before the call, else a **kernel-kernel delay** from the
  previous kernel's end. ``cudaStreamWaitEvent`` makes the next kernel launched on that
  stream wait (0-weight sync) for the last kernel launched before the matching
  ``cudaEventRecord``; ``Event Sync`` / ``Stream Sync`` / ``Context Sync`` join the kernel(s)
  they wait for to the end of the blocking runtime call.
* The **critical path** is the longest path of that DAG; its **length** is the sum of its
  edge weights, and its **bound-by** summary splits that length into CPU operators
  (``cpu_bound``), compute and communication kernels, kernel-kernel gaps and launch delays,
  in percent (HTA's ``CPGraph.summary()``).

One deliberate difference: a CUDA graph launch (``cudaGraphLaunch``) runs many kernels that
share its correlation id; HTA links the call to one of them and leaves the others out of
the graph, so their time shows as "kernel-kernel overhead". Here every kernel of a graph
launched in the window is in the graph, and the launch enqueues one item that starts with
the graph's first kernel. Traces without graph launches are unaffected.

The selections and joins are NumPy array operations over the whole trace; only the per-
stream walk over kernels and the longest-path sweep step through the graph in order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from fleetwise.analyze.records import Record
from fleetwise.analyze.traces import GRAPH_CALLS, KERNEL_LAUNCH_CALLS
from fleetwise.analyze.traces_intervals import ints
from fleetwise.analyze.traces_prepare import KernelType, kernel_type
from fleetwise.collect.importers.kineto import trace_files
from fleetwise.collect.importers.kineto_events import TraceEvents, read_trace_events
from fleetwise.errors import InputError

I64 = npt.NDArray[np.int64]
B = npt.NDArray[np.bool_]

CPU_CATEGORIES = ("cpu_op", "cuda_runtime", "cuda_driver")
#: Runtime calls whose end waits for the GPU (HTA ``CPGraph.BLOCKING_SYNC_CALLS``).
BLOCKING_CALLS = (
    "cudaDeviceSynchronize",
    "cudaStreamSynchronize",
    "cudaEventQuery",
    "cudaEventSynchronize",
    "cudaMemcpy",
    "cudaMemcpyAsync",
)
#: Runtime calls that enqueue one kernel or copy (HTA ``get_runtime_launch_events_query``).
LAUNCH_CALLS = KERNEL_LAUNCH_CALLS
DEVICE_SYNCS = ("Event Sync", "Context Sync")
BOUND_BY = (
    "cpu_bound",
    "gpu_compute_bound",
    "gpu_communication_bound",
    "gpu_kernel_kernel_overhead",
    "gpu_kernel_launch_overhead",
)
_CPU, _COMPUTE, _COMM, _KK, _LAUNCH, _NONE = range(6)


class CriticalPath(Record, frozen=True):
    rank: int
    #: The annotation that set the window (``ProfilerStep#12``), its step number if any.
    window: str
    step: int | None
    start_us: int
    end_us: int
    #: Sum of the path's edge weights (us).
    length_us: int
    edges: int
    #: Percent of ``length_us`` per ``BOUND_BY`` category (0 when the path is empty).
    bound_by_pct: dict[str, float]
    bound_by_us: dict[str, int]


@dataclass(frozen=True)
class Window:
    name: str
    start: int
    end: int

    @property
    def step(self) -> int | None:
        found = re.match(r"ProfilerStep\s*#\s*(\d+)", self.name)
        return int(found.group(1)) if found else None


def windows(ev: TraceEvents, annotation: str = "ProfilerStep") -> list[Window]:
    """CPU-side events whose name contains ``annotation``, in time order (HTA's instances,
    without the GPU-side copies of annotations)."""
    ids = np.asarray([i for i, n in enumerate(ev.names) if annotation in n], np.int64)
    gpu_cat = ev.symbol("gpu_user_annotation")
    rows = np.flatnonzero(np.isin(ev.name_id, ids) & (ev.stream == -1) & (ev.cat_id != gpu_cat))
    rows = rows[np.lexsort((ev.index[rows], ev.ts[rows]))]
    return [Window(ev.names[int(ev.name_id[r])], int(ev.ts[r]), int(ev.end[r])) for r in rows]


def correlation_links(ev: TraceEvents) -> I64:
    """HTA's ``index_correlation`` as row numbers: a runtime call's GPU activity and a GPU
    activity's runtime call (the last one of each side sharing the correlation id), -1
    where there is none."""
    syncs = ev.ids(DEVICE_SYNCS)
    on_gpu = ((ev.stream >= 0) & (ev.correlation >= 0)) | np.isin(ev.name_id, syncs)
    link = np.full(len(ev.ts), -1, np.int64)
    cpu = np.flatnonzero(~on_gpu & (ev.correlation != -1))
    gpu = np.flatnonzero(on_gpu & (ev.correlation != -1))
    for rows, other in ((cpu, gpu), (gpu, cpu)):
        hit, partner = _lookup(_last_by_key(ev.correlation[other], other), ev.correlation[rows])
        link[rows[hit]] = partner
    return link


def _lookup(table: tuple[I64, I64], query: I64) -> tuple[B, I64]:
    """Which ``query`` keys ``table`` (sorted keys, values) holds, and their values."""
    keys, values = table
    if len(keys) == 0:
        return np.zeros(len(query), dtype=bool), values[:0]
    pos = np.clip(np.searchsorted(keys, query), 0, len(keys) - 1)
    hit: B = keys[pos] == query
    return hit, values[pos[hit]]


def _last_by_key(keys: I64, rows: I64) -> tuple[I64, I64]:
    """Sorted distinct keys and, for each, the last row (in row order) holding it."""
    order = np.lexsort((rows, keys))
    k, r = keys[order], rows[order]
    last = np.ones(len(k), dtype=bool)
    last[:-1] = k[1:] != k[:-1]
    return k[last], r[last]


class _Graph:
    """Nodes are 2 per event (start = 2i, end = 2i + 1 for the i-th node event)."""

    def __init__(self, node_rows: I64, ev: TraceEvents) -> None:
        self.rows = node_rows
        self.slot = np.full(len(ev.ts), -1, np.int64)
        self.slot[node_rows] = np.arange(len(node_rows))
        self.time = np.empty(2 * len(node_rows), np.int64)
        self.time[0::2], self.time[1::2] = ev.ts[node_rows], ev.end[node_rows]
        self.src: list[int] = []
        self.dst: list[int] = []
        self.weight: list[int] = []
        self.kind: list[int] = []

    def start(self, row: int) -> int:
        s = int(self.slot[row])
        return -1 if s < 0 else 2 * s

    def end(self, row: int) -> int:
        s = int(self.slot[row])
        return -1 if s < 0 else 2 * s + 1

    def add(self, u: int, v: int, kind: int, timed: bool = True) -> None:
        self.src.append(u)
        self.dst.append(v)
        self.weight.append(int(self.time[v] - self.time[u]) if timed else 0)
        self.kind.append(kind)


def critical_path(ev: TraceEvents, window: Window, link: I64 | None = None) -> CriticalPath:
    """The critical path of ``ev`` for the events ``window`` covers."""
    link = correlation_links(ev) if link is None else link
    keep = _clip(ev, link, window.start, window.end)
    cpu_cats = ev.ids(CPU_CATEGORIES)
    is_node = keep & (np.isin(ev.cat_id, cpu_cats) | ((ev.stream != -1) & (ev.correlation >= 0)))
    graph = _Graph(np.flatnonzero(is_node), ev)
    _cpu_edges(ev, graph)
    _gpu_edges(ev, graph, link, keep)
    length, edges, by_kind = _longest_path(graph)
    names = [*BOUND_BY]
    by_us = {names[k]: int(by_kind[k]) for k in (_CPU, _COMPUTE, _COMM, _KK, _LAUNCH)}
    return CriticalPath(
        rank=ev.rank,
        window=window.name,
        step=window.step,
        start_us=window.start,
        end_us=window.end,
        length_us=length,
        edges=edges,
        bound_by_pct={k: 100.0 * v / length if length else 0.0 for k, v in by_us.items()},
        bound_by_us=by_us,
    )


def _clip(ev: TraceEvents, link: I64, start: int, end: int) -> B:
    """HTA's window: CPU events starting in it (> 0 us), and GPU activity whose launching
    call is one of them (plus every ``Stream Wait Event``). Every kernel of a graph launched
    in the window is in it (HTA keeps only the last one: see the module docstring)."""
    cpu = ev.stream == -1
    inside = cpu & (ev.ts >= start) & (ev.ts <= end) & (ev.dur > 0)
    keep: B = inside.copy()
    launched = np.zeros(len(ev.ts), dtype=bool)
    callers = np.flatnonzero(cpu & (link >= 0))
    launched[link[callers[inside[callers]]]] = True
    graphs = np.flatnonzero(inside & np.isin(ev.name_id, ev.ids(sorted(GRAPH_CALLS))))
    launched |= ~cpu & (ev.correlation >= 0) & np.isin(ev.correlation, ev.correlation[graphs])
    wait_event = ev.symbol("Stream Wait Event")
    keep |= ~cpu & (launched | (ev.name_id == wait_event))
    return keep


def _cpu_edges(ev: TraceEvents, g: _Graph) -> None:
    """Per thread: boundaries of nested operators in call-stack order, consecutive ones
    joined (HTA's depth-first walk of the call stack)."""
    rows = g.rows[ev.stream[g.rows] == -1]
    if len(rows) == 0:
        return
    n = len(rows)
    thread = ev.pid[rows] * (int(ev.tid.max()) + 1) + ev.tid[rows]
    time = np.concatenate([ev.ts[rows], ev.end[rows]])
    is_start = np.concatenate([np.ones(n, bool), np.zeros(n, bool)])
    dur = np.concatenate([-ev.dur[rows], ev.dur[rows]])  # at a tie: outer starts first,
    idx = np.concatenate([ev.index[rows], -ev.index[rows]])  # inner ends first
    order = np.lexsort((idx, dur, is_start, time, np.concatenate([thread, thread])))
    both = np.concatenate([rows, rows])[order]
    starts = is_start[order]
    threads = np.concatenate([thread, thread])[order]
    node = np.where(starts, 2 * g.slot[both], 2 * g.slot[both] + 1)
    depth = np.cumsum(np.where(starts, 1, -1))
    blocking = np.isin(ev.name_id[both], ev.ids(BLOCKING_CALLS))
    for k in ints(np.flatnonzero(threads[:-1] == threads[1:])):
        u, v = int(node[k]), int(node[k + 1])
        if depth[k] > 0:
            g.add(u, v, _CPU, timed=not (blocking[k + 1] and not starts[k + 1]))
        else:
            g.add(u, v, _NONE, timed=False)


def _queue_lengths(ev: TraceEvents, link: I64) -> tuple[dict[int, int], dict[int, int]]:
    """Queue length of a stream just after each launch call and just after each kernel
    starts (HTA ``TraceCounters``), keyed by row. A graph launch enqueues one item, which
    starts with the graph's first kernel."""
    calls = np.flatnonzero(np.isin(ev.name_id, ev.ids([*LAUNCH_CALLS, *sorted(GRAPH_CALLS)])))
    gpu = np.flatnonzero(ev.stream != -1)
    matched, call_gpu = _lookup(_last_by_key(ev.correlation[gpu], gpu), ev.correlation[calls])
    calls = calls[matched]
    gpu = gpu[np.isin(ev.correlation[gpu], ev.correlation[calls])]
    graph_corr = ev.correlation[calls[np.isin(ev.name_id[calls], ev.ids(sorted(GRAPH_CALLS)))]]
    in_graph = np.isin(ev.correlation[gpu], graph_corr)
    if in_graph.any():
        g = gpu[in_graph]
        g = g[np.lexsort((ev.ts[g], ev.correlation[g]))]
        first = np.concatenate(([True], ev.correlation[g][1:] != ev.correlation[g][:-1]))
        gpu = np.sort(np.concatenate([gpu[~in_graph], g[first]]))
    ts = np.concatenate([ev.ts[calls], ev.ts[gpu]])
    stream = np.concatenate([ev.stream[call_gpu], ev.stream[gpu]])
    delta = np.concatenate([np.ones(len(calls), np.int64), -np.ones(len(gpu), np.int64)])
    rows = np.concatenate([calls, gpu])
    order = np.argsort(ts, kind="quicksort")
    at_call: dict[int, int] = {}
    at_kernel: dict[int, int] = {}
    for s in ints(np.unique(stream)):
        o = order[stream[order] == s]
        q = np.cumsum(delta[o])
        for row, value, d in zip(ints(rows[o]), ints(q), ints(delta[o]), strict=True):
            (at_call if d > 0 else at_kernel)[row] = value
    return at_call, at_kernel


def _launch_rows(ev: TraceEvents, link: I64) -> I64:
    """Launch calls matched with GPU activity, in time order (HTA's ``launch_id`` order)."""
    calls = np.flatnonzero(np.isin(ev.name_id, ev.ids(LAUNCH_CALLS)) & (link >= 0))
    calls = calls[ev.stream[link[calls]] != -1]
    ordered: I64 = calls[np.argsort(ev.ts[calls], kind="stable")]
    return ordered


def _event_waits(ev: TraceEvents, link: I64) -> tuple[dict[int, int], dict[int, int]]:
    """For each GPU wait (by the cudaEventRecord correlation it waits on): the launch call
    last made on the recorded stream before the record; for each ``cudaStreamWaitEvent``
    call: the next launch on its thread and stream. Rows, -1 where none."""
    launches = _launch_rows(ev, link)
    l_gpu = link[launches]
    previous: dict[int, int] = {}
    record = ev.symbol("cudaEventRecord")
    waits = np.flatnonzero(ev.wait_stream > -1)
    target = {
        c: (s, p)
        for c, s, p in zip(
            ints(ev.wait_corr[waits]),
            ints(ev.wait_stream[waits]),
            ints(ev.pid[waits]),
            strict=True,
        )
    }
    for row in ints(np.flatnonzero(ev.name_id == record)):
        corr = int(ev.correlation[row])
        if corr not in target:
            continue
        stream, pid = target[corr]
        same = launches[(ev.stream[l_gpu] == stream) & (ev.pid[l_gpu] == pid)]
        k = int(np.searchsorted(ev.ts[same], ev.ts[row], side="right")) - 1
        previous[corr] = int(same[k]) if k >= 0 else -1
    following: dict[int, int] = {}
    wait_call = ev.symbol("cudaStreamWaitEvent")
    for row in ints(np.flatnonzero((ev.name_id == wait_call) & (link >= 0))):
        stream = int(ev.stream[link[row]])
        same = launches[
            (ev.stream[l_gpu] == stream)
            & (ev.pid[launches] == ev.pid[row])
            & (ev.tid[launches] == ev.tid[row])
        ]
        k = int(np.searchsorted(ev.ts[same], ev.ts[row], side="right"))
        following[row] = int(same[k]) if k < len(same) else -1
    return previous, following


def _gpu_edges(ev: TraceEvents, g: _Graph, link: I64, keep: B) -> None:
    sync_cat = ev.symbol("cuda_sync")
    syncs = ev.ids(DEVICE_SYNCS)
    rows = np.flatnonzero(
        keep & ((ev.stream != -1) | np.isin(ev.name_id, syncs)) & (ev.correlation >= 0)
    )
    sort_by = np.where(ev.cat_id[rows] == sync_cat, ev.end[rows], ev.ts[rows])
    rows = rows[np.argsort(sort_by, kind="stable")]
    at_call, at_kernel = _queue_lengths(ev, link)
    previous, following = _event_waits(ev, link)
    comm = {i for i, n in enumerate(ev.names) if kernel_type(n) == KernelType.COMMUNICATION}
    last: dict[int, int] = {}
    kernel_sync: dict[int, int] = {}
    for row in ints(rows):
        stream = int(ev.stream[row])
        if ev.cat_id[row] == sync_cat:
            _sync(ev, g, row, link, previous, following, last, kernel_sync)
            continue
        start, end = g.start(row), g.end(row)
        g.add(start, end, _COMM if int(ev.name_id[row]) in comm else _COMPUTE)
        call = int(link[row])
        sync_end = -1
        src = kernel_sync.pop(row, -1)
        if src >= 0 and g.end(src) >= 0:
            sync_end = g.end(src)
            g.add(sync_end, start, _NONE, timed=False)
        call_ts = int(ev.ts[call]) if call >= 0 else 0
        prev = last.get(stream, -1)
        if (
            g.start(call) >= 0  # HTA asserts here; we take the kernel-kernel branch
            and at_call.get(call) == 1
            and at_kernel.get(row) == 0
            and (prev < 0 or g.time[prev] < call_ts)
            and (sync_end < 0 or g.time[sync_end] < call_ts)
        ):
            g.add(g.start(call), start, _LAUNCH)
        elif prev >= 0 and (sync_end < 0 or g.time[sync_end] < g.time[prev]):
            g.add(prev, start, _KK)
        last[stream] = end


def _sync(
    ev: TraceEvents,
    g: _Graph,
    row: int,
    link: I64,
    previous: dict[int, int],
    following: dict[int, int],
    last: dict[int, int],
    kernel_sync: dict[int, int],
) -> None:
    name = ev.names[int(ev.name_id[row])]
    call = int(link[row])
    if name in ("Stream Wait Event", "Event Sync"):
        launch = previous.get(int(ev.wait_corr[row]), -1)
        if launch < 0:
            return
        src = int(link[launch])
        if name == "Stream Wait Event":
            nxt = following.get(call, -1)
            if nxt >= 0:
                kernel_sync[int(link[nxt])] = src
        elif g.end(src) >= 0 and g.end(call) >= 0:
            g.add(g.end(src), g.end(call), _NONE, timed=False)
        return
    if name == "Context Sync":
        waited = list(last.values())
    else:
        waited = [last[s] for s in (int(ev.stream[row]),) if s in last]
    for node in waited:
        if g.end(call) >= 0:
            g.add(node, g.end(call), _NONE, timed=False)


def _longest_path(g: _Graph) -> tuple[int, int, list[int]]:
    """Longest path (networkx's ``dag_longest_path`` rules: the first best predecessor in
    edge order, negative totals restart); returns its length, edge count and weight per
    edge kind."""
    n = len(g.time)
    if n == 0 or not g.src:
        return 0, 0, [0] * 6
    src, dst = np.asarray(g.src), np.asarray(g.dst)
    weight = np.asarray(g.weight)
    if (weight < -1).any():
        raise InputError("negative edge weight: the trace's events are out of order")
    order = _topological(n, src, dst, g.time)
    by_dst = np.argsort(dst, kind="stable")
    first = np.searchsorted(dst[by_dst], np.arange(n + 1))
    w = ints(np.maximum(weight, 0))
    srcs, edge_of = ints(src[by_dst]), ints(by_dst)
    bounds = ints(first)
    dist = [0] * n
    via = [-1] * n
    for v in ints(order):
        best, best_edge = -1, -1
        for k in range(bounds[v], bounds[v + 1]):
            e = edge_of[k]
            d = dist[srcs[k]] + w[e]
            if d > best:
                best, best_edge = d, e
        if best >= 0:
            dist[v], via[v] = best, best_edge
    end_pos = int(np.argmax(np.asarray(dist)[order]))
    v = int(order[end_pos])
    kinds = [0] * 6
    length = edges = 0
    while via[v] >= 0:
        e = via[v]
        kinds[g.kind[e]] += g.weight[e]
        length += g.weight[e]
        edges += 1
        v = g.src[e]
    return length, edges, kinds


def _topological(n: int, src: I64, dst: I64, time: I64) -> I64:
    """Nodes in time order when every edge runs forward in it, else Kahn's order."""
    by_time: I64 = np.lexsort((np.arange(n), time))
    pos = np.empty(n, np.int64)
    pos[by_time] = np.arange(n)
    if (pos[src] < pos[dst]).all():
        return by_time
    indeg = np.bincount(dst, minlength=n)
    out_order = np.argsort(src, kind="stable")
    starts = ints(np.searchsorted(src[out_order], np.arange(n + 1)))
    succ = ints(dst[out_order])
    deg = ints(indeg)
    ready = [int(v) for v in ints(by_time) if deg[v] == 0]
    result: list[int] = []
    while ready:
        v = ready.pop()
        result.append(v)
        for k in range(starts[v], starts[v + 1]):
            u = succ[k]
            deg[u] -= 1
            if deg[u] == 0:
                ready.append(u)
    if len(result) != n:
        raise InputError("the critical-path graph has a cycle")
    return np.asarray(result, np.int64)


def critical_paths(
    folder: Path,
    rank: int | None = None,
    step: int | None = None,
    annotation: str = "ProfilerStep",
) -> list[CriticalPath]:
    """The critical path of each window (each ``annotation`` instance, by default each
    profiler step) of each rank of a trace folder, ranks in order."""
    out: list[CriticalPath] = []
    found_rank = False
    for path in trace_files(folder):
        ev = read_trace_events(path)
        if rank is not None and ev.rank != rank:
            continue
        found_rank = True
        chosen = [w for w in windows(ev, annotation) if step is None or w.step == step]
        link = correlation_links(ev) if chosen else None
        out.extend(critical_path(ev, w, link) for w in chosen)
    if rank is not None and not found_rank:
        raise InputError(f"{folder}: no trace of rank {rank}")
    if not out:
        what = f"step {step}" if step is not None else f"an event named like {annotation!r}"
        raise InputError(f"{folder}: no {what} to take a critical path over")
    return out
