"""Every trace analysis of a trace set, gathered in one record (what the CLI shows and stores)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict

from fleetwise.analyze.traces import (
    CommOverlap,
    IdleCategory,
    KernelStat,
    KernelTypeShare,
    LaunchStats,
    TemporalBreakdown,
    comm_comp_overlap,
    idle_time_breakdown,
    kernel_type_breakdown,
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
from fleetwise.analyze.traces_diff import TraceDiff, diff_traces
from fleetwise.analyze.traces_prepare import RankEvents, prepare
from fleetwise.analyze.traces_steps import (
    StepBreakdown,
    StragglerReport,
    find_stragglers,
    step_breakdown,
)
from fleetwise.collect.importers.kineto import read_trace_dir
from fleetwise.errors import InputError


class RankInfo(BaseModel):
    model_config = ConfigDict(frozen=True)

    rank: int
    file: str
    world_size: int | None
    events: int
    gpu_events: int
    steps: list[int]
    nanosecond_timestamps: bool


class TraceReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    source: str
    ranks: list[RankInfo]
    temporal: list[TemporalBreakdown]
    idle: list[IdleCategory]
    kernel_types: list[KernelTypeShare]
    top_kernels: list[KernelStat]
    overlap: list[CommOverlap]
    launches: list[LaunchStats]
    queue_length: list[QueueLength]
    memory_bandwidth: list[MemoryBandwidth]
    steps: list[StepBreakdown]
    stragglers: StragglerReport


def load_trace_set(folder: Path, cpu_ops: bool = False) -> list[RankEvents]:
    """Read a folder of rank traces and select events as HTA does; reject unusable sets.

    ``cpu_ops=True`` also totals CPU operators (what the trace diff compares).
    """
    ranks = prepare(read_trace_dir(folder, cpu_ops))
    for ev in ranks:
        if not ev.gpu.any():
            raise InputError(
                f"{ev.path}: no GPU events (kernels, memcpy, memset): was the profiler run "
                "with ProfilerActivity.CUDA?"
            )
    return ranks


def analyze_trace_set(folder: Path) -> TraceReport:
    """All analyses of the trace set in ``folder``."""
    ranks = load_trace_set(folder)
    temporal = [t for t in map(temporal_breakdown, ranks) if t is not None]
    return TraceReport(
        source=str(folder),
        ranks=[_rank_info(ev) for ev in ranks],
        temporal=temporal,
        idle=[i for ev in ranks for i in idle_time_breakdown(ev)],
        kernel_types=kernel_type_breakdown(ranks),
        top_kernels=[k for ev in ranks for k in top_kernels(ev)],
        overlap=[comm_comp_overlap(ev) for ev in ranks],
        launches=[launch_stats(ev) for ev in ranks],
        queue_length=[q for ev in ranks for q in queue_length_summary(ev)],
        memory_bandwidth=[m for ev in ranks for m in memory_bandwidth_summary(ev)],
        steps=[s for ev in ranks for s in step_breakdown(ev)],
        stragglers=find_stragglers(ranks),
    )


def diff_trace_sets(a: Path, b: Path) -> TraceDiff:
    return diff_traces(load_trace_set(a, cpu_ops=True), load_trace_set(b, cpu_ops=True))


def _rank_info(ev: RankEvents) -> RankInfo:
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
