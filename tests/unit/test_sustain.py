"""Sustainment: a done action's KPI after closure, held or eroding (guard band or a change
point), the 30/60/90-day checkpoints, recognition, and the finding linked to the action."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Literal

import pytest

from fleetwise.models import KPI, Action, ActionStatus, KPIEffect
from fleetwise.plan.kpis import Reading
from fleetwise.plan.sustain import FINDING_KIND, sustain_report, watch_gain

CLOSED = date(2026, 6, 1)


def _kpi(direction: Literal["higher", "lower"] = "lower") -> KPI:
    return KPI(
        name="review-wait",
        source="analysis:process:steps.code-review.wait_hours",
        unit="h",
        direction=direction,
        baseline_value=20,
        baseline_date=datetime(2026, 1, 1, tzinfo=UTC),
        goal_value=6,
        goal_date=date(2027, 3, 31),
    )


def _action(end: date | None = CLOSED, owner: str = "Priya", aid: int = 7) -> Action:
    return Action(
        id=aid,
        title="reviewer rotation",
        owner=owner,
        status=ActionStatus.DONE,
        end=end,
        finding_kind="delivery.lead_time",
        effects=[KPIEffect(kpi="review-wait", change=-0.6)],
    )


def _at(days: float, value: float) -> Reading:
    when = datetime(2026, 6, 1, 23, 59, 59, tzinfo=UTC) + timedelta(days=days)
    return Reading(time=when, value=value, ref=f"analysis:{int(days)}")


def test_gain_held_at_every_checkpoint() -> None:
    found = [_at(-30, 20), _at(2, 8), _at(31, 9), _at(61, 10), _at(95, 11)]
    w = watch_gain(_action(), _kpi(), found, date(2026, 12, 1))
    assert w.verdict == "held" and w.before == 20 and w.measured == 8 and w.gain == -12
    assert w.kept == pytest.approx(9 / 12)  # 11 keeps 9 of the 12 hours saved
    assert [(c.days, c.state, c.value) for c in w.checkpoints] == [
        (30, "held", 9),
        (60, "held", 10),
        (90, "held", 11),
    ]


def test_falling_back_past_the_guard_band_is_eroding() -> None:
    found = [_at(2, 8), _at(31, 12), _at(70, 16)]
    w = watch_gain(_action(), _kpi(), found, date(2026, 8, 15))
    assert w.verdict == "eroding" and w.kept == pytest.approx(4 / 12)
    assert [c.state for c in w.checkpoints] == ["held", "eroding", "not yet due"]
    report = sustain_report([_action()], [_kpi()], {"review-wait": found}, date(2026, 8, 15))
    (f,) = report.findings
    assert f.kind == FINDING_KIND and f.layer == "delivery" and "#7" in f.title
    assert f.evidence[0].value == "#7" and f.evidence[0].source == "action:7"
    # The gain was measured: its owner is credited, eroding or not.
    assert [(r.owner, [a.id for a in r.actions]) for r in report.recognition] == [("Priya", [7])]


def test_a_worse_change_point_is_eroding_within_the_guard_band() -> None:
    # Higher is better: +10 measured, then a step down that still keeps 70% of the gain.
    kpi = _kpi("higher").model_copy(update={"baseline_value": 100.0})
    values = [110.0, 110.2, 109.9, 110.1, 110.0, 110.1, 107.0, 107.1, 106.9, 107.0, 107.1, 106.9]
    found = [_at(1 + i, v) for i, v in enumerate(values)]
    w = watch_gain(_action(), kpi, found, date(2026, 12, 1))
    assert w.kept == pytest.approx(0.69, abs=0.01) and w.kept > 0.5
    assert w.verdict == "eroding" and w.change_point_at == found[6].time


def test_an_improving_change_point_is_not_eroding() -> None:
    kpi = _kpi("higher").model_copy(update={"baseline_value": 100.0})
    values = [110.0, 110.2, 109.9, 110.1, 110.0, 110.1, 115.0, 115.1, 114.9, 115.0, 115.1, 114.9]
    w = watch_gain(_action(), kpi, [_at(1 + i, v) for i, v in enumerate(values)], date(2026, 12, 1))
    assert w.verdict == "held" and w.change_point_at is None


def test_not_measured_no_gain_no_closure() -> None:
    today = date(2026, 6, 10)
    assert watch_gain(_action(), _kpi(), [_at(-3, 20)], today).verdict == "not measured"
    assert watch_gain(_action(), _kpi(), [_at(3, 25)], today).verdict == "no gain"
    none = watch_gain(_action(end=None), _kpi(), [_at(3, 8)], today)
    assert none.verdict == "no closure date" and "--end" in none.note
    report = sustain_report(
        [_action(end=None), _action().model_copy(update={"status": ActionStatus.APPROVED})],
        [_kpi()],
        {"review-wait": [_at(3, 8)]},
        today,
    )
    assert [w.verdict for w in report.watches] == ["no closure date"]
    assert report.recognition == [] and report.findings == []


def test_checkpoints_not_yet_due_then_no_reading() -> None:
    found = [_at(2, 8)]
    early = watch_gain(_action(), _kpi(), found, date(2026, 6, 20))
    assert [c.state for c in early.checkpoints] == ["not yet due"] * 3
    late = watch_gain(_action(), _kpi(), found, date(2026, 12, 1))
    assert [c.state for c in late.checkpoints] == ["no reading"] * 3
    assert late.checkpoints[0].due == date(2026, 7, 1)
