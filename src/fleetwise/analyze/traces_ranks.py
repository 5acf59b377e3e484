"""Each rank analysed where it is read, the per-rank summaries reduced into one report.

A rank's trace (hundreds of MB of JSON) never travels: the worker that reads it runs every
per-rank analysis and sends back a summary of a few KB (records, per-combination kernel-type
times, the collectives' durations and the step spans), so a set of thousands of ranks needs
no more memory in the parent than their summaries. The reduce (``reduce_ranks``) gives the
same report as analysing the ranks one after another in one process.

One decision needs the whole set: HTA drops the last step when the set names more than one
``ProfilerStep#N`` (``traces_prepare.prepare``). A rank that names two or more decides it
alone; a rank that names none is unaffected; a rank that names exactly one is analysed both
ways, and the reduce keeps the way the union of all ranks' step names chose.
"""

from __future__ import annotations

import os
from pathlib import Path

import msgspec

from fleetwise.analyze.records import Record
from fleetwise.analyze.traces import (
    CommOverlap,
    IdleCategory,
    KernelStat,
    LaunchStats,
    TemporalBreakdown,
    comm_comp_overlap,
    idle_time_breakdown,
    kernel_type_times,
    launch_stats,
    temporal_breakdown,
    top_kernels,
)
from fleetwise.analyze.traces_counters import (
    MemoryBandwidth,
    QueueLength,
    memory_bandwidth_summary,
    queue_length_summary,
)
from fleetwise.analyze.traces_prepare import RankEvents, prepare_rank, step_names_of
from fleetwise.analyze.traces_steps import Collectives, StepBreakdown, collectives, step_breakdown
from fleetwise.collect.importers.kineto import read_rank_trace
from fleetwise.errors import InputError


class RankInfo(Record, frozen=True):
    rank: int
    file: str
    world_size: int | None
    events: int
    gpu_events: int
    steps: list[int]
    nanosecond_timestamps: bool


class RankResult(msgspec.Struct, frozen=True):
    """Every per-rank analysis of one rank under one step window."""

    info: RankInfo
    #: False when the window holds no GPU activity (the set is then refused; nothing else set).
    has_gpu: bool
    temporal: TemporalBreakdown | None = None
    idle: list[IdleCategory] = msgspec.field(default_factory=list)
    top_kernels: list[KernelStat] = msgspec.field(default_factory=list)
    overlap: CommOverlap | None = None
    launches: LaunchStats | None = None
    queue_length: list[QueueLength] = msgspec.field(default_factory=list)
    memory_bandwidth: list[MemoryBandwidth] = msgspec.field(default_factory=list)
    steps: list[StepBreakdown] = msgspec.field(default_factory=list)
    kernel_type_times: dict[int, int] = msgspec.field(default_factory=dict)
    collectives: Collectives = msgspec.field(default_factory=dict)
    step_spans: list[tuple[int, int, int]] = msgspec.field(default_factory=list)


class WorkerUsage(msgspec.Struct, frozen=True):
    """Where a rank was analysed and the worker process's peak RSS so far (MB)."""

    host: str
    pid: int
    peak_rss_mb: float


class RankSummary(msgspec.Struct, frozen=True):
    """What a worker sends back for one rank file (picklable, small)."""

    path: Path
    rank: int
    world_size: int | None
    step_names: frozenset[str]
    #: drop-last-step -> result; one entry unless the rank names exactly one step.
    results: dict[bool, RankResult]
    usage: WorkerUsage
    #: The ``InputError`` reading the file raised (the reduce raises it, in file order).
    error: str | None = None

    def result(self, drop_last_step: bool) -> RankResult:
        if drop_last_step in self.results:
            return self.results[drop_last_step]
        (only,) = self.results.values()
        return only


def summarize_rank(path: Path) -> RankSummary:
    """Read one rank file and run every per-rank analysis (the task each worker runs)."""
    try:
        trace = read_rank_trace(path)
    except InputError as exc:
        return RankSummary(path, -1, None, frozenset(), {}, _usage(), error=str(exc))
    names = step_names_of(trace)
    windows = [True] if len(names) > 1 else [False] if not names else [False, True]
    results = {drop: analyze_rank(prepare_rank(trace, drop)) for drop in windows}
    return RankSummary(path, trace.rank, trace.world_size, names, results, _usage())


def analyze_rank(ev: RankEvents) -> RankResult:
    """Every analysis of one prepared rank."""
    info = rank_info(ev)
    if not ev.gpu.any():
        return RankResult(info=info, has_gpu=False)
    return RankResult(
        info=info,
        has_gpu=True,
        temporal=temporal_breakdown(ev),
        idle=idle_time_breakdown(ev),
        top_kernels=top_kernels(ev),
        overlap=comm_comp_overlap(ev),
        launches=launch_stats(ev),
        queue_length=queue_length_summary(ev),
        memory_bandwidth=memory_bandwidth_summary(ev),
        steps=step_breakdown(ev),
        kernel_type_times=kernel_type_times(ev),
        collectives=collectives(ev),
        step_spans=ev.steps,
    )


def rank_info(ev: RankEvents) -> RankInfo:
    info = ev.metadata.get("distributedInfo")
    size = info.get("world_size") if isinstance(info, dict) else None
    return RankInfo(
        rank=ev.rank,
        file=ev.path.name,
        world_size=size if isinstance(size, int) else None,
        events=ev.total_events,
        gpu_events=int(ev.gpu.sum()),
        steps=[s[0] for s in ev.steps],
        nanosecond_timestamps=ev.nanosecond_timestamps,
    )


def _usage() -> WorkerUsage:
    # ru_maxrss is in KiB on Linux: the worker's own high-water mark, all tasks so far.
    # (os.uname().nodename is the host name socket.gethostname() gives, without the import.)
    import resource  # only here: this process's peak, for the Ray table

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return WorkerUsage(host=os.uname().nodename, pid=os.getpid(), peak_rss_mb=peak)
