"""DevLake's domain layer as delivery events, and DORA by DevLake's definitions, on the CSV
dumps in ``tests/data/process/devlake`` (two DevLake projects: payments, search), against
the figures worked out by hand in ``tests/devlake_fixture.py``."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devlake_fixture import HAND
from fleetwise.analyze.dora_devlake import (
    day_end,
    day_start,
    devlake_dora,
    diff_minutes,
    lower_median,
    span_minutes,
)
from fleetwise.collect.importers.devlake import parse_devlake, sniff_devlake
from fleetwise.collect.importers.pipeline import parse_process, sniff_fourkeys
from fleetwise.errors import InputError

DATA = Path(__file__).parents[1] / "data" / "process"
DUMPS = DATA / "devlake"
SINCE, UNTIL = day_start(date(2024, 3, 1)), day_end(date(2024, 3, 31))


def figures(report_projects: dict[str, object]) -> dict[str, dict[str, object]]:
    keys = HAND["payments"].keys()
    return {p: {k: getattr(m, k) for k in keys} for p, m in report_projects.items()}


def test_csv_dumps_give_devlake_dora_equal_to_hand_computed() -> None:
    report = devlake_dora(parse_devlake(DUMPS), since=SINCE, until=UNTIL)
    assert report is not None
    assert figures(report.projects) == HAND  # type: ignore[arg-type]
    assert report.projects["payments"].lead_time_hours == pytest.approx(1696 / 60)


def test_one_project_only() -> None:
    report = devlake_dora(parse_devlake(DUMPS), project="search", since=SINCE, until=UNTIL)
    assert report is not None and list(report.projects) == ["search"]


def test_events_per_project() -> None:
    events = parse_devlake(DUMPS)
    by = {(e.kind, e.team): 0 for e in events}
    for e in events:
        by[(e.kind, e.team)] += 1
    assert by == {
        ("change", "payments"): 7,  # merged PRs (#17 is open)
        ("change", "search"): 3,
        ("deployment", "payments"): 5,
        ("deployment", "search"): 12,
        ("incident", "payments"): 4,  # 504 is a BUG
        ("incident", "search"): 3,  # OPS-700's board is in no project
        ("pipeline_stage", "payments"): 3,
        ("pipeline_stage", "search"): 1,  # build 53 is still running
    }
    deps = {e.key: e for e in events if e.kind == "deployment"}
    run = deps["payments/github:GithubRun:1:1006"]
    assert run.time == datetime(2024, 3, 14, 8, 50, tzinfo=UTC)
    assert run.started_at == datetime(2024, 3, 14, 8, 0, tzinfo=UTC)
    assert run.links == ["payments/github:GithubPullRequest:1:15"]
    assert run.payload["repos"] == [
        "https://github.com/acme/payments",
        "https://github.com/acme/payments-ui",
    ]
    change = next(e for e in events if e.key == "payments/github:GithubPullRequest:1:11")
    assert change.time == datetime(2024, 2, 28, 9, 0, tzinfo=UTC)  # the first commit
    assert change.payload["first_review"] == "2024-03-01T16:30:00+00:00"  # not the author's
    assert change.payload["deployment"] == "github:GithubRun:1:1001"
    stage = next(e for e in events if e.key == "payments/github:GithubJob:1:9003")
    assert (stage.status, stage.group) == ("failure", "github:GithubRun:1:1003")


def test_fleetwise_definition_runs_on_devlake_events() -> None:
    from fleetwise.analyze.dora import dora_report

    report = dora_report(parse_devlake(DUMPS), team="payments")
    assert report.overall.deployments == 5
    assert report.overall.changes_deployed == 6


def test_without_commits_diffs_a_pr_goes_to_the_first_deployment_after_its_merge(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "dump"
    shutil.copytree(DUMPS, folder)
    (folder / "commits_diffs.csv").unlink()
    (folder / "pull_request_comments.csv").unlink()
    events = {e.key: e for e in parse_devlake(folder)}
    pr10 = events["payments/github:GithubPullRequest:1:10"]
    # merged 02-19 10:00: the next production success started is run 1000 (02-20 09:00).
    assert pr10.payload["deployment"] == "github:GithubRun:1:1000"
    assert events["payments/github:GithubPullRequest:1:11"].payload["first_review"] is None


def test_older_dumps_take_commit_dates_from_commits(tmp_path: Path) -> None:
    folder = tmp_path / "dump"
    shutil.copytree(DUMPS, folder)
    lines = (folder / "pull_request_commits.csv").read_text().splitlines()
    cut = [",".join(line.split(",")[:2]) for line in lines]
    (folder / "pull_request_commits.csv").write_text("\n".join(cut) + "\n")
    report = devlake_dora(parse_devlake(folder), since=SINCE, until=UNTIL)
    assert report is not None
    assert report.projects["payments"].lead_time_minutes == 1696


def test_sniffing_keeps_devlake_and_four_keys_apart() -> None:
    assert sniff_devlake(DUMPS) and not sniff_fourkeys(DUMPS)
    assert sniff_fourkeys(DATA / "fourkeys_sample")
    assert not sniff_devlake(DATA / "fourkeys_sample")
    assert parse_process(DUMPS)[0] == "devlake"
    assert parse_process(DATA / "fourkeys_sample")[0] == "fourkeys"


@pytest.mark.parametrize(
    ("table", "column"),
    [("pull_requests", "merged_date"), ("cicd_deployment_commits", "environment")],
)
def test_missing_column_names_table_and_column(tmp_path: Path, table: str, column: str) -> None:
    folder = tmp_path / "dump"
    shutil.copytree(DUMPS, folder)
    path = folder / f"{table}.csv"
    text = path.read_text()
    path.write_text(text.replace(column, "renamed", 1))
    with pytest.raises(InputError, match=f"table '{table}' has no column '{column}'"):
        parse_devlake(folder)


def test_missing_table_is_named(tmp_path: Path) -> None:
    folder = tmp_path / "dump"
    shutil.copytree(DUMPS, folder)
    (folder / "board_issues.csv").unlink()
    with pytest.raises(InputError, match=r"no board_issues\.csv \(DevLake table 'board_issues'\)"):
        parse_devlake(folder)


def test_bad_time_names_row_and_column(tmp_path: Path) -> None:
    folder = tmp_path / "dump"
    shutil.copytree(DUMPS, folder)
    path = folder / "issues.csv"
    path.write_text(path.read_text().replace("2024-03-04 15:00:00", "yesterday", 1))
    with pytest.raises(InputError, match=r"issues.csv:2: column 'created_date': not a time"):
        parse_devlake(folder)


def test_deployment_frequency_uses_devlakes_calendar_days() -> None:
    # 2024-03-31 23:59:59.999 back to after 2024-03-01 00:00: the 31 days of March.
    report = devlake_dora(parse_devlake(DUMPS), since=SINCE, until=UNTIL)
    assert report is not None
    # The default range: six months up to the last deployment or incident.
    default = devlake_dora(parse_devlake(DUMPS))
    assert default is not None
    assert default.until == datetime(2024, 4, 1, 11, 0, tzinfo=UTC)
    assert default.since == datetime(2023, 10, 1, 11, 0, tzinfo=UTC)


# -- DevLake's arithmetic -------------------------------------------------------------------
@given(st.lists(st.integers(-(10**6), 10**6), min_size=1, max_size=40))
def test_lower_median_is_percent_rank_median(values: list[int]) -> None:
    # max(x) WHERE percent_rank() over (order by x) <= 0.5, computed the SQL way.
    ordered = sorted(values)
    n = len(ordered)
    ranks = [0.0 if n == 1 else ordered.index(v) / (n - 1) for v in ordered]
    expected = max(v for v, r in zip(ordered, ranks, strict=True) if r <= 0.5)
    assert lower_median(values) == expected


@given(st.integers(-(10**9), 10**9))
def test_span_and_diff_minutes(seconds: int) -> None:
    start = datetime(2024, 3, 1, tzinfo=UTC)
    end = datetime.fromtimestamp(start.timestamp() + seconds, UTC)
    span = span_minutes(start, end)
    diff = diff_minutes(start, end)
    # computeTimeSpan: ceil, None when negative; TIMESTAMPDIFF: truncated toward zero.
    assert span == (None if -(-seconds // 60) < 0 else -(-seconds // 60))
    assert diff == int(seconds / 60)
    assert span is None or span - 1 <= seconds / 60 <= span


@pytest.mark.parametrize("value", ["abc", "1e999", "nan"])
def test_bad_number_names_row_and_column(tmp_path: Path, value: str) -> None:
    folder = tmp_path / "dump"
    shutil.copytree(DUMPS, folder)
    path = folder / "issues.csv"
    path.write_text(path.read_text().replace(",190,", f",{value},", 1))
    with pytest.raises(InputError, match=r"issues.csv:2: column 'lead_time_minutes': not a"):
        parse_devlake(folder)


def test_delivery_rules_for_ci_exports_leave_devlake_events_alone() -> None:
    from fleetwise.collect.importers.delivery_rules import DeliveryRules

    rules = DeliveryRules(production_pattern="^prd$", deployment_pattern="deploy")
    _, events = parse_process(DUMPS, "devlake", rules)
    assert sorted(e.key for e in events) == sorted(e.key for e in parse_devlake(DUMPS))


def test_an_incident_is_caused_by_a_deployment_finished_strictly_before_it(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "dump"
    shutil.copytree(DUMPS, folder)
    path = folder / "issues.csv"
    # SRCH-601 now opens the very minute build 43 finished: 43 is not before it, 42 is.
    path.write_text(path.read_text().replace("2024-03-20 15:10:00", "2024-03-20 10:20:00", 1))
    incident = next(e for e in parse_devlake(folder) if e.key == "search/jira:JiraIssue:1:601")
    assert incident.payload["deployment"] == "search/jenkins:JenkinsBuild:1:search-deploy:42"
