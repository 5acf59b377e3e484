"""Value-stream maps: the hand-written YAML map, and the future state the backlog promises.

A map file::

    schema_version: 1
    name: model delivery, training platform
    steps:                        # in the order a change walks them
      - name: code-review
        wait_hours: 18            # queue time before anyone works on it
        active_hours: 1.5         # hands-on (process) time
        complete_accurate: 0.8    # share passed on without rework (%C&A as a share)
        owner: Dana               # optional
        team: platform            # optional

Unknown keys, NaN, infinities, negative times and a %C&A outside [0, 1] are refused with
the file, line and key.

The future state applies the expected effects of the open actions (proposed, approved, in
progress; done ones are in the measured map already) to the steps their KPIs are bound to.
A KPI is bound to a step figure by its source, the key of that figure in the stored map:
``analysis:process:steps.<step>.<wait_hours|active_hours|complete_accurate>``; so the same
KPI reads the step from every map stored later, and sustainment watches it. Effects on one
figure combine multiplicatively (x (1 + change) each); a %C&A stays at most 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from fleetwise.analyze.valuestream import Step, ValueStream, value_stream
from fleetwise.checked import Share
from fleetwise.models import KPI, Action, ActionStatus
from fleetwise.plan import yamlfile
from fleetwise.plan.rollout import ScheduledItem

#: The step figures a KPI can be bound to (and an action's effect can move).
STEP_FIELDS = ("wait_hours", "active_hours", "complete_accurate")
#: What the future state counts: work not done yet and not turned down.
OPEN = (ActionStatus.PROPOSED, ActionStatus.APPROVED, ActionStatus.IN_PROGRESS)
_PREFIX = "analysis:process:steps."


class _StepEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=80, pattern=r"^[^.]+$")
    wait_hours: float = Field(ge=0, le=1e6, allow_inf_nan=False)
    active_hours: float = Field(ge=0, le=1e6, allow_inf_nan=False)
    complete_accurate: Share
    owner: str = ""
    team: str = ""


class _MapFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schema_version: int = 1
    name: str = ""
    steps: list[dict[str, Any]] = Field(min_length=1)


def load_map(path: Path) -> ValueStream:
    """Read and check a value-stream map file (nothing is stored here)."""
    doc = yamlfile.read(path, "process map")
    parsed = doc.validate(_MapFile)
    steps: list[Step] = []
    seen: set[str] = set()
    for i, raw in enumerate(parsed.steps):
        if not isinstance(raw, dict):
            raise doc.error(["steps", i], "a step must be a mapping with name, times and %C&A")
        entry = doc.validate(_StepEntry, raw, ["steps", i])
        if entry.name in seen:
            raise doc.error(["steps", i, "name"], f"duplicate step {entry.name!r}")
        seen.add(entry.name)
        steps.append(Step(**entry.model_dump()))
    return value_stream(steps, parsed.name or path.stem, f"yaml:{path.name}")


def step_source(step: str, figure: str) -> str:
    """The KPI source that reads ``figure`` of ``step`` from the stored maps."""
    return f"{_PREFIX}{step}.{figure}"


def bound_figure(kpi: KPI) -> tuple[str, str] | None:
    """(step, figure) a KPI is bound to, or None when it reads something else."""
    if not kpi.source.startswith(_PREFIX):
        return None
    step, _, figure = kpi.source.removeprefix(_PREFIX).rpartition(".")
    return (step, figure) if step and figure in STEP_FIELDS else None


@dataclass(frozen=True)
class AppliedEffect:
    """One action's expected effect placed on one step figure of the future state."""

    action_id: int | None
    action: str
    status: str
    owner: str
    kpi: str
    step: str
    figure: str
    change: float
    planned_end: date | None


@dataclass(frozen=True)
class FutureState:
    current: ValueStream
    future: ValueStream
    effects: list[AppliedEffect]

    @property
    def lead_time_saved_hours(self) -> float:
        return self.current.lead_time_hours - self.future.lead_time_hours

    @property
    def ready_by(self) -> date | None:
        """The last planned end of the actions it counts on (None when one is unscheduled)."""
        ends = [e.planned_end for e in self.effects]
        if not ends or any(d is None for d in ends):
            return None
        return max(d for d in ends if d is not None)


def future_state(
    current: ValueStream,
    actions: Sequence[Action],
    kpis: Sequence[KPI],
    timeline: Sequence[ScheduledItem] = (),
) -> FutureState:
    """The map once the open actions' expected effects on its step KPIs have landed."""
    names = {s.name for s in current.steps}
    figures = {k.name: f for k in kpis if (f := bound_figure(k)) and f[0] in names}
    ends = {it.action.id: it.end for it in timeline}
    factor: dict[tuple[str, str], float] = {}
    applied: list[AppliedEffect] = []
    for a in sorted(actions, key=lambda a: a.id or 0):
        if a.status not in OPEN:
            continue
        for eff in a.effects:
            where = figures.get(eff.kpi)
            if where is None:
                continue
            factor[where] = factor.get(where, 1.0) * (1 + eff.change)
            applied.append(
                AppliedEffect(
                    action_id=a.id,
                    action=a.title,
                    status=a.status.value,
                    owner=a.owner,
                    kpi=eff.kpi,
                    step=where[0],
                    figure=where[1],
                    change=eff.change,
                    planned_end=ends.get(a.id),
                )
            )
    steps = []
    for s in current.steps:
        wait = s.wait_hours * factor.get((s.name, "wait_hours"), 1.0)
        active = s.active_hours * factor.get((s.name, "active_hours"), 1.0)
        ca = min(s.complete_accurate * factor.get((s.name, "complete_accurate"), 1.0), 1.0)
        steps.append(replace(s, wait_hours=wait, active_hours=active, complete_accurate=ca))
    future = value_stream(steps, current.name, current.source)
    return FutureState(current, future, applied)


def map_doc(vs: ValueStream) -> dict[str, Any]:
    """A map as its stored summary: ``steps.<name>.<figure>`` is what KPIs bind to."""
    return {
        "name": vs.name,
        "source": vs.source,
        "order": [s.name for s in vs.steps],
        "steps": {
            r.step.name: {
                "wait_hours": r.step.wait_hours,
                "active_hours": r.step.active_hours,
                "complete_accurate": r.step.complete_accurate,
                "owner": r.step.owner,
                "team": r.step.team,
                "wait_start_hours": r.wait_start_hours,
                "active_start_hours": r.active_start_hours,
                "end_hours": r.end_hours,
                "constraint": r.constraint,
            }
            for r in vs.ladder
        },
        "lead_time_hours": vs.lead_time_hours,
        "process_time_hours": vs.process_time_hours,
        "flow_efficiency": vs.flow_efficiency,
        "rolled_complete_accurate": vs.rolled_complete_accurate,
        "constraint": vs.constraint,
    }


def map_from_doc(doc: dict[str, Any]) -> ValueStream:
    """A stored map summary back into a map (the inverse of ``map_doc``)."""
    steps = [
        Step(
            name=name,
            wait_hours=float(doc["steps"][name]["wait_hours"]),
            active_hours=float(doc["steps"][name]["active_hours"]),
            complete_accurate=float(doc["steps"][name]["complete_accurate"]),
            owner=str(doc["steps"][name].get("owner", "")),
            team=str(doc["steps"][name].get("team", "")),
        )
        for name in doc["order"]
    ]
    return value_stream(steps, str(doc.get("name", "")), str(doc.get("source", "")))
