"""The rollout plan: dependencies first, working days, blocked items, milestones vs today."""

from __future__ import annotations

import json
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fleetwise.errors import InputError
from fleetwise.models import Action, ActionStatus
from fleetwise.plan.rollout import schedule
from fleetwise.present.cli import main
from fleetwise.store import Store

APPROVED = ActionStatus.APPROVED
MONDAY = date(2026, 11, 30)


def act(i: int, days: float, *deps: int, status: ActionStatus = APPROVED) -> Action:
    return Action(id=i, title=f"a{i}", effort_days=days, depends_on=list(deps), status=status)


def test_dependencies_push_starts_to_the_next_working_day() -> None:
    items = {
        it.action.id: it
        for it in schedule(
            [
                act(1, 3),
                act(2, 2, 1),
                act(3, 1, 1, 2),
                act(4, 1, 5),
                act(5, 1, status=ActionStatus.PROPOSED),
            ],
            MONDAY,
            today=date(2026, 12, 2),
        )
    }
    # 3 working days Mon-Wed; #2 Thu-Fri; #3 the next Monday
    assert (items[1].start, items[1].end, items[1].milestone) == (MONDAY, date(2026, 12, 2), "due")
    assert (items[2].start, items[2].end) == (date(2026, 12, 3), date(2026, 12, 4))
    assert (items[3].start, items[3].end, items[3].milestone) == (
        date(2026, 12, 7),
        date(2026, 12, 7),
        "upcoming",
    )
    assert items[4].milestone == "blocked" and "not approved" in items[4].notes[0]
    assert 5 not in items


def test_late_done_and_cycles() -> None:
    done = act(1, 1, status=ActionStatus.DONE)
    late = act(2, 1)
    items = schedule([done, late], MONDAY, today=date(2026, 12, 10))
    assert [it.milestone for it in items] == ["done", "late"]
    with pytest.raises(InputError, match="cycle"):
        schedule([act(1, 1, 2), act(2, 1, 1)], MONDAY, MONDAY)


def test_schedule_command(store: Store, db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    a, b = store.add_actions(
        [
            Action(title="first", effort_days=2, status=APPROVED, owner="ann"),
            Action(title="second", status=APPROVED),
        ],
        [[], [0]],
    )
    assert (
        main(
            [
                "plan",
                "schedule",
                "--start",
                "2026-11-30",
                "--today",
                "2026-11-30",
                "--db",
                db_url,
                "--json",
            ]
        )
        == 0
    )
    timeline = json.loads(capsys.readouterr().out)["timeline"]
    assert [(t["id"], t["start"], t["end"]) for t in timeline] == [
        (a, "2026-11-30", "2026-12-01"),
        (b, "2026-12-02", "2026-12-02"),
    ]
    assert main(["plan", "update", str(b), "--status", "done", "--db", db_url]) == 0
    assert store.get_action(b).status is ActionStatus.DONE
    assert main(["plan", "update", str(b), "--start", "tomorrow", "--db", db_url]) == 2


@given(
    st.lists(
        st.tuples(st.floats(0.5, 15), st.sets(st.integers(0, 20), max_size=3)),
        min_size=1,
        max_size=12,
    )
)
def test_every_item_starts_after_its_dependencies_end(
    spec: list[tuple[float, set[int]]],
) -> None:
    # Dependencies only on earlier items: a DAG by construction.
    actions = [
        act(i + 1, days, *sorted(d + 1 for d in deps if d < i))
        for i, (days, deps) in enumerate(spec)
    ]
    items = {it.action.id: it for it in schedule(actions, MONDAY, MONDAY)}
    for it in items.values():
        assert it.start is not None and it.end is not None
        assert it.start.weekday() < 5 and it.end >= it.start
        for dep in it.action.depends_on:
            dep_end = items[dep].end
            assert dep_end is not None and it.start > dep_end
