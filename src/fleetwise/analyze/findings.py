"""Findings a user can act on, each with its evidence and what it costs per year.

Trace findings (``trace_findings``) read a ``TraceReport``. A finding names the share of GPU
time it wastes on the traced job (``Finding.share``). It reaches GPU-hours and dollars only
through what the trace represents (``Represented``, from the fleet profile's ``workloads``):
that share of ``represented GPUs x hours per year``, priced at the profile's rate. A trace
that represents nothing has no cost: its finding is that trace's only. The fleet ledger
(``plan.claims``) then bounds every cost by the bucket it draws on.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import fmean

from fleetwise.analyze.traces_report import TraceReport
from fleetwise.models import Cost, Evidence, Finding, Severity


@dataclass(frozen=True)
class Represented:
    """The fleet GPUs a diagnosed workload speaks for (a fleet profile ``workloads`` entry),
    their price and the hours in a year: what turns a share of its GPU time into cost."""

    gpus: int
    usd_per_gpu_hour: float
    hours_per_year: float
    label: str


#: Thresholds (share of the GPU window unless said otherwise) under which a pattern is noise.
HOST_BOUND_IDLE_PCT = 30.0
HOST_BOUND_HOST_SHARE = 0.5
LOW_OVERLAP_PCT = 50.0
COMM_MIN_PCT = 5.0
LAUNCH_BOUND_SHORT_SHARE = 0.3
MEMCPY_HEAVY_PCT = 10.0
#: ...or copies are most of what the GPU does when it is busy.
MEMCPY_DOMINANT_BUSY_PCT = 25.0


def _severity(wasted_pct: float) -> Severity:
    if wasted_pct >= 50:
        return Severity.CRITICAL
    if wasted_pct >= 25:
        return Severity.HIGH
    if wasted_pct >= 10:
        return Severity.MEDIUM
    if wasted_pct >= 2:
        return Severity.LOW
    return Severity.INFO


def _cost(wasted_pct: float, rep: Represented | None, basis: str) -> Cost | None:
    if rep is None:
        return None
    hours = wasted_pct / 100.0 * rep.gpus * rep.hours_per_year
    return Cost.of_gpu_hours(
        hours,
        rep.usd_per_gpu_hour,
        basis,
        represents=rep.label,
        represented_gpus=rep.gpus,
        hours_per_year=rep.hours_per_year,
        wasted_pct_of_gpu_time=round(wasted_pct, 3),
    )


def trace_findings(
    report: TraceReport,
    represents: Represented | None = None,
) -> list[Finding]:
    """Findings from one trace set, most expensive first."""
    found = [
        f
        for f in (
            _host_bound(report, represents),
            _low_overlap(report, represents),
            _launch_bound(report, represents),
            _memcpy_heavy(report, represents),
            _straggler(report, represents),
        )
        if f is not None
    ]
    return sorted(found, key=lambda f: -(f.cost.usd_per_year if f.cost else 0.0))


def _source(report: TraceReport) -> str:
    return f"trace:{report.source}"


def _idle_by_category(report: TraceReport) -> dict[str, int]:
    """Idle time by cause on each rank's main stream (the one running the most kernels).

    Side streams (NCCL, copies) are idle most of the time by design; summing them would
    count the same wall-clock gap several times.
    """
    kernels: dict[tuple[int, int], float] = {}
    for item in report.idle:
        key = (item.rank, item.stream)
        kernels[key] = kernels.get(key, 0.0) + (item.intervals["count"] or 0.0)
    main: dict[int, int] = {}
    for (rank, stream), count in sorted(kernels.items()):
        if rank not in main or count > kernels[(rank, main[rank])]:
            main[rank] = stream
    totals: dict[str, int] = {}
    for item in report.idle:
        if main.get(item.rank) == item.stream:
            totals[item.category] = totals.get(item.category, 0) + max(item.idle_us, 0)
    return totals


def _host_bound(report: TraceReport, rep: Represented | None) -> Finding | None:
    if not report.temporal:
        return None
    idle_pct = fmean(t.idle_pct for t in report.temporal)
    by_cat = _idle_by_category(report)
    total = sum(by_cat.values())
    host_share = by_cat.get("host_wait", 0) / total if total else 0.0
    if idle_pct < HOST_BOUND_IDLE_PCT or host_share < HOST_BOUND_HOST_SHARE:
        return None
    wasted = idle_pct * host_share
    src = _source(report)
    return Finding(
        kind="trace.host_bound",
        layer="compute",
        title=(
            f"GPU idle {idle_pct:.0f}% of the GPU window, {100 * host_share:.0f}% of it "
            "waiting on the host: CPU-bound"
        ),
        detail=(
            "Kernels start as soon as the CPU launches them: the GPU waits for the host "
            "(Python, data loading, synchronisation) rather than for other kernels."
        ),
        severity=_severity(wasted),
        evidence=[
            Evidence(
                label="GPU idle (mean over ranks)", value=round(idle_pct, 2), unit="%", source=src
            ),
            Evidence(
                label="main-stream idle spent waiting on the host",
                value=round(100 * host_share, 2),
                unit="%",
                source=src,
            ),
            Evidence(
                label="host-wait idle time on the main stream",
                value=by_cat.get("host_wait", 0),
                unit="us",
                source=src,
            ),
        ],
        cost=_cost(wasted, rep, "GPU idle while waiting on the host, share of GPU time"),
        share=wasted / 100,
        recommendations=[
            "Capture the step with CUDA graphs (torch.compile mode='reduce-overhead')",
            "Use larger batches so each launch carries more work",
            "Add data-loader workers and pin memory so input is ready before the GPU needs it",
            "Remove host-device synchronisations (.item(), .cpu(), prints) from the training step",
        ],
    )


def _low_overlap(report: TraceReport, rep: Represented | None) -> Finding | None:
    windows = {t.rank: t.window_us for t in report.temporal}
    exposed_pcts: list[float] = []
    overlaps: list[float] = []
    comm_pcts: list[float] = []
    for o in report.overlap:
        window = windows.get(o.rank)
        if o.overlap_pct is None or not window:
            continue
        comm_pct = 100.0 * o.comm_us / window
        comm_pcts.append(comm_pct)
        overlaps.append(o.overlap_pct)
        exposed_pcts.append(comm_pct * (1 - o.overlap_pct / 100.0))
    if not overlaps:
        return None
    overlap, comm_pct, exposed = fmean(overlaps), fmean(comm_pcts), fmean(exposed_pcts)
    if overlap >= LOW_OVERLAP_PCT or comm_pct < COMM_MIN_PCT:
        return None
    src = _source(report)
    return Finding(
        kind="trace.low_comm_overlap",
        layer="network",
        title=(
            f"Only {overlap:.0f}% of communication overlaps computation; exposed "
            f"communication takes {exposed:.0f}% of GPU time"
        ),
        detail="Collectives run while no computation does, so the GPUs wait on the network.",
        severity=_severity(exposed),
        evidence=[
            Evidence(
                label="communication overlapped by computation",
                value=round(overlap, 2),
                unit="%",
                source=src,
            ),
            Evidence(
                label="communication share of the GPU window",
                value=round(comm_pct, 2),
                unit="%",
                source=src,
            ),
        ],
        cost=_cost(exposed, rep, "communication not hidden behind computation, share of GPU time"),
        share=exposed / 100,
        recommendations=[
            "Tune DDP bucket_cap_mb / FSDP prefetching so gradients reduce during backward",
            "Check the collective runs on its own stream, not serialised by a synchronisation",
            "Use gradient accumulation (fewer all-reduces per sample) or a faster interconnect",
        ],
    )


def _launch_bound(report: TraceReport, rep: Represented | None) -> Finding | None:
    launches = [s for s in report.launches if s.n]
    if not launches:
        return None
    n = sum(s.n for s in launches)
    short = sum(s.short_kernels for s in launches)
    share = short / n
    if share < LAUNCH_BOUND_SHORT_SHARE:
        return None
    windows = sum(t.window_us for t in report.temporal) or 1
    kernel_wait = _idle_by_category(report).get("kernel_wait", 0)
    wasted = 100.0 * kernel_wait / windows
    cpu_median = fmean(s.cpu_duration["50%"] or 0.0 for s in launches)
    gpu_median = fmean(s.gpu_duration["50%"] or 0.0 for s in launches)
    src = _source(report)
    return Finding(
        kind="trace.launch_bound",
        layer="compute",
        title=f"{100 * share:.0f}% of kernels run shorter than their launch call: launch-bound",
        detail=(
            "A kernel that finishes before the CPU has launched the next one leaves the GPU "
            "waiting on launch overhead."
        ),
        severity=_severity(max(wasted, 2.0)),
        evidence=[
            Evidence(label="short kernels (gpu < launch call <= 50 us)", value=short, source=src),
            Evidence(label="launches", value=n, source=src),
            Evidence(label="median launch call", value=round(cpu_median, 2), unit="us", source=src),
            Evidence(label="median kernel", value=round(gpu_median, 2), unit="us", source=src),
            Evidence(
                label="kernel-wait idle time on the main stream",
                value=kernel_wait,
                unit="us",
                source=src,
            ),
        ],
        cost=_cost(
            wasted, rep, "gaps between back-to-back kernels (kernel wait), share of GPU time"
        ),
        share=wasted / 100,
        recommendations=[
            "Fuse small kernels (torch.compile) and capture the step with CUDA graphs",
            "Increase the work per kernel (batch size, sequence packing)",
        ],
    )


def _memcpy_heavy(report: TraceReport, rep: Represented | None) -> Finding | None:
    memory_only = sum(k.total_us for k in report.kernel_types if k.kernel_type == "MEMORY")
    windows = sum(t.window_us for t in report.temporal)
    busy = sum(t.window_us - t.idle_us for t in report.temporal)
    if not windows or not busy:
        return None
    pct = 100.0 * memory_only / windows
    busy_pct = 100.0 * memory_only / busy
    if pct < MEMCPY_HEAVY_PCT and busy_pct < MEMCPY_DOMINANT_BUSY_PCT:
        return None
    src = _source(report)
    evidence = [
        Evidence(
            label="memcpy/memset time with no kernel running",
            value=round(pct, 2),
            unit="% of GPU window",
            source=src,
        ),
        Evidence(
            label="the same, share of GPU busy time", value=round(busy_pct, 2), unit="%", source=src
        ),
    ]
    for bw in report.memory_bandwidth:
        evidence.append(
            Evidence(
                label=f"rank {bw.rank} {bw.kind} median bandwidth",
                value=round(bw.stats["50%"] or 0.0, 3),
                unit="GB/s",
                source=src,
            )
        )
    return Finding(
        kind="trace.memcpy_heavy",
        layer="compute",
        title=(
            f"Memory copies take {busy_pct:.0f}% of GPU busy time ({pct:.1f}% of the GPU window)"
        ),
        detail="Copies run while no kernel does: the step moves data instead of computing.",
        severity=_severity(pct),
        evidence=evidence,
        cost=_cost(pct, rep, "memcpy/memset time with no kernel running, share of GPU time"),
        share=pct / 100,
        recommendations=[
            "Pin host memory and copy with non_blocking=True on a side stream",
            "Keep tensors on the device between steps; avoid .cpu()/.to() round trips",
            "Prefetch the next batch while the current one computes",
        ],
    )


def _straggler(report: TraceReport, rep: Represented | None) -> Finding | None:
    s = report.stragglers
    if not s.stragglers:
        return None
    windows = sum(t.window_us for t in report.temporal) or 1
    wasted = 100.0 * s.wait_us / windows
    src = _source(report)
    ranks = ", ".join(str(r) for r in s.stragglers)
    evidence = [
        Evidence(
            label=f"rank {r} arrived last",
            value=s.late_counts[r],
            unit=f"of {s.collectives} collectives",
            source=src,
        )
        for r in s.stragglers
    ]
    evidence.append(
        Evidence(label="time other ranks waited", value=s.wait_us, unit="us", source=src)
    )
    return Finding(
        kind="trace.straggler",
        layer="orchestration",
        title=f"Rank {ranks} arrives last at most collectives: the other ranks wait for it",
        detail="Every collective runs at the pace of its slowest participant.",
        severity=_severity(wasted),
        evidence=evidence,
        cost=_cost(
            wasted,
            rep,
            "time ranks wait in collectives for the late rank, share of GPU time",
        ),
        share=wasted / 100,
        recommendations=[
            "Check the late rank's host (throttling, noisy neighbours, a slower NIC or PCIe link)",
            "Balance the data (sequence lengths, samples per rank) across ranks",
        ],
    )
