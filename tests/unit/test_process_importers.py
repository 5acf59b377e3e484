"""Importers of delivery and on-call exports: real field names in, events out; malformed
rows named by file, row and column."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from fleetwise.collect.importers.pipeline import FORMATS, parse_process
from fleetwise.errors import InputError

DATA = Path(__file__).parents[1] / "data" / "process"


@pytest.mark.parametrize(
    ("name", "fmt", "count"),
    [
        ("fourkeys_sample", "fourkeys", 1386),
        ("fourkeys_sample/deployments.csv", "fourkeys", 161),
        ("pipeline_runs.csv", "pipeline-csv", 169),
        ("github_actions_jobs.json", "github-actions", 4),
        ("pagerduty_incidents.json", "pagerduty", 6),
        ("pagerduty_analytics.csv", "pagerduty", 5),
        ("opsgenie_alerts.json", "opsgenie", 4),
        ("opsgenie_alerts.csv", "opsgenie", 3),
    ],
)
def test_auto_detects_every_format(name: str, fmt: str, count: int) -> None:
    used, events = parse_process(DATA / name)
    assert (used, len(events)) == (fmt, count)
    assert all(e.time.tzinfo is not None for e in events)
    assert parse_process(DATA / name, fmt)[1] == events


def test_fourkeys_deployment_links_its_changes_and_main_commit() -> None:
    _, events = parse_process(DATA / "fourkeys_sample" / "deployments.csv")
    first = events[0]
    assert first.kind == "deployment" and first.key == "a7dae7e0a429e1415e8805c39d9491897215d58c"
    assert len(first.links) == 4 and "6f934d661f8830d3a4b79fe8e7d7b9d8192df364" in first.links
    assert first.time == datetime(2026, 9, 15, 11, 37, 0, 989121, tzinfo=UTC)


def test_github_actions_jobs_and_a_run_without_jobs() -> None:
    _, events = parse_process(DATA / "github_actions_jobs.json")
    by_key = {e.key: e for e in events}
    retry = by_key["9081726354/gpu-tests/2"]
    assert retry.status == "success" and retry.payload["attempt"] == 2
    assert retry.started_at is not None
    assert retry.started_at - retry.time == timedelta(minutes=12, seconds=20)
    assert by_key["9081726354/gpu-tests/1"].status == "failure"
    nightly = by_key["9081799001/Nightly/1"]  # a run listed without its jobs: one stage
    assert nightly.service == "trainer-api" and nightly.group == "9081799001"


def test_pagerduty_rest_and_analytics_fields() -> None:
    _, rest = parse_process(DATA / "pagerduty_incidents.json")
    first = rest[0]
    assert first.service == "training-cluster" and first.team == "ml-infra"
    assert first.status == "high" and first.payload["assignee"] == "Dana Okafor"
    assert first.acknowledged_at == datetime(2026, 11, 16, 2, 21, 40, tzinfo=UTC)
    # resolved: resolved_at, else last_status_change_at of a resolved incident, else open
    assert rest[2].ended_at == datetime(2026, 11, 16, 23, 44, 2, tzinfo=UTC)
    assert rest[5].ended_at is None and rest[5].acknowledged_at is not None
    _, analytics = parse_process(DATA / "pagerduty_analytics.csv")
    a = analytics[0]
    assert a.time == datetime(2026, 11, 18, 9, 5, tzinfo=UTC)  # -08:00 respected
    assert a.acknowledged_at == a.time + timedelta(seconds=420)
    assert a.payload["escalations"] == 1 and a.service == "inference-gateway"
    assert analytics[1].acknowledged_at is None


def test_opsgenie_report_times_are_milliseconds_after_creation() -> None:
    _, alerts = parse_process(DATA / "opsgenie_alerts.json")
    a = alerts[0]
    assert a.acknowledged_at == a.time + timedelta(minutes=5)
    assert a.ended_at == a.time + timedelta(minutes=45)
    assert a.status == "P2" and a.team == "ml-infra" and a.payload["tags"] == ["gpu", "hardware"]
    assert alerts[3].ended_at is None
    _, rows = parse_process(DATA / "opsgenie_alerts.csv")
    assert rows[0].payload["tags"] == ["gpu", "memory"]


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


HEADER = "pipeline_id,stage,queued,started,finished,result\n"


@pytest.mark.parametrize(
    ("name", "text", "fmt", "message"),
    [
        (
            "p.csv",
            HEADER + "p1,build,2026-01-01T00:00:00Z,nope,2026-01-01T00:05:00Z,passed\n",
            "pipeline-csv",
            "p.csv:2: column 'started': not a time: 'nope'",
        ),
        (
            "p.csv",
            HEADER + "p1,build,2026-01-01T00:10:00Z,2026-01-01T00:00:00Z,2026-01-01T00:20:00Z,ok\n",
            "pipeline-csv",
            "p.csv:2: column 'started': 2026-01-01T00:00:00+00:00 is before",
        ),
        (
            "p.csv",
            "pipeline_id,stage,queued\np1,b,2026-01-01\n",
            "pipeline-csv",
            "p.csv:1: missing column(s) 'started', 'finished', 'result'",
        ),
        (
            "p.csv",
            HEADER + "p1,,2026-01-01,2026-01-01,2026-01-01,ok\n",
            "pipeline-csv",
            "p.csv:2: column 'stage': empty value",
        ),
        (
            "d.csv",
            "source,deploy_id,time_created,main_commit,changes\ngh,d1,,m,a;b\n",
            "fourkeys",
            "d.csv:2: column 'time_created': missing time",
        ),
        (
            "pd.json",
            '{"incidents": [{"id": "Q1", "created_at": "2026-01-01T00:00:00Z"}, '
            '{"id": "Q2", "created_at": "soon"}]}',
            "pagerduty",
            "pd.json:incidents[1]: column 'created_at': not a time: 'soon'",
        ),
        ("pd.json", '{"incidents": [', "pagerduty", "pd.json:1: column 16: not JSON"),
        (
            "og.json",
            '{"data": [{"createdAt": "2026-01-01T00:00:00Z", "priority": "P9"}]}',
            "opsgenie",
            "og.json:data[0]: column 'priority': expected P1-P5, got 'P9'",
        ),
        (
            "og.csv",
            "tinyId,createdAt,report.ackTime\n1,2026-01-01T00:00:00Z,fast\n",
            "opsgenie",
            "og.csv:2: column 'report.ackTime': not a number: 'fast'",
        ),
        (
            "gh.json",
            '{"jobs": [{"run_id": 1, "name": "b", "created_at": "2026-01-01T00:00:00Z",'
            ' "started_at": "2026-01-01T00:01:00Z"}]}',
            "github-actions",
            "gh.json:jobs[0]: column 'completed_at': missing",
        ),
        ("x.txt", "hello\n", "auto", "x.txt: unrecognised format; pass --format"),
    ],
)
def test_malformed_inputs_name_file_row_and_column(
    tmp_path: Path, name: str, text: str, fmt: str, message: str
) -> None:
    path = _write(tmp_path, name, text)
    with pytest.raises(InputError) as err:
        parse_process(path, fmt)
    assert str(err.value).startswith(f"{path.parent}/{message}")


def test_every_format_is_registered_once() -> None:
    assert list(FORMATS) == [
        "fourkeys",
        "devlake",
        "pipeline-csv",
        "github-actions",
        "github-deployments",
        "github-pulls",
        "gitlab-deployments",
        "gitlab-merge-requests",
        "gitlab-pipelines",
        "jenkins",
        "circleci",
        "jira",
        "opsgenie-incidents",
        "pagerduty-log-entries",
        "pagerduty",
        "opsgenie",
        "infra-changes",
    ]


def test_a_folder_is_only_for_fourkeys(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="only --format fourkeys reads a folder"):
        parse_process(tmp_path, "pipeline-csv")
    with pytest.raises(InputError, match=r"no changes\.csv"):
        parse_process(tmp_path, "fourkeys")
