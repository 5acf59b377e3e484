"""Properties of value-stream maps for any steps: flow efficiency in [0, 1], lead time the
sum of the steps (and the ladder's end), rolled %C&A never above the lowest step's, and a
future state of shorter waits never longer than the current one."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from fleetwise.analyze.valuestream import Step, value_stream
from fleetwise.models import KPI, Action, KPIEffect
from fleetwise.plan.valuestream import future_state, step_source

hours = st.floats(min_value=0, max_value=1e4, allow_nan=False, allow_infinity=False)
share = st.floats(min_value=0, max_value=1, allow_nan=False)
steps = st.lists(
    st.builds(
        Step,
        name=st.just("s"),
        wait_hours=hours,
        active_hours=hours,
        complete_accurate=share,
    ),
    min_size=1,
    max_size=12,
).map(
    lambda ss: [
        Step(f"s{i}", s.wait_hours, s.active_hours, s.complete_accurate) for i, s in enumerate(ss)
    ]
)


@given(steps)
def test_figures_are_bounded_and_add_up(ss: list[Step]) -> None:
    vs = value_stream(ss)
    assert 0 <= vs.flow_efficiency <= 1
    assert vs.lead_time_hours == math.fsum(x for s in ss for x in (s.wait_hours, s.active_hours))
    assert math.isclose(vs.ladder[-1].end_hours, vs.lead_time_hours, rel_tol=1e-9, abs_tol=1e-9)
    assert vs.process_time_hours <= vs.lead_time_hours
    assert vs.rolled_complete_accurate <= min(s.complete_accurate for s in ss)
    assert vs.rolled_complete_accurate >= 0
    assert vs.constraint is not None
    longest = max(s.wait_hours for s in ss)
    assert next(s for s in ss if s.name == vs.constraint).wait_hours == longest


@given(steps, st.lists(st.floats(min_value=-1, max_value=0, allow_nan=False), min_size=1))
def test_shorter_waits_never_lengthen_the_stream(ss: list[Step], changes: list[float]) -> None:
    current = value_stream(ss)
    kpi = KPI(
        name="w", source=step_source("s0", "wait_hours"), goal_value=0, goal_date="2027-01-01"
    )
    actions = [
        Action(id=i + 1, title=f"a{i}", effects=[KPIEffect(kpi="w", change=c)])
        for i, c in enumerate(changes)
    ]
    fs = future_state(current, actions, [kpi])
    assert fs.future.lead_time_hours <= current.lead_time_hours
    assert 0 <= fs.future.flow_efficiency <= 1
    assert fs.future.rolled_complete_accurate == current.rolled_complete_accurate
    assert len(fs.effects) == len(changes)
