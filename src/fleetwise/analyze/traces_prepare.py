"""The events a trace analysis looks at, selected as HTA 0.5.0 selects them.

Definitions followed (``hta/common/trace.py``, ``trace_filter.py``, ``utils/utils.py``):

* A **GPU kernel** (for filtering and launch matching) is an event with a stream >= 0 and a
  correlation >= 0, or a device-wide ``Event Sync`` / ``Context Sync``.
* **GPU activity** (for the time breakdowns) is every event with a stream other than -1.
* **Step window**: when the trace set names more than one ``ProfilerStep#N``, HTA drops the
  last (usually incomplete) step: CPU events starting at or after the start of the last
  ``ProfilerStep`` go, and so do GPU kernels whose launch went.
* **Kernel type**: ``^nccl.*Kernel`` is communication (so is NCCL's newer ``ncclDevKernel_*``,
  which the same pattern matches); ``^Memcpy``, ``^Memset``, ``^dma`` are memory; a name that
  also matches ``Memcpy``/``Memset`` elsewhere or ends in ``Sync`` is "other"; the rest is
  computation.

Communication kernels are recognised by **family**, not by exact name, so that overlap and
stragglers survive library upgrades (HTA issue #360, PR #109): NCCL's ``ncclKernel_*`` (up to
2.18) and ``ncclDevKernel_*`` (2.19 on, including ``ncclDevKernel_Generic``), RCCL's
``ncclKernel``/``ncclDevKernel`` names and its own ``rccl*`` kernels, each with or without a
``void `` prefix or an argument list. ``collective_key`` names the collective a kernel runs
(``AllReduce``, ``SendRecv``...; ``Generic`` where the name does not say), which is what
ranks are matched on. Beyond HTA, which reads ``^nccl.*Kernel`` only: ``rccl*`` and the
``void ``-prefixed spellings count as communication.
"""

from __future__ import annotations

import re
from enum import IntEnum
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import numpy.typing as npt

from fleetwise.collect.importers.kineto import SYNC_EVENT_NAMES, RankTrace

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]

_COMM = re.compile(r"^(void )?((nccl.*Kernel)|(rccl\w*))")
_MEMORY = re.compile(r"(^Memcpy)|(^Memset)|(^dma)")
_NOT_COMPUTE = re.compile(r"(^(void )?((nccl.*Kernel)|(rccl\w*)))|(.*(Memcpy)|(Memset))|(.*Sync)")
_FAMILY_PREFIX = re.compile(r"^(void )?(nccl|rccl)(Dev)?(Kernel|Func)?_?")
_COLLECTIVE = re.compile(r"^[A-Za-z]+")
#: Categories of GPU activity HTA's idle-time breakdown walks per stream.
KERNEL_CATEGORIES = frozenset(
    {"kernel", "Kernel", "gpu_memset", "Memset", "gpu_memcpy", "Memcpy", "mtia_ccp_events"}
)


class KernelType(IntEnum):
    """Bit flags, so that a set of types overlapping is their sum (as HTA's sweep)."""

    COMPUTATION = 1
    COMMUNICATION = 2
    MEMORY = 4
    OTHER = 8


def kernel_type(name: str) -> KernelType:
    if _COMM.match(name):
        return KernelType.COMMUNICATION
    if _MEMORY.match(name):
        return KernelType.MEMORY
    if _NOT_COMPUTE.match(name):
        return KernelType.OTHER
    return KernelType.COMPUTATION


def collective_key(name: str) -> str:
    """The collective a communication kernel runs, whatever the library version spells:
    ``ncclKernel_AllReduce_RING_LL_Sum_float`` and ``ncclDevKernel_AllReduce_Sum_f32_RING_LL``
    are both ``AllReduce``; a name that does not say (``ncclDevKernel_Generic_4``,
    ``rcclGenericKernel``) is ``Generic``."""
    rest = _FAMILY_PREFIX.sub("", name.split("(", 1)[0].strip(), count=1)
    found = _COLLECTIVE.match(rest)
    op = found.group(0) if found else ""
    if not op or op.lower().startswith("generic") or op in ("Kernel", "Dev"):
        return "Generic"
    return op


class RankEvents(msgspec.Struct, frozen=True):
    """One rank's events after the step window, with derived columns."""

    rank: int
    path: Path
    names: list[str]
    index: I64
    name_id: I64
    cat_id: I64
    ts: I64
    dur: I64
    stream: I64
    correlation: I64
    bandwidth_gbps: F64
    #: HTA's GPU-kernel predicate (see module docstring).
    is_kernel: B
    #: Kernel type per row (meaningful where ``stream != -1``).
    ktype: npt.NDArray[np.int8]
    #: Start of the CPU event that launched each row, or NaN (HTA's ``index_correlation``).
    launch_ts: F64
    #: ``ProfilerStep#N`` spans kept: (iteration, start, end), in time order.
    steps: list[tuple[int, int, int]]
    #: Distinct ``ProfilerStep#N`` names in the whole file (the window may drop the last).
    steps_in_file: int
    cpu_op_totals: dict[str, tuple[int, int]]
    metadata: dict[str, Any]
    total_events: int
    nanosecond_timestamps: bool

    @property
    def end(self) -> I64:
        return self.ts + self.dur

    @property
    def gpu(self) -> B:
        """GPU activity: every row with a stream (HTA ``stream.ne(-1)``)."""
        mask: B = self.stream != -1
        return mask

    def name(self, row: int) -> str:
        return self.names[int(self.name_id[row])]


def _lookup(names: list[str], values: frozenset[str]) -> I64:
    return np.asarray([i for i, n in enumerate(names) if n in values], dtype=np.int64)


def _is_kernel(trace: RankTrace) -> B:
    syncs = _lookup(trace.names, SYNC_EVENT_NAMES)
    mask: B = ((trace.stream >= 0) & (trace.correlation >= 0)) | np.isin(trace.name_id, syncs)
    return mask


def _step_ids(names: list[str]) -> I64:
    return np.asarray([i for i, n in enumerate(names) if "ProfilerStep" in n], dtype=np.int64)


def _launch_ts(trace: RankTrace, is_kernel: B, first_event_ts: float) -> F64:
    """Start of each kernel's launching CPU event, as HTA's ``index_correlation`` join finds it.

    HTA links a kernel to the CPU event with the same correlation id (the last one wins); an
    unmatched kernel gets index 0 and is then joined with whatever event sits at index 0 of
    the file. We reproduce that quirk for parity (``first_event_ts``, NaN when that event is
    not in the window); it only matters for kernels whose launch is missing from the trace.
    """
    out = np.full(len(trace.ts), np.nan)
    cpu = np.flatnonzero(~is_kernel & (trace.correlation != -1))
    rows = np.flatnonzero(is_kernel & (trace.correlation != -1))
    if len(rows) == 0:
        return out
    out[rows[trace.correlation[rows] >= 0]] = first_event_ts
    if len(cpu) == 0:
        return out
    cpu_corr = trace.correlation[cpu]
    order = np.argsort(cpu_corr, kind="stable")
    sorted_corr = cpu_corr[order]
    corr = trace.correlation[rows]
    pos = np.searchsorted(sorted_corr, corr, side="right") - 1
    safe = np.clip(pos, 0, None)
    found = (pos >= 0) & (sorted_corr[safe] == corr)
    out[rows[found]] = trace.ts[cpu[order[safe[found]]]]
    return out


def prepare(traces: list[RankTrace]) -> list[RankEvents]:
    """Apply HTA's step window to every rank and derive the columns the analyses share."""
    step_names = set().union(*(step_names_of(t) for t in traces))
    return [prepare_rank(t, drop_last_step=len(step_names) > 1) for t in traces]


def step_names_of(trace: RankTrace) -> frozenset[str]:
    """The ``ProfilerStep`` names of one rank (the set decides the step window, ``prepare``)."""
    return frozenset(n for n in trace.names if "ProfilerStep" in n)


def prepare_rank(trace: RankTrace, drop_last_step: bool) -> RankEvents:
    """One rank of ``prepare``: ``drop_last_step`` when the whole set names several steps."""
    is_kernel = _is_kernel(trace)
    step_rows = np.flatnonzero(np.isin(trace.name_id, _step_ids(trace.names)) & ~is_kernel)
    keep: B = np.ones(len(trace.ts), dtype=bool)
    cut: int | None = None
    if drop_last_step and len(step_rows):
        cut = int(trace.ts[step_rows].max())
        keep = ~is_kernel & (trace.ts < cut)
        kept_corr = trace.correlation[keep]
        keep |= is_kernel & np.isin(trace.correlation, kept_corr)
    first = trace.first_event_ts
    first_ts = np.nan if first is None or (cut is not None and first >= cut) else float(first)
    launch_ts = _launch_ts(trace, is_kernel, first_ts)
    ktypes = np.asarray([kernel_type(n) for n in trace.names], dtype=np.int8)
    steps = _steps(trace, step_rows, keep)
    rows = np.flatnonzero(keep)
    return RankEvents(
        rank=trace.rank,
        path=trace.path,
        names=trace.names,
        index=trace.index[rows],
        name_id=trace.name_id[rows],
        cat_id=trace.cat_id[rows],
        ts=trace.ts[rows],
        dur=trace.dur[rows],
        stream=trace.stream[rows],
        correlation=trace.correlation[rows],
        bandwidth_gbps=trace.bandwidth_gbps[rows],
        is_kernel=is_kernel[rows],
        ktype=ktypes[trace.name_id[rows]] if len(ktypes) else np.zeros(len(rows), np.int8),
        launch_ts=launch_ts[rows],
        steps=steps,
        steps_in_file=len(_step_ids(trace.names)),
        cpu_op_totals=trace.cpu_op_totals,
        metadata=trace.metadata,
        total_events=trace.total_events,
        nanosecond_timestamps=trace.nanosecond_timestamps,
    )


def _steps(trace: RankTrace, step_rows: I64, keep: B) -> list[tuple[int, int, int]]:
    found: dict[int, tuple[int, int, int]] = {}
    for row in step_rows:
        # The CPU span of the step: GPU-side copies of the annotation run later.
        if not keep[row] or trace.names[int(trace.cat_id[row])] == "gpu_user_annotation":
            continue
        match = re.match(r"ProfilerStep\s*#\s*(\d+)", trace.names[int(trace.name_id[row])])
        if match is None:
            continue
        it = int(match.group(1))
        start, end = int(trace.ts[row]), int(trace.ts[row] + trace.dur[row])
        prev = found.get(it)
        found[it] = (it, min(start, prev[1]), max(end, prev[2])) if prev else (it, start, end)
    return sorted(found.values(), key=lambda s: s[1])
