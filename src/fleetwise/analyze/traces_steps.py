"""Per-step views of a trace set, and which rank holds the others back.

**Steps**: a GPU event belongs to the ``ProfilerStep#N`` in which the CPU call that launched
it started (as HTA's ``add_iteration``); an event without a launch belongs to the step in
which it starts. Each step's GPU window runs from its first GPU event start to its last end.

**Stragglers**: in a collective (all-reduce, all-gather, send/recv...) every rank waits in
the NCCL kernel until the last rank arrives, so the rank that arrives last spends the
*least* time in it. For each collective, matched across ranks by its position in each
rank's sequence of communication kernels of the same name, the rank with the shortest
kernel is the late one. This uses durations only, so clock skew between hosts does not
matter (HTA's ``find_stragglers_with_late_start_comm_kernels`` compares start times). A rank
is flagged when it is the late one in a clearly larger share of collectives than chance.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from fleetwise.analyze.records import Record
from fleetwise.analyze.traces_intervals import I64, ints, merge_intervals, union_length
from fleetwise.analyze.traces_prepare import KernelType, RankEvents, collective_key

#: A rank is a straggler when it is last in at least this share of collectives...
STRAGGLER_MIN_SHARE = 0.5
#: ...and in at least this multiple of the share expected by chance (1 / ranks).
STRAGGLER_MIN_LIFT = 1.5
#: Fewer matched collectives than this say nothing.
STRAGGLER_MIN_COLLECTIVES = 4


class StepBreakdown(Record, frozen=True):
    rank: int
    step: int
    #: CPU span of ``ProfilerStep#N``.
    step_us: int
    gpu_window_us: int
    gpu_busy_us: int
    compute_us: int
    comm_us: int
    memory_us: int
    kernels: int

    @property
    def idle_pct(self) -> float:
        return 100.0 * (self.gpu_window_us - self.gpu_busy_us) / self.gpu_window_us


class StragglerReport(Record, frozen=True):
    ranks: int
    collectives: int
    #: rank -> number of collectives in which it arrived last.
    late_counts: dict[int, int]
    #: Time the other ranks spent waiting for the late rank, summed over collectives (us).
    wait_us: int
    #: rank -> median CPU step time (us), where the trace has profiler steps.
    median_step_us: dict[int, float]
    stragglers: list[int]


def step_breakdown(ev: RankEvents) -> list[StepBreakdown]:
    if not ev.steps:
        return []
    gpu = np.flatnonzero(ev.gpu)
    anchor = np.where(np.isnan(ev.launch_ts[gpu]), ev.ts[gpu], ev.launch_ts[gpu])
    out: list[StepBreakdown] = []
    for step, start, end in ev.steps:
        rows = gpu[(anchor >= start) & (anchor < end)]
        if len(rows) == 0:
            continue
        ts, stop, kt = ev.ts[rows], ev.end[rows], ev.ktype[rows]
        s, e = merge_intervals(ts, stop)

        out.append(
            StepBreakdown(
                rank=ev.rank,
                step=step,
                step_us=end - start,
                gpu_window_us=int(e[-1] - s[0]),
                gpu_busy_us=int((e - s).sum()),
                compute_us=_typed_union(ts, stop, kt == KernelType.COMPUTATION),
                comm_us=_typed_union(ts, stop, kt == KernelType.COMMUNICATION),
                memory_us=_typed_union(ts, stop, kt == KernelType.MEMORY),
                kernels=len(rows),
            )
        )
    return out


def _typed_union(ts: I64, stop: I64, mask: npt.NDArray[np.bool_]) -> int:
    return union_length(ts[mask], stop[mask])


def collectives(ev: RankEvents) -> dict[tuple[str, int], int]:
    """(collective, occurrence number) -> duration, for every communication kernel; the
    collective is ``collective_key`` of the kernel's name, so ranks (or runs) on different
    NCCL/RCCL versions still match."""
    rows = np.flatnonzero(ev.gpu & (ev.ktype == KernelType.COMMUNICATION))
    rows = rows[np.argsort(ev.ts[rows], kind="stable")]
    seen: dict[str, int] = {}
    out: dict[tuple[str, int], int] = {}
    for name_id, dur in zip(ints(ev.name_id[rows]), ints(ev.dur[rows]), strict=True):
        name = collective_key(ev.names[name_id])
        k = seen.get(name, 0)
        seen[name] = k + 1
        out[(name, k)] = dur
    return out


Collectives = dict[tuple[str, int], int]


def find_stragglers(ranks: list[RankEvents]) -> StragglerReport:
    return straggler_report(
        {ev.rank: collectives(ev) for ev in ranks}, {ev.rank: ev.steps for ev in ranks}
    )


def straggler_report(
    per_rank: dict[int, Collectives], steps_of: dict[int, list[tuple[int, int, int]]]
) -> StragglerReport:
    """Stragglers from each rank's collectives and step spans (``collectives``,
    ``RankEvents.steps``), in rank order: what each rank's worker sends back to be reduced."""
    late = dict.fromkeys(per_rank, 0)
    shared = set.intersection(*(set(c) for c in per_rank.values())) if per_rank else set()
    n = wait = 0
    if len(per_rank) > 1:
        for key in sorted(shared):
            durs = {r: per_rank[r][key] for r in per_rank}
            shortest = min(durs.values())
            if list(durs.values()).count(shortest) > 1:
                continue  # a tie names nobody
            late[min(durs, key=lambda r: durs[r])] += 1
            wait += sum(durs.values()) - shortest * len(durs)
            n += 1
    steps = {
        rank: float(np.median([end - start for _, start, end in spans]))
        for rank, spans in steps_of.items()
        if spans
    }
    flagged: list[int] = []
    if n >= STRAGGLER_MIN_COLLECTIVES:
        chance = 1.0 / len(per_rank)
        flagged = [
            r
            for r, c in late.items()
            if c / n >= STRAGGLER_MIN_SHARE and c / n >= STRAGGLER_MIN_LIFT * chance
        ]
    return StragglerReport(
        ranks=len(per_rank),
        collectives=n,
        late_counts=late,
        wait_us=wait,
        median_step_us=steps,
        stragglers=sorted(flagged),
    )
