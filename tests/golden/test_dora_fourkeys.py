"""Acceptance: on Four Keys' sample, our four keys equal its ``metrics.json`` when run with
Four Keys' definitions, and the fleetwise definitions are reported beside them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fleetwise.analyze.dora import DoraConfig, attribute_incidents, dora_metrics, dora_report
from fleetwise.collect.importers.pipeline import parse_process
from fleetwise.models import ProcessEvent

SAMPLE = Path(__file__).parents[1] / "data" / "process" / "fourkeys_sample"


@pytest.fixture(scope="module")
def events() -> list[ProcessEvent]:
    fmt, evs = parse_process(SAMPLE)
    assert fmt == "fourkeys"
    return evs


def test_fourkeys_definition_matches_metrics_json(events: list[ProcessEvent]) -> None:
    expected = json.loads((SAMPLE / "metrics.json").read_text())
    m = dora_metrics(events, DoraConfig(definition="fourkeys"))
    assert m.deployments == expected["n_deployments"] == 161
    assert m.incidents == expected["n_incidents"] == 25
    assert m.lead_time_hours is not None and m.change_failure_rate is not None
    assert round(m.lead_time_hours, 2) == expected["median_lead_time_hours"] == 503.42
    assert round(m.change_failure_rate, 3) == expected["change_fail_rate"] == 0.087
    assert m.recovery_time_hours == expected["median_time_to_restore_hours"] == 31
    assert m.deploy_days_per_week == expected["median_deploy_days_per_week"] == 4


def test_fleetwise_definition_and_the_difference(events: list[ProcessEvent]) -> None:
    report = dora_report(events)
    ours, theirs = report.overall, report.alternative
    assert (ours.definition, theirs.definition) == ("fleetwise", "fourkeys")
    # Distinct failed deployments: no deployment of the sample has two incidents, so the
    # two change failure rates agree here (tests below show where they part).
    assert ours.failed_deployments == theirs.failed_deployments == 14
    assert ours.change_failure_rate == pytest.approx(14 / 161)
    # Exact times: lead time per change, recovery over incidents caused by a deployment.
    assert ours.lead_time_hours == pytest.approx(503.4246, abs=1e-3)
    assert ours.recovery_time_hours == pytest.approx(29.29, abs=0.01)
    assert ours.deploy_days_per_week == 4
    assert ours.rework_rate == pytest.approx(22 / 161)
    assert report.attributed_by_root_cause == 14 and report.unattributed == 11
    assert ours.bands["lead_time_hours"] == "medium"
    assert ours.bands["recovery_time_hours"] == "low"
    assert report.bands_year == 2024
    # Every ISO week from the first deployment to the last is a row, quiet weeks too.
    assert len(report.weeks) == 11
    assert sum(w.deployments for w in report.weeks) == 161


def _ev(
    kind: str, key: str, hour: float, links: list[str] | None = None, **kw: object
) -> ProcessEvent:
    from datetime import UTC, datetime, timedelta

    t = datetime(2026, 3, 2, tzinfo=UTC) + timedelta(hours=hour)
    return ProcessEvent.model_validate(
        {"kind": kind, "source": "t", "key": key, "time": t, "links": links or [], **kw}
    )


def test_change_failure_rate_counts_distinct_deployments_unlike_fourkeys() -> None:
    from datetime import timedelta

    evs = [
        _ev("change", "c1", 0),
        _ev("change", "c2", 1),
        _ev("deployment", "d1", 2, ["c1"]),
        _ev("deployment", "d2", 3, ["c2"]),
        _ev("incident", "i1", 4, ["c1"], ended_at=_ev("change", "x", 6).time),
        _ev("incident", "i2", 5, ["c1"], ended_at=_ev("change", "x", 7).time),
    ]
    ours = dora_metrics(evs)
    theirs = dora_metrics(evs, DoraConfig(definition="fourkeys"))
    assert ours.change_failure_rate == 0.5  # one of two deployments failed
    assert theirs.change_failure_rate == 1.0  # two incidents over two deployments
    assert timedelta(hours=1) < DoraConfig().incident_window


def test_incident_without_root_cause_attaches_within_window_only() -> None:
    from datetime import timedelta

    deps = [
        _ev("deployment", "old", 0, service="api"),
        _ev("deployment", "other", 9, service="web"),
        _ev("deployment", "recent", 10, service="api"),
    ]
    inside = _ev("incident", "in", 12, service="api")
    outside = _ev("incident", "out", 40, service="api")
    found = attribute_incidents(deps, [inside, outside], timedelta(hours=24))
    assert found["in"] == ("recent", "window")
    assert found["out"] == (None, "none")  # not blindly the last deploy
    assert attribute_incidents(deps, [inside], timedelta(hours=1))["in"] == (None, "none")
