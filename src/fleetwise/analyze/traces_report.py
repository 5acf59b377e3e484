"""Every trace analysis of a trace set, gathered in one record (what the CLI shows and stores)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from fleetwise.analyze.records import Record
from fleetwise.analyze.traces import (
    CommOverlap,
    IdleCategory,
    KernelStat,
    KernelTypeShare,
    LaunchStats,
    TemporalBreakdown,
    kernel_type_shares,
)
from fleetwise.analyze.traces_counters import MemoryBandwidth, QueueLength
from fleetwise.analyze.traces_prepare import RankEvents, prepare
from fleetwise.analyze.traces_ranks import RankInfo, RankSummary, summarize_rank
from fleetwise.analyze.traces_steps import StepBreakdown, StragglerReport, straggler_report
from fleetwise.collect.executors.fanout import Executor, fan_out
from fleetwise.collect.importers.kineto import (
    PARALLEL_MIN_BYTES,
    check_one_run,
    json_bytes,
    read_trace_dir,
    trace_files,
)
from fleetwise.errors import InputError

if TYPE_CHECKING:
    from fleetwise.analyze.traces_diff import TraceDiff

__all__ = [
    "RankInfo",
    "TraceReport",
    "analyze_trace_set",
    "diff_trace_sets",
    "load_trace_set",
    "reduce_ranks",
    "summarize_ranks",
]


class TraceReport(Record, frozen=True):
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
            raise _no_gpu(ev.path)
    return ranks


def _no_gpu(path: Path) -> InputError:
    return InputError(
        f"{path}: no GPU events (kernels, memcpy, memset): was the profiler run "
        "with ProfilerActivity.CUDA?"
    )


def analyze_trace_set(
    folder: Path,
    executor: Executor = "local",
    *,
    workers: int | None = None,
    address: str | None = None,
) -> TraceReport:
    """All analyses of the trace set in ``folder``.

    Ranks are analysed in parallel where they are read: with ``executor="local"`` in a
    process pool of ``workers`` processes (default: one per core, or this process alone for
    a set of under ``PARALLEL_MIN_BYTES`` of JSON), with ``"ray"`` as Ray tasks on the cluster at
    ``address``. The report is the same whichever runs it.
    """
    return reduce_ranks(folder, summarize_ranks(folder, executor, workers=workers, address=address))


def summarize_ranks(
    folder: Path,
    executor: Executor = "local",
    *,
    workers: int | None = None,
    address: str | None = None,
) -> list[RankSummary]:
    """Each rank file of ``folder`` summarised (``traces_ranks.summarize_rank``), in file order."""
    files = trace_files(folder)
    small = json_bytes(files) < PARALLEL_MIN_BYTES
    if executor == "local" and workers is None and small:
        workers = 1  # starting processes costs more than reading a small set
    return fan_out(summarize_rank, files, executor, workers=workers, address=address)


def reduce_ranks(folder: Path, summaries: list[RankSummary]) -> TraceReport:
    """One report from the per-rank summaries (file order), checked as ``load_trace_set``."""
    for s in summaries:
        if s.error is not None:
            raise InputError(s.error)
    check_one_run(summaries)
    ordered = sorted(summaries, key=lambda s: s.rank)
    drop_last_step = len(frozenset().union(*(s.step_names for s in ordered))) > 1
    results = [s.result(drop_last_step) for s in ordered]
    for s, r in zip(ordered, results, strict=True):
        if not r.has_gpu:
            raise _no_gpu(s.path)
    return TraceReport(
        source=str(folder),
        ranks=[r.info for r in results],
        temporal=[r.temporal for r in results if r.temporal is not None],
        idle=[i for r in results for i in r.idle],
        kernel_types=kernel_type_shares([r.kernel_type_times for r in results]),
        top_kernels=[k for r in results for k in r.top_kernels],
        overlap=[r.overlap for r in results if r.overlap is not None],
        launches=[r.launches for r in results if r.launches is not None],
        queue_length=[q for r in results for q in r.queue_length],
        memory_bandwidth=[m for r in results for m in r.memory_bandwidth],
        steps=[x for r in results for x in r.steps],
        stragglers=straggler_report(
            {r.info.rank: r.collectives for r in results},
            {r.info.rank: r.step_spans for r in results},
        ),
    )


def diff_trace_sets(a: Path, b: Path) -> TraceDiff:
    from fleetwise.analyze.traces_diff import diff_traces  # not needed by trace analyze

    return diff_traces(load_trace_set(a, cpu_ops=True), load_trace_set(b, cpu_ops=True))
