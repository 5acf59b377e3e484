"""Value-stream maps: the ladder and its figures by hand, the pipeline's steps against an
independent pandas-free recomputation from the CSV, the future state of the backlog, and
the map file's strict schema (file, line and key in one message)."""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from datetime import date, datetime
from pathlib import Path
from statistics import median

import pytest

from fleetwise.analyze.valuestream import Step, constraint_of, from_pipeline, value_stream
from fleetwise.collect.importers.pipeline import parse_process
from fleetwise.errors import InputError
from fleetwise.models import KPI, Action, ActionStatus, KPIEffect
from fleetwise.plan.valuestream import (
    bound_figure,
    future_state,
    load_map,
    map_doc,
    map_from_doc,
    step_source,
)

ROOT = Path(__file__).parents[2]
EXAMPLE = ROOT / "examples" / "process-map.yaml"
PIPELINE = ROOT / "tests" / "data" / "process" / "pipeline_runs.csv"


def _steps() -> list[Step]:
    return [
        Step("review", wait_hours=10, active_hours=2, complete_accurate=0.5),
        Step("ci", wait_hours=1, active_hours=1, complete_accurate=0.8),
        Step("deploy", wait_hours=4, active_hours=2, complete_accurate=1.0),
    ]


def test_ladder_and_figures_by_hand() -> None:
    vs = value_stream(_steps(), "m", "yaml:m.yaml")
    assert [(r.wait_start_hours, r.active_start_hours, r.end_hours) for r in vs.ladder] == [
        (0, 10, 12),
        (12, 13, 14),
        (14, 18, 20),
    ]
    assert vs.lead_time_hours == 20 and vs.process_time_hours == 5
    assert vs.flow_efficiency == 0.25
    assert vs.rolled_complete_accurate == pytest.approx(0.4)
    assert vs.constraint == "review" and [r.constraint for r in vs.ladder] == [True, False, False]


def test_constraint_tie_goes_to_the_earlier_step_and_empty_map() -> None:
    steps = [Step("a", 3, 1, 1), Step("b", 3, 9, 1)]
    assert constraint_of(steps) == "a"
    empty = value_stream([])
    assert empty.constraint is None and empty.lead_time_hours == 0
    assert empty.flow_efficiency == 0 and empty.rolled_complete_accurate == 1


def test_example_map() -> None:
    vs = load_map(EXAMPLE)
    assert [s.name for s in vs.steps][:2] == ["code-review", "ci"]
    assert vs.lead_time_hours == pytest.approx(94.0)
    assert vs.process_time_hours == pytest.approx(15.2)
    assert vs.flow_efficiency == pytest.approx(15.2 / 94.0)
    expected = 0.75 * 0.82 * 0.88 * 0.95 * 0.9 * 0.97
    assert vs.rolled_complete_accurate == pytest.approx(expected)
    assert vs.constraint == "training-eval" and vs.source == "yaml:process-map.yaml"
    assert map_from_doc(map_doc(vs)) == vs


def test_pipeline_steps_match_an_independent_recomputation() -> None:
    steps = from_pipeline(parse_process(PIPELINE)[1])
    with PIPELINE.open() as fh:
        rows = list(csv.DictReader(fh))
    ts = lambda text: datetime.fromisoformat(text).timestamp()  # noqa: E731
    wait: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    first: dict[str, dict[str, tuple[int, str]]] = defaultdict(dict)
    for r in rows:
        wait[r["stage"]][r["pipeline_id"]] += (ts(r["started"]) - ts(r["queued"])) / 3600
        seen = first[r["stage"]].get(r["pipeline_id"])
        if seen is None or int(r["attempt"]) < seen[0]:
            first[r["stage"]][r["pipeline_id"]] = (int(r["attempt"]), r["result"])
    assert [s.name for s in steps] == ["build", "unit-test", "integration-test", "deploy-staging"]
    for s in steps:
        assert s.wait_hours == pytest.approx(median(wait[s.name].values()))
        ok = [res == "passed" for _, res in first[s.name].values()]
        assert s.complete_accurate == pytest.approx(sum(ok) / len(ok))
    it = next(s for s in steps if s.name == "integration-test")
    assert it.complete_accurate < 1  # reruns after failures: not complete and accurate
    assert value_stream(steps).constraint == "integration-test"


def _kpi(name: str, step: str, figure: str) -> KPI:
    return KPI(
        name=name,
        source=step_source(step, figure),
        goal_value=1,
        goal_date=date(2027, 1, 1),
    )


def test_future_state_applies_open_actions_only() -> None:
    current = value_stream(_steps())
    kpis = [_kpi("rw", "review", "wait_hours"), _kpi("ca", "ci", "complete_accurate")]
    actions = [
        Action(id=1, title="rotate", effects=[KPIEffect(kpi="rw", change=-0.5)]),
        Action(
            id=2,
            title="again",
            status=ActionStatus.APPROVED,
            effects=[KPIEffect(kpi="rw", change=-0.5)],
        ),
        Action(id=3, title="flaky", effects=[KPIEffect(kpi="ca", change=0.5)]),
        Action(
            id=4,
            title="turned down",
            status=ActionStatus.REJECTED,
            effects=[KPIEffect(kpi="rw", change=-0.9)],
        ),
        Action(
            id=5, title="done", status=ActionStatus.DONE, effects=[KPIEffect(kpi="rw", change=-1)]
        ),
    ]
    fs = future_state(current, actions, kpis)
    review = fs.future.steps[0]
    assert review.wait_hours == pytest.approx(2.5)  # 10 x 0.5 x 0.5
    assert fs.future.steps[1].complete_accurate == 1.0  # 0.8 x 1.5, capped at 1
    assert fs.lead_time_saved_hours == pytest.approx(7.5)
    assert [e.action_id for e in fs.effects] == [1, 2, 3]
    assert fs.future.constraint == "deploy" and fs.ready_by is None


def test_bound_figure() -> None:
    assert bound_figure(_kpi("x", "code-review", "wait_hours")) == ("code-review", "wait_hours")
    other = KPI(
        name="y",
        source="analysis:process:lead_time_hours",
        goal_value=1,
        goal_date=date(2027, 1, 1),
    )
    assert bound_figure(other) is None


BAD = [
    (
        "steps:\n  - name: a\n    wait_hours: 1\n    active_hours: 1\n    complete_accurate: 1\n"
        "    colour: red\n",
        ":6: steps.0.colour: unknown key",
    ),
    (
        "steps:\n  - name: a\n    wait_hours: .nan\n    active_hours: 1\n"
        "    complete_accurate: 1\n",
        ":3: steps.0.wait_hours: Input should be a finite number",
    ),
    (
        "steps:\n  - name: a\n    wait_hours: 1\n    active_hours: .inf\n"
        "    complete_accurate: 1\n",
        ":4: steps.0.active_hours: Input should be a finite number",
    ),
    (
        "steps:\n  - name: a\n    wait_hours: -2\n    active_hours: 1\n    complete_accurate: 1\n",
        ":3: steps.0.wait_hours: Input should be greater than or equal to 0",
    ),
    (
        "steps:\n  - name: a\n    wait_hours: 1\n    active_hours: 1\n    complete_accurate: 80\n",
        ":5: steps.0.complete_accurate: Input should be less than or equal to 1",
    ),
    (
        "steps:\n  - {name: a, wait_hours: 1, active_hours: 1, complete_accurate: 1}\n"
        "  - {name: a, wait_hours: 1, active_hours: 1, complete_accurate: 1}\n",
        ":3: steps.1.name: duplicate step 'a'",
    ),
    (
        "steps:\n  - {name: a.b, wait_hours: 1, active_hours: 1, complete_accurate: 1}\n",
        ":2: steps.0.name: String should match pattern",
    ),
    (
        "steps:\n  - {name: a, active_hours: 1, complete_accurate: 1}\n",
        ":2: steps.0.wait_hours: required key missing",
    ),
    ("steps: []\n", ":1: steps: List should have at least 1 item"),
    ("name: x\nstep: []\n", ":2: step: unknown key"),
    ("- a\n", ": process map file must be a YAML mapping"),
]


@pytest.mark.parametrize(("text", "message"), BAD)
def test_bad_map_names_file_line_and_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "map.yaml"
    path.write_text(text)
    with pytest.raises(InputError) as err:
        load_map(path)
    assert str(err.value).startswith(str(path)) and message in str(err.value)
    assert "\n" not in str(err.value)


def test_fsum_lead_time_is_the_sum() -> None:
    steps = [Step(f"s{i}", 0.1, 0.2, 0.9) for i in range(10)]
    assert value_stream(steps).lead_time_hours == math.fsum([0.1, 0.2] * 10)


def test_chart_draws_both_states_with_the_constraint_outlined() -> None:
    from fleetwise.present.charts import spec, to_svg, value_stream_map

    current = value_stream(_steps())
    kpis = [_kpi("rw", "review", "wait_hours")]
    fs = future_state(
        current, [Action(id=1, title="a", effects=[KPIEffect(kpi="rw", change=-0.9)])], kpis
    )
    doc = spec(value_stream_map(fs.current, fs.future))
    titles = [c["title"] for c in doc["vconcat"]]
    assert titles[0].startswith("current: lead time 20 h") and titles[1].startswith("future:")
    data = lambda n: doc["datasets"][doc["vconcat"][n]["data"]["name"]]  # noqa: E731
    rows = data(0)
    assert len(rows) == 6 and {r["part"] for r in rows} == {"wait", "active"}
    assert [r["step"] for r in rows if r["constraint"]] == ["review  (constraint)"] * 2
    future_rows = data(1)
    assert [r["step"] for r in future_rows if r["constraint"]] == ["deploy  (constraint)"] * 2
    svg = to_svg(value_stream_map(current))
    assert svg.startswith("<svg") and "#c62828" in svg
