"""Properties of the people side: a register or meeting file of any content is read or
refused with one ``InputError`` line naming the file (never another exception), and the
communication plan keeps its order for any rollout (consult <= kickoff <= review <
announce, everyone named is a stakeholder, every message has an owner)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fleetwise.errors import InputError
from fleetwise.models import Action, ActionStatus, Raci, Stakeholder
from fleetwise.plan.alignment import load_register
from fleetwise.plan.comms import comms_plan
from fleetwise.plan.meetings import load_meeting
from fleetwise.plan.rollout import schedule

ROOT = Path(__file__).parents[2]
MEETING = (ROOT / "examples" / "people" / "meetings" / "2026-11-23-research-review.md").read_text()
REGISTER = (ROOT / "examples" / "people" / "stakeholders.yaml").read_text()
NAMES = ["Ann", "Bob", "Cy", "Di", "Ed"]


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.sampled_from(["m.md", "m.yaml", "r.yaml"]),
    st.integers(min_value=0, max_value=len(MEETING) - 1),
    st.integers(min_value=0, max_value=40),
    st.text(max_size=12),
)
def test_any_edit_is_read_or_refused_in_one_line(
    tmp_path_factory: pytest.TempPathFactory, name: str, at: int, cut: int, insert: str
) -> None:
    base = REGISTER if name == "r.yaml" else MEETING
    at = at % len(base)
    text = base[:at] + insert + base[at + cut :]
    path = tmp_path_factory.mktemp("edit") / name
    path.write_text(text)
    try:
        if name == "r.yaml":
            load_register(path, [])
        else:
            load_meeting(path, stakeholders=set(), actions=[])
    except InputError as exc:
        message = str(exc)
        assert message.startswith(str(path)) and "\n" not in message


@st.composite
def rollouts(draw: st.DrawFn) -> tuple[list[Action], dict[int, Raci], date]:
    today = date(2026, 12, 7) + timedelta(days=draw(st.integers(0, 6)))
    n = draw(st.integers(1, 6))
    actions, racis = [], {}
    for i in range(1, n + 1):
        start = draw(st.none() | st.dates(date(2026, 11, 1), date(2027, 2, 1)))
        deps = draw(st.lists(st.integers(1, i - 1), max_size=2)) if i > 1 else []
        actions.append(
            Action(
                id=i,
                title=f"action {i}",
                effort_days=draw(st.floats(0.5, 15)),
                status=draw(st.sampled_from([ActionStatus.APPROVED, ActionStatus.PROPOSED])),
                start=start,
                depends_on=deps,
            )
        )
        if draw(st.booleans()):
            racis[i] = Raci(
                action_id=i,
                responsible=tuple(draw(st.lists(st.sampled_from(NAMES), max_size=2, unique=True))),
                accountable=draw(st.sampled_from(NAMES)),
                consulted=tuple(draw(st.lists(st.sampled_from(NAMES), max_size=2, unique=True))),
                informed=tuple(draw(st.lists(st.sampled_from(NAMES), max_size=3, unique=True))),
            )
    return actions, racis, today


PEOPLE = [
    Stakeholder(name=n, influence=i, interest=j)
    for n, i, j in zip(NAMES, [5, 5, 3, 1, 4], [5, 2, 5, 1, 4], strict=True)
]


@settings(max_examples=150, deadline=None)
@given(rollouts())
def test_comms_plan_keeps_its_order(case: tuple[list[Action], dict[int, Raci], date]) -> None:
    actions, racis, today = case
    items = schedule(actions, today, today)
    plan = comms_plan(items, racis, PEOPLE, today)
    assert [e.day for e in plan.events] == sorted(e.day for e in plan.events)
    by_action: dict[str, dict[str, list[date]]] = {}
    for e in plan.events:
        assert e.audience and e.owner in NAMES and set(e.audience) <= set(NAMES)
        by_action.setdefault(e.action, {}).setdefault(e.kind, []).append(e.day)
    for it in items:
        days = by_action.get(it.action.title, {})
        if it.start is None or (it.action.id or 0) not in racis:
            assert days == {}
            continue
        assert days["kickoff"] == [it.start] and days["review"] == [it.end]
        for d in days.get("consult", []):
            assert d <= it.start or d < today
        assert all(d > (it.end or it.start) for d in days.get("announce", []))
    scheduled = {it.action.title for it in items if it.start is not None}
    assert set(plan.without_raci) <= scheduled
