"""A KPI bound to a survey: ``survey:<construct|item>[:metric]`` reads each stored wave."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from fleetwise.errors import InputError
from fleetwise.models import KPI, AnalysisRecord
from fleetwise.plan.kpis import check_source, readings


def _wave(aid: int, day: str, flow: float, enps: float) -> AnalysisRecord:
    return AnalysisRecord(
        id=aid,
        kind="survey",
        source=f"survey:{day}",
        created_at=datetime(2026, 12, 7, tzinfo=UTC),  # imported together, dated by wave
        summary={
            "date": f"{day}T12:00:00+00:00",
            "constructs": {"flow": {"score": flow, "top2": 0.2}},
            "items": {"enps": {"mean": 7.0, "enps": enps}},
        },
    )


ANALYSES = [_wave(2, "2026-11-30", 52.0, 12.0), _wave(1, "2026-10-10", 44.0, -45.0)]


def _kpi(source: str) -> KPI:
    return KPI(name="k", source=source, goal_value=60, goal_date=date(2027, 3, 31))


def test_construct_and_item_readings_are_dated_by_wave() -> None:
    found = readings(_kpi("survey:flow"), [], ANALYSES)
    assert [(r.time.date(), r.value, r.ref) for r in found] == [
        (date(2026, 10, 10), 44.0, "analysis:1"),
        (date(2026, 11, 30), 52.0, "analysis:2"),
    ]
    assert [r.value for r in readings(_kpi("survey:flow:top2"), [], ANALYSES)] == [0.2, 0.2]
    assert [r.value for r in readings(_kpi("survey:enps:enps"), [], ANALYSES)] == [-45.0, 12.0]
    assert [r.value for r in readings(_kpi("survey:enps"), [], ANALYSES)] == [7.0, 7.0]
    assert readings(_kpi("survey:nothing"), [], ANALYSES) == []


@pytest.mark.parametrize("source", ["survey:", "survey:flow:median", "survey"])
def test_bad_survey_sources(source: str) -> None:
    with pytest.raises(InputError, match=r"survey:<construct\|item>"):
        check_source(source)
