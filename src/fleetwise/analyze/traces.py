"""Where GPU time goes in a set of PyTorch profiler traces: HTA-compatible breakdowns.

Each function takes the prepared events of one rank (``traces_prepare.RankEvents``) and
returns records; times are integer microseconds. Definitions follow Holistic Trace Analysis
0.5.0 (``hta/analyzers/breakdown_analysis.py``, ``communication_analysis.py``,
``cuda_kernel_analysis.py``) so figures can be checked against HTA on the same files:

* **Temporal breakdown**: over the GPU window (first kernel start to last kernel end, all
  streams), idle = window minus the union of all GPU activity; compute = union of
  computation kernels; non-compute = the rest (communication, memory, other).
* **Idle-time breakdown**, per stream: the gap before each kernel is *host wait* when the
  kernel's launch started after the previous kernel ended, *kernel wait* when the gap is
  under 30 us otherwise, else *other*.
* **Kernel type breakdown**: time each combination of computation / communication / memory
  (each merged first) runs, summed over ranks.
* **Communication/computation overlap**: time both run / time communication runs.
* **Kernel-launch statistics**: each launch runtime call matched with its GPU activity by
  correlation id; launch delay = kernel start - call end, clipped at 0.

Where we differ from HTA on purpose (documented in ``docs/traces.md``): launches also count
``hipLaunchKernel``, ``hipExtModuleLaunchKernel``, ``cuLaunchKernel``, ``cudaGraphLaunch`` and
the HIP memcpy/memset calls, which HTA's launch statistics ignore (it reports no launches on
AMD traces). A **graph launch** (``cudaGraphLaunch``, ``hipGraphLaunch``) is one launch: its
kernels share the call's correlation id and are attributed to it; its GPU duration runs from
its first kernel's start to its last kernel's end, its launch delay to the first kernel. (HTA
0.5 leaves graph launches and their kernels out of launch and queue statistics.)
"""

from __future__ import annotations

from typing import cast

import numpy as np

from fleetwise.analyze.records import Record
from fleetwise.analyze.traces_intervals import (
    F64,
    I64,
    describe,
    floats,
    ints,
    merge_intervals,
    overlap_sweep,
    quantile_of_sorted,
    union_length,
)
from fleetwise.analyze.traces_prepare import KERNEL_CATEGORIES, KernelType, RankEvents

#: HTA's default ``consecutive_kernel_delay``: a shorter gap is launch overhead.
KERNEL_WAIT_US = 30
#: HTA's default cut-offs for kernel-launch statistics (microseconds).
RUNTIME_CUTOFF_US = 50
LAUNCH_DELAY_CUTOFF_US = 100
#: Runtime calls that enqueue one kernel or copy (HTA's ``get_runtime_launch_events_query``;
#: HTA's launch statistics count only the first five).
KERNEL_LAUNCH_CALLS = (
    "cudaLaunchKernel",
    "cudaLaunchKernelExC",
    "runFunction - job_prep_and_submit_for_execution",
    "cudaMemcpyAsync",
    "cudaMemsetAsync",
    "cuLaunchKernel",
    "hipLaunchKernel",
    "hipExtModuleLaunchKernel",
    "hipMemcpyAsync",
    "hipMemsetAsync",
    "hipMemcpyWithStream",
)
#: Runtime calls that launch a whole CUDA/HIP graph: one launch, many kernels.
GRAPH_CALLS = frozenset({"cudaGraphLaunch", "hipGraphLaunch"})
#: Every runtime call that puts work on a stream.
LAUNCH_CALLS = frozenset(KERNEL_LAUNCH_CALLS) | GRAPH_CALLS
TYPE_ORDER = (KernelType.COMPUTATION, KernelType.COMMUNICATION, KernelType.MEMORY)


class TemporalBreakdown(Record, frozen=True):
    rank: int
    idle_us: int
    compute_us: int
    non_compute_us: int
    #: First GPU activity start to last end (HTA's ``kernel_time``).
    window_us: int
    idle_pct: float
    compute_pct: float
    non_compute_pct: float


class IdleCategory(Record, frozen=True):
    rank: int
    stream: int
    category: str
    idle_us: int
    #: Share of the stream's idle time; None when the stream was never idle.
    ratio: float | None
    #: Interval statistics (pandas ``describe``): count, mean, std, min, 25%, 50%, 75%, max.
    intervals: dict[str, float | None]


class KernelTypeShare(Record, frozen=True):
    kernel_type: str
    total_us: int
    pct: float


class KernelStat(Record, frozen=True):
    rank: int
    kernel_type: str
    name: str
    count: int
    sum_us: int
    max_us: float
    min_us: float
    mean_us: float
    std_us: float


class CommOverlap(Record, frozen=True):
    rank: int
    #: Computation time overlapping communication / communication time; None without comms.
    overlap_pct: float | None
    comm_us: int


class LaunchStats(Record, frozen=True):
    rank: int
    n: int
    short_kernels: int
    runtime_outliers: int
    launch_delay_outliers: int
    cpu_duration: dict[str, float | None]
    gpu_duration: dict[str, float | None]
    launch_delay: dict[str, float | None]
    #: Graph launches among ``n``, and the kernels they ran (attributed to them).
    graph_launches: int = 0
    graph_kernels: int = 0


def type_label(combo: int) -> str:
    return " overlapping ".join(t.name for t in TYPE_ORDER if combo & t)


def temporal_breakdown(ev: RankEvents) -> TemporalBreakdown | None:
    """Idle / compute / non-compute time over the GPU window; None without GPU activity."""
    gpu = ev.gpu
    if not gpu.any():
        return None
    ts, end = ev.ts[gpu], ev.end[gpu]
    s, e = merge_intervals(ts, end)
    window = int(e[-1] - s[0])
    busy = int((e - s).sum())
    comp = ev.ktype[gpu] == KernelType.COMPUTATION
    compute = union_length(ts[comp], end[comp])
    idle = window - busy

    def pct(x: int) -> float:
        return 100.0 * x / window if window else 0.0

    non_compute = window - compute - idle
    return TemporalBreakdown(
        rank=ev.rank,
        idle_us=idle,
        compute_us=compute,
        non_compute_us=non_compute,
        window_us=window,
        idle_pct=pct(idle),
        compute_pct=pct(compute),
        non_compute_pct=pct(non_compute),
    )


def idle_time_breakdown(ev: RankEvents, kernel_wait_us: int = KERNEL_WAIT_US) -> list[IdleCategory]:
    """Idle time per stream split into host wait, kernel wait and other."""
    cat_ids = [i for i, n in enumerate(ev.names) if n in KERNEL_CATEGORIES]
    rows = np.flatnonzero(ev.gpu & np.isin(ev.cat_id, cat_ids))
    out: list[IdleCategory] = []
    for stream in sorted(set(ints(ev.stream[rows]))):
        r = rows[ev.stream[rows] == stream]
        r = r[np.argsort(ev.ts[r], kind="stable")]
        ts = ev.ts[r].astype(np.float64)
        end = ev.end[r].astype(np.float64)
        prev_end = np.concatenate(([np.nan], end[:-1]))
        gap = ts - prev_end
        with np.errstate(invalid="ignore"):
            host = ev.launch_ts[r] > prev_end
            kernel = ~host & (gap < kernel_wait_us)
        other = ~host & ~kernel
        groups = {"host_wait": host, "kernel_wait": kernel, "other": other}
        totals = {k: float(np.nansum(gap[m])) for k, m in groups.items() if m.any()}
        total = sum(totals.values())
        for category, mask in groups.items():
            if category not in totals:
                continue
            out.append(
                IdleCategory(
                    rank=ev.rank,
                    stream=stream,
                    category=category,
                    idle_us=int(totals[category]),
                    ratio=totals[category] / total if total else None,
                    intervals=describe(gap[mask]),
                )
            )
    return out


def kernel_type_times(ev: RankEvents) -> dict[int, int]:
    """Time per combination of kernel types (bit flags of ``KernelType``) on one rank."""
    gpu = ev.gpu
    ts, end, kt = ev.ts[gpu], ev.end[gpu], ev.ktype[gpu]
    return overlap_sweep({int(t): (ts[kt == t], end[kt == t]) for t in TYPE_ORDER})


def kernel_type_breakdown(ranks: list[RankEvents]) -> list[KernelTypeShare]:
    """Kernel-type combinations summed over ranks, largest first."""
    return kernel_type_shares([kernel_type_times(ev) for ev in ranks])


def kernel_type_shares(per_rank: list[dict[int, int]]) -> list[KernelTypeShare]:
    """``kernel_type_breakdown`` from each rank's ``kernel_type_times``, in rank order."""
    totals: dict[int, int] = {}
    for times in per_rank:
        for combo, us in times.items():
            totals[combo] = totals.get(combo, 0) + us
    grand = sum(totals.values())
    ordered = sorted(totals.items(), key=lambda kv: -kv[1])
    return [
        KernelTypeShare(kernel_type=type_label(c), total_us=us, pct=100.0 * us / grand)
        for c, us in ordered
    ]


def comm_comp_overlap(ev: RankEvents) -> CommOverlap:
    gpu = ev.gpu
    ts, end, kt = ev.ts[gpu], ev.end[gpu], ev.ktype[gpu]
    comm_t = (ts[kt == KernelType.COMMUNICATION], end[kt == KernelType.COMMUNICATION])
    comp_t = (ts[kt == KernelType.COMPUTATION], end[kt == KernelType.COMPUTATION])
    comm = union_length(*comm_t)
    both = overlap_sweep({1: comm_t, 2: comp_t}).get(3, 0)
    return CommOverlap(
        rank=ev.rank, overlap_pct=100.0 * both / comm if comm else None, comm_us=comm
    )


def _launch_pairs(ev: RankEvents) -> tuple[I64, I64]:
    """Row pairs (CPU launch call, GPU activity) sharing a correlation id (inner join)."""
    launch_ids = [i for i, n in enumerate(ev.names) if n in LAUNCH_CALLS]
    calls = np.isin(ev.name_id, launch_ids)
    launch_corr = np.unique(ev.correlation[calls])
    cpu = np.flatnonzero((ev.stream == -1) & np.isin(ev.correlation, launch_corr))
    gpu = np.flatnonzero(ev.gpu & np.isin(ev.correlation, launch_corr))
    if len(cpu) == 0 or len(gpu) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    order = cpu[np.argsort(ev.correlation[cpu], kind="stable")]
    keys = ev.correlation[order]
    lo = np.searchsorted(keys, ev.correlation[gpu], side="left")
    hi = np.searchsorted(keys, ev.correlation[gpu], side="right")
    counts = hi - lo
    gpu_rows = np.repeat(gpu, counts)
    starts = np.repeat(lo, counts)
    within = np.arange(len(gpu_rows)) - np.repeat(np.cumsum(counts) - counts, counts)
    return order[starts + within], gpu_rows


def launches(ev: RankEvents) -> tuple[I64, I64, I64, I64]:
    """Per launch: CPU call row, GPU row (a graph's first kernel), GPU duration (a graph's
    first start to last end) and kernels run (1, or a graph's size)."""
    cpu, gpu = _launch_pairs(ev)
    graph_ids = [i for i, n in enumerate(ev.names) if n in GRAPH_CALLS]
    graph = np.isin(ev.name_id[cpu], graph_ids)
    gc, gg = cpu[graph], gpu[graph]
    order = np.lexsort((ev.ts[gg], gc))
    gc, gg = gc[order], gg[order]
    starts = np.flatnonzero(np.concatenate(([True], gc[1:] != gc[:-1]))) if len(gc) else gc
    ends = np.maximum.reduceat(ev.end[gg], starts) if len(gc) else gc
    sizes = np.diff(np.append(starts, len(gc)))
    one = ~graph
    return (
        np.concatenate([cpu[one], gc[starts]]),
        np.concatenate([gpu[one], gg[starts]]),
        np.concatenate([ev.dur[gpu[one]], ends - ev.ts[gg[starts]]]),
        np.concatenate([np.ones(int(one.sum()), np.int64), sizes]),
    )


def launch_stats(ev: RankEvents) -> LaunchStats:
    cpu, gpu, gpu_span, kernels = launches(ev)
    cpu_dur = ev.dur[cpu].astype(np.float64)
    gpu_dur = gpu_span.astype(np.float64)
    delay = np.clip(ev.ts[gpu] - ev.ts[cpu] - ev.dur[cpu], 0, None).astype(np.float64)
    graph = kernels > 1
    graph |= np.isin(ev.name_id[cpu], [i for i, n in enumerate(ev.names) if n in GRAPH_CALLS])
    return LaunchStats(
        rank=ev.rank,
        n=len(cpu),
        short_kernels=int(((cpu_dur <= RUNTIME_CUTOFF_US) & (gpu_dur < cpu_dur)).sum()),
        runtime_outliers=int((cpu_dur > RUNTIME_CUTOFF_US).sum()),
        launch_delay_outliers=int((delay > LAUNCH_DELAY_CUTOFF_US).sum()),
        cpu_duration=describe(cpu_dur),
        gpu_duration=describe(gpu_dur),
        launch_delay=describe(delay),
        graph_launches=int(graph.sum()),
        graph_kernels=int(kernels[graph].sum()),
    )


def launch_delays(ev: RankEvents) -> tuple[I64, I64, I64]:
    """Per launch: GPU row, CPU call duration and launch delay (for per-step views)."""
    cpu, gpu, _, _ = launches(ev)
    return gpu, ev.dur[cpu], np.clip(ev.ts[gpu] - ev.ts[cpu] - ev.dur[cpu], 0, None)


def top_kernels(
    ev: RankEvents, num_kernels: int = 10, duration_ratio: float = 0.8
) -> list[KernelStat]:
    """The kernels that take most time per type, the rest folded into ``others``.

    As HTA's ``get_gpu_kernel_breakdown``: per type, kernels sorted by total time; past the
    ``num_kernels``-th, or once the running total passes the ``duration_ratio`` quantile of
    running totals, a kernel joins ``others``. When folding happens, the statistics are
    those of the kernels' totals (so a kept kernel's max and min equal its total), as HTA.
    """
    out: list[KernelStat] = []
    gpu = ev.gpu
    for kt in TYPE_ORDER:
        rows = np.flatnonzero(gpu & (ev.ktype == kt))
        if len(rows) == 0:
            continue
        by_name: dict[str, list[int]] = {}
        for name_id, dur in zip(ints(ev.name_id[rows]), ints(ev.dur[rows]), strict=True):
            by_name.setdefault(ev.names[name_id], []).append(dur)
        names = sorted(by_name)
        sums = np.asarray([sum(by_name[n]) for n in names], dtype=np.float64)
        order = np.argsort(-sums, kind="stable")
        names = [names[i] for i in order]
        if len(names) <= num_kernels:
            for n in names:
                out.append(_kernel_stat(ev.rank, kt, n, np.asarray(by_name[n], np.float64)))
            continue
        totals = sums[order]
        cumsum = np.cumsum(totals)
        cut = quantile_of_sorted(cumsum, duration_ratio)  # a running total of sizes: sorted
        folded = (cumsum > cut) | (np.arange(len(names)) >= num_kernels)
        groups: dict[str, list[float]] = {}
        for n, total, fold in zip(
            names, floats(totals), cast(list[bool], folded.tolist()), strict=True
        ):
            groups.setdefault("others" if fold else n, []).append(total)
        for n in sorted(groups):
            out.append(_kernel_stat(ev.rank, kt, n, np.asarray(groups[n], np.float64)))
    return out


def _kernel_stat(rank: int, kt: KernelType, name: str, values: F64) -> KernelStat:
    return KernelStat(
        rank=rank,
        kernel_type=kt.name,
        name=name,
        count=len(values),
        sum_us=int(values.sum()),
        max_us=float(values.max()),
        min_us=float(values.min()),
        mean_us=float(values.mean()),
        std_us=float(values.std(ddof=1)) if len(values) > 1 else 0.0,
    )
