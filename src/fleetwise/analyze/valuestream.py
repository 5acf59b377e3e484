"""The value-stream map of delivery: each step's wait and active time, its %C&A, the
lead-time ladder, flow efficiency, rolled %C&A and the constraint.

Definitions (Rother and Shook, *Learning to See*; Martin and Osterling, *Value Stream
Mapping*, ch. 3-4):

- *lead time* is the sum of every step's wait and active (process) time: one work item
  walks the steps one after the other;
- *process time* is the sum of the active times; *flow efficiency* = process time / lead
  time (in [0, 1]; 0 when the lead time is 0);
- *%C&A* (percent complete and accurate) is the share of a step's output the next step
  can use as it is, without rework; *rolled %C&A* is their product: the share of items
  that pass every step without rework (never above the lowest step's);
- the *constraint* is the step with the longest wait: in a delivery stream queues, not
  hands-on work, dominate lead time (Martin and Osterling), so the step items wait longest
  for is the one to relieve first. Ties go to the earlier step.

From the pipeline data in the store (``from_pipeline``), each stage is a step: its wait
and active time are the medians over pipelines of the stage's total wait and active time
(a rerun adds both, so rework shows up as time), and its %C&A is its first-pass yield,
the share of pipelines whose first attempt of the stage succeeded (a failure, flaky or
not, sends the item back).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from statistics import median

from fleetwise.models import ProcessEvent


@dataclass(frozen=True)
class Step:
    """One step of the value stream; times in hours, ``complete_accurate`` a share."""

    name: str
    wait_hours: float
    active_hours: float
    complete_accurate: float
    owner: str = ""
    team: str = ""


@dataclass(frozen=True)
class Rung:
    """One step on the lead-time ladder: where its wait and its work start, in hours."""

    step: Step
    wait_start_hours: float
    active_start_hours: float
    end_hours: float
    constraint: bool


@dataclass(frozen=True)
class ValueStream:
    name: str
    #: ``yaml:<file>`` or ``store:pipeline``.
    source: str
    ladder: list[Rung]
    lead_time_hours: float
    process_time_hours: float
    flow_efficiency: float
    rolled_complete_accurate: float
    constraint: str | None

    @property
    def steps(self) -> list[Step]:
        return [r.step for r in self.ladder]


def constraint_of(steps: Sequence[Step]) -> str | None:
    """The step with the longest wait (the earlier one on a tie); None without steps."""
    if not steps:
        return None
    return max(enumerate(steps), key=lambda it: (it[1].wait_hours, -it[0]))[1].name


def value_stream(steps: Sequence[Step], name: str = "", source: str = "") -> ValueStream:
    """The ladder and the figures of ``steps`` in the order an item walks them."""
    constraint = constraint_of(steps)
    ladder: list[Rung] = []
    t = 0.0
    for s in steps:
        active_at = t + s.wait_hours
        end = active_at + s.active_hours
        ladder.append(Rung(s, t, active_at, end, s.name == constraint))
        t = end
    # fsum: the lead time is exactly the sum of the steps, whatever their magnitudes.
    lead = math.fsum(x for s in steps for x in (s.wait_hours, s.active_hours))
    process = math.fsum(s.active_hours for s in steps)
    return ValueStream(
        name=name,
        source=source,
        ladder=ladder,
        lead_time_hours=lead,
        process_time_hours=process,
        flow_efficiency=min(process / lead, 1.0) if lead > 0 else 0.0,
        rolled_complete_accurate=math.prod(s.complete_accurate for s in steps) if steps else 1.0,
        constraint=constraint,
    )


@dataclass
class _Stage:
    wait: dict[str, float]
    active: dict[str, float]
    first_ok: dict[str, bool]
    offset: list[float]


def from_pipeline(events: Iterable[ProcessEvent]) -> list[Step]:
    """The stored pipeline stages as value-stream steps, in the order they run (median
    start within the pipeline). Empty when there are no finished stage runs."""
    runs = [
        e
        for e in events
        if e.kind == "pipeline_stage" and e.started_at is not None and e.ended_at is not None
    ]
    first: dict[str, float] = {}
    for e in runs:
        p = e.group or e.key.split("/", 1)[0]
        first[p] = min(first.get(p, math.inf), e.time.timestamp())
    stages: dict[str, _Stage] = defaultdict(lambda: _Stage({}, {}, {}, []))
    attempts: dict[tuple[str, str], list[tuple[int, float, str]]] = defaultdict(list)
    for e in runs:
        assert e.started_at is not None and e.ended_at is not None
        p = e.group or e.key.split("/", 1)[0]
        name = str(e.payload.get("stage") or e.key.split("/")[1])
        st = stages[name]
        st.wait[p] = st.wait.get(p, 0.0) + (e.started_at - e.time).total_seconds() / 3600
        st.active[p] = st.active.get(p, 0.0) + (e.ended_at - e.started_at).total_seconds() / 3600
        attempts[(p, name)].append(
            (int(e.payload.get("attempt") or 1), e.time.timestamp(), e.status)
        )
    for (p, name), tries in attempts.items():
        tries.sort()
        stages[name].first_ok[p] = tries[0][2] == "success"
        stages[name].offset.append(tries[0][1] - first[p])
    ordered = sorted(stages.items(), key=lambda kv: (median(kv[1].offset), kv[0]))
    return [
        Step(
            name=name,
            wait_hours=float(median(st.wait.values())),
            active_hours=float(median(st.active.values())),
            complete_accurate=sum(st.first_ok.values()) / len(st.first_ok),
        )
        for name, st in ordered
    ]
