"""Importers of the tools' REST API exports (issue 17 part 2): one golden file of events per
real-shaped export, the facts each golden holds checked by hand, auto-detection across every
fixture, the delivery rules (deployment and production patterns, incident type, team map)
and the bugs of the first importers (raw DevLake dumps, GitHub jobs without ``created_at``,
cancelled runs, Opsgenie incidents losing their resolution).

Regenerate the goldens after an intended change with ``pytest tests/unit/test_api_importers.py
--update-goldens`` and review the diff."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from fleetwise.collect.importers.api_export import api_items
from fleetwise.collect.importers.delivery_rules import DeliveryRules, load_team_map
from fleetwise.collect.importers.pipeline import FORMATS, parse_process
from fleetwise.errors import InputError
from fleetwise.models import ProcessEvent

DATA = Path(__file__).parents[1] / "data" / "process"
GOLDEN = Path(__file__).parents[1] / "golden" / "expected" / "process_api"

#: fixture -> (format, events with the default rules)
FIXTURES = {
    "github/deployments.json": ("github-deployments", 7),
    "github/pulls.json": ("github-pulls", 6),
    "github/actions_runs_jobs.json": ("github-actions", 7),
    "gitlab/deployments.json": ("gitlab-deployments", 5),
    "gitlab/merge_requests.json": ("gitlab-merge-requests", 4),
    "gitlab/pipelines_jobs.json": ("gitlab-pipelines", 9),
    "jenkins/builds.json": ("jenkins", 8),
    "circleci/pipelines_workflows_jobs.json": ("circleci", 7),
    "jira/search.json": ("jira", 5),
    "opsgenie/incidents.json": ("opsgenie-incidents", 3),
    "pagerduty/log_entries.json": ("pagerduty-log-entries", 3),
    "pagerduty/devlake_raw_incidents.csv": ("pagerduty", 2),
    "pagerduty/incidents_with_log_entries.json": ("pagerduty-log-entries", 3),
}


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _by_key(events: list[ProcessEvent], kind: str) -> dict[str, ProcessEvent]:
    return {e.key: e for e in events if e.kind == kind}


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_golden_events(name: str, update_goldens: bool) -> None:
    fmt, count = FIXTURES[name]
    used, events = parse_process(DATA / name)
    assert (used, len(events)) == (fmt, count)
    assert parse_process(DATA / name, fmt)[1] == events
    text = json.dumps([e.model_dump(mode="json") for e in events], indent=1) + "\n"
    path = GOLDEN / (name.replace("/", "__").rsplit(".", 1)[0] + ".json")
    if update_goldens:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert text == path.read_text(), f"{path.name} differs; --update-goldens to accept"


@pytest.mark.parametrize("path", sorted(p for p in DATA.rglob("*") if p.is_file()), ids=str)
def test_auto_detection_never_claims_another_format(path: Path) -> None:
    """Every fixture is recognised by at most one format: its own."""
    claims = [name for name, (sniff, _) in FORMATS.items() if sniff(path)]
    rel = str(path.relative_to(DATA))
    expected = FIXTURES.get(rel, (None, 0))[0]
    if expected is not None:
        assert claims == [expected]
    else:
        assert len(claims) <= 1, claims


def test_github_deployment_is_its_latest_status_and_inactive_does_not_undo_it() -> None:
    _, events = parse_process(DATA / "github" / "deployments.json")
    deps = _by_key(events, "deployment")
    # 5004 failed, 5009 never finished: left out; 5001 went inactive after succeeding
    assert "acme/trainer-api#5004" not in deps and "acme/trainer-api#5009" not in deps
    first = deps["acme/trainer-api#5001"]
    assert first.time == _at("2026-11-02T15:32:00") and first.started_at == _at("2026-11-02T15:20")
    assert first.links == ["5b0e1c6f9a2d4e8b7c3f1a0d9e8c7b6a5f4e3d21"]
    assert first.service == "trainer-api" and first.payload["environment"] == "production"
    assert deps["acme/trainer-api#5002"].payload["environment"] == "staging"


def test_github_pulls_are_changes_at_their_first_commit() -> None:
    _, events = parse_process(DATA / "github" / "pulls.json")
    changes = {e.payload["number"]: e for e in events}
    assert sorted(changes) == [101, 102, 103, 105, 106, 107]  # 104 closed unmerged
    assert changes[101].time == _at("2026-11-01T16:00")  # first of its commits
    assert changes[102].time == _at("2026-11-03T10:00")  # no commits: created_at
    assert changes[101].key == "5b0e1c6f9a2d4e8b7c3f1a0d9e8c7b6a5f4e3d21"
    assert changes[101].payload["repo"] == "acme/trainer-api"


def test_github_actions_bugs_fixed() -> None:
    _, events = parse_process(DATA / "github" / "actions_runs_jobs.json")
    stages = _by_key(events, "pipeline_stage")
    # jobs without created_at: queued at their start (no wait), not rejected
    deploy = stages["7100000001/deploy-production/1"]
    assert deploy.time == deploy.started_at == _at("2026-11-02T15:20")
    # cancelled, startup_failure and timed_out runs are failures; the word is kept
    for key, word in [
        ("7100000002/CI/1", "cancelled"),
        ("7100000003/CI/1", "startup_failure"),
        ("7100000004/deploy-production/1", "timed_out"),
    ]:
        assert (stages[key].status, stages[key].payload["conclusion"]) == ("failure", word)
    # the deployment pattern: the successful deploy job's run is a deployment, the
    # timed-out one is not
    deps = _by_key(events, "deployment")
    assert list(deps) == ["7100000001"]
    assert deps["7100000001"].time == _at("2026-11-02T15:32")
    assert deps["7100000001"].payload["repo"] == "acme/trainer-api"


def test_gitlab_exports() -> None:
    _, deps = parse_process(DATA / "gitlab" / "deployments.json")
    assert [d.key.rsplit("#", 1)[1] for d in deps] == ["301", "302", "303", "305", "306"]
    assert (
        deps[0].service == "model-registry" and deps[0].payload["repo"] == "acme/ml/model-registry"
    )
    _, mrs = parse_process(DATA / "gitlab" / "merge_requests.json")
    keys = {m.payload["iid"]: m.key for m in mrs}
    assert keys[12].startswith("c2b3") and keys[15].startswith("c5e6")  # squash, fast-forward
    _, events = parse_process(DATA / "gitlab" / "pipelines_jobs.json")
    stages = _by_key(events, "pipeline_stage")
    assert "9001/deploy-staging/70014" not in stages  # skipped: never ran
    deploy = stages["9001/deploy-production/70013"]  # no created_at: started - queued_duration
    assert deploy.started_at is not None
    assert deploy.started_at - deploy.time == timedelta(seconds=85)
    canceled = stages["9002/smoke-tests/70024"]
    assert canceled.status == "failure" and canceled.started_at == canceled.ended_at
    assert stages["9003/pipeline/1"].ended_at == _at("2026-11-16T15:40")  # list: updated_at
    assert "9004/pipeline/1" not in stages  # still running
    assert list(_by_key(events, "deployment")) == ["9001"]  # 9002's deploy job failed


def test_jenkins_and_circleci() -> None:
    _, events = parse_process(DATA / "jenkins" / "builds.json")
    stages = _by_key(events, "pipeline_stage")
    ok = stages["ml-platform/trainer-deploy#46/ml-platform/trainer-deploy/1"]
    assert ok.started_at is not None and ok.ended_at is not None
    assert ok.started_at - ok.time == timedelta(milliseconds=12500)
    assert ok.ended_at - ok.started_at == timedelta(milliseconds=598000)
    statuses = {e.group.split("#")[1]: e.status for e in stages.values()}
    assert statuses == {
        "47": "failure",
        "46": "success",
        "45": "failure",
        "44": "failure",
        "43": "success",
        "42": "skipped",
    }  # 48 is still building
    assert sorted(_by_key(events, "deployment")) == [
        "ml-platform/trainer-deploy#43",
        "ml-platform/trainer-deploy#46",
    ]
    _, circle = parse_process(DATA / "circleci" / "pipelines_workflows_jobs.json")
    jobs = _by_key(circle, "pipeline_stage")
    assert len(jobs) == 6  # 1213 not_run left out; nightly without jobs is one stage
    build = jobs["fda08377-fe7e-46b1-8992-3a7aaecac9c3/build/1201"]
    assert build.payload["commit"] == "ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12"
    assert build.payload["repo"] == "acme/inference-gateway"
    assert list(_by_key(circle, "deployment")) == ["fda08377-fe7e-46b1-8992-3a7aaecac9c3"]


def test_incident_sources() -> None:
    _, jira = parse_process(DATA / "jira" / "search.json")
    incidents = _by_key(jira, "incident")
    assert "OPS-105" not in incidents  # a Bug
    assert incidents["OPS-102"].time == _at("2026-11-10T18:00")  # +0100 respected
    assert incidents["OPS-101"].service == "trainer-api"
    assert incidents["OPS-106"].ended_at is None
    _, og = parse_process(DATA / "opsgenie" / "incidents.json")
    assert og[0].ended_at == _at("2026-11-10T20:30")  # impactEndDate
    assert og[1].ended_at == _at("2026-11-11T17:40")  # closed, no impact end: updatedAt
    assert og[2].ended_at is None and og[0].service == "model-registry"
    _, pd = parse_process(DATA / "pagerduty" / "log_entries.json")
    pages = _by_key(pd, "page")
    assert "Q0Z" not in pages  # its trigger is before the export
    q2 = pages["Q2B"]
    assert q2.acknowledged_at == _at("2026-11-15T12:04") and q2.ended_at == _at("2026-11-15T13:10")
    assert q2.payload["assignee"] == "Li Jensen" and pages["Q1A"].payload["escalations"] == 1


def test_opsgenie_incident_api_read_as_alerts_keeps_its_resolution() -> None:
    _, pages = parse_process(DATA / "opsgenie" / "incidents.json", "opsgenie")
    assert [p.ended_at for p in pages] == [_at("2026-11-10T20:30"), _at("2026-11-11T17:40"), None]


def test_devlake_raw_dump_is_read_through_its_data_column() -> None:
    used, pages = parse_process(DATA / "pagerduty" / "devlake_raw_incidents.csv")
    assert used == "pagerduty"
    first = pages[0]
    # not DevLake's collection time (2026-12-01 06:00:11)
    assert first.time == _at("2026-11-16T02:14:09")
    assert first.acknowledged_at == _at("2026-11-16T02:21:40")
    assert first.ended_at == _at("2026-11-16T03:40")
    assert (first.service, first.team, first.status) == ("training-cluster", "ml-infra", "high")


def test_a_raw_dump_without_json_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "raw.csv"
    path.write_text(
        "id,params,data,url,input,created_at\n"
        '1,{},"{""urgency"": ""high"", ""incident_number"": 1}",u,,2026-12-01\n'
        "2,{},not json,u,,2026-12-01\n"
    )
    with pytest.raises(InputError) as err:
        parse_process(path)
    assert str(err.value).startswith(f"{path}:3: column 'data': not JSON")


def test_production_pattern_incident_type_and_deployment_pattern() -> None:
    rules = DeliveryRules(production_pattern="prod")
    _, deps = parse_process(DATA / "github" / "deployments.json", rules=rules)
    assert len(deps) == 6 and all(d.payload["environment"] == "production" for d in deps)
    _, gl = parse_process(DATA / "gitlab" / "pipelines_jobs.json", rules=rules)
    assert len(_by_key(gl, "deployment")) == 1  # deploy-production matches 'prod'
    _, none = parse_process(
        DATA / "gitlab" / "pipelines_jobs.json", rules=DeliveryRules(deployment_pattern=None)
    )
    assert not _by_key(none, "deployment")
    _, bugs = parse_process(DATA / "jira" / "search.json", rules=DeliveryRules(incident_type="bug"))
    assert [b.key for b in bugs] == ["OPS-105"]
    with pytest.raises(InputError, match="--production-pattern '\\(': not a regular expression"):
        parse_process(DATA / "jira" / "search.json", rules=DeliveryRules(production_pattern="("))


def test_team_map(tmp_path: Path) -> None:
    rules = DeliveryRules(team_map=load_team_map(DATA / "teams.yaml"))
    for name, team in [
        ("github/deployments.json", "ml-infra"),
        ("gitlab/merge_requests.json", "registry"),
        ("jenkins/builds.json", "platform"),
        ("circleci/pipelines_workflows_jobs.json", "inference"),
    ]:
        _, events = parse_process(DATA / name, rules=rules)
        assert {e.team for e in events} == {team}, name
    path = tmp_path / "teams.yaml"
    path.write_text("teams:\n  ml-infra:\n    repo: ['acme/*']\n")
    with pytest.raises(InputError, match=r"teams\.ml-infra\.repo: unknown key"):
        load_team_map(path)


@pytest.mark.parametrize(
    ("name", "text", "fmt", "message"),
    [
        (
            "d.json",
            '[{"id": 1, "sha": "a", "environment": "production", "created_at": "x"}]',
            "github-deployments",
            "d.json:[0]: column 'created_at': not a time: 'x'",
        ),
        (
            "p.json",
            '[{"number": 1, "created_at": "2026-01-02T00:00:00Z",'
            ' "merged_at": "2026-01-01T00:00:00Z", "merge_commit_sha": "a"}]',
            "github-pulls",
            "p.json:[0]: column 'merged_at': 2026-01-01T00:00:00+00:00 is before",
        ),
        (
            "j.json",
            '{"builds": [{"number": 3, "result": "SUCCESS", "timestamp": "soon", "duration": 1}]}',
            "jenkins",
            "j.json:builds[0]: column 'timestamp': expected epoch milliseconds",
        ),
        (
            "c.json",
            '{"items": [{"job_number": 4, "name": "b", "status": "success"}]}',
            "circleci",
            "c.json:items[0]: column 'workflow_id': a job must name its workflow",
        ),
        (
            "s.json",
            '{"issues": [{"key": "OPS-1", "fields": {"created": "yesterday"}}]}',
            "jira",
            "s.json:issues[0]: column 'fields.created': not a time: 'yesterday'",
        ),
        (
            "g.json",
            '[{"id": 1, "status": "success", "stage": "b", "name": "b", "created_at":'
            ' "2026-01-01T00:00:00Z", "finished_at": "2026-01-01T00:05:00Z",'
            ' "pipeline": {"id": 9}}]',
            "gitlab-pipelines",
            "g.json:[0]: column 'started_at': missing for a finished job",
        ),
        ("l.json", '{"log_entries": [}', "pagerduty-log-entries", "l.json:1: column 18: not JSON"),
    ],
)
def test_malformed_exports_name_file_row_and_column(
    tmp_path: Path, name: str, text: str, fmt: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(InputError) as err:
        parse_process(path, fmt)
    assert str(err.value).startswith(f"{tmp_path}/{message}")


def test_pages_in_every_shape_give_the_same_items(tmp_path: Path) -> None:
    """One response, a list of pages, pages one after another, JSON Lines."""
    pulls = json.loads((DATA / "github" / "pulls.json").read_text())
    flat = pulls[0] + pulls[1]
    shapes = {
        "one.json": json.dumps(flat),
        "list.json": json.dumps(pulls),
        "concat.json": json.dumps(pulls[0]) + "\n" + json.dumps(pulls[1]),
        "lines.json": "\n".join(json.dumps(p) for p in flat),
    }
    keys = []
    for name, text in shapes.items():
        (tmp_path / name).write_text(text)
        keys.append([e.key for e in parse_process(tmp_path / name, "github-pulls")[1]])
    assert all(k == keys[0] for k in keys) and len(keys[0]) == 6


def test_a_raw_dump_of_records_no_format_reads_is_refused_not_guessed(tmp_path: Path) -> None:
    path = tmp_path / "_raw_pagerduty_services.csv"
    path.write_text(
        "id,params,data,url,input,created_at\n"
        '1,{},"{""id"": ""PSVC001"", ""name"": ""inference-gateway"", '
        '""created_at"": ""2026-01-01T00:00:00Z""}",u,,2026-12-01\n'
    )
    with pytest.raises(InputError, match="raw-table dump whose 'data' no format recognises"):
        parse_process(path)
    with pytest.raises(InputError) as err:
        parse_process(path, "pagerduty")
    assert str(err.value) == (
        f"{path}:2: column 'data': not a PagerDuty incident (no incident_number or urgency)"
    )


def test_log_entries_give_resolved_incidents_their_acknowledgement() -> None:
    """``GET /incidents`` lists no acknowledgement once an incident is resolved (MTTA
    lost); its log entries in the same file bring it back, one page per incident."""
    _, plain = parse_process(DATA / "pagerduty" / "incidents_with_log_entries.json")
    pages = _by_key(plain, "page")
    assert sorted(pages) == ["Q1A", "Q2B", "Q3C"]
    q1 = pages["Q1A"]
    assert q1.acknowledged_at == _at("2026-11-14T03:31") and q1.ended_at == _at("2026-11-14T04:02")
    assert q1.payload["assignee"] == "Dana Okafor" and q1.payload["escalations"] == 1
    assert pages["Q3C"].acknowledged_at is None and pages["Q3C"].ended_at is None


_ALL_KEYS = (
    "workflow_runs",
    "jobs",
    "deployments",
    "statuses",
    "pull_requests",
    "merge_requests",
    "pipelines",
    "builds",
    "items",
    "issues",
    "log_entries",
    "incidents",
    "data",
)


@pytest.mark.parametrize("name", sorted(n for n in FIXTURES if n.endswith(".json")))
def test_a_devlake_raw_dump_of_any_export_reads_as_the_export(name: str, tmp_path: Path) -> None:
    """DevLake keeps one API record per row of ``_raw_<plugin>_api_<thing>`` (JSON in
    ``data``, its collection time in ``created_at``): the same records give the same events."""
    fmt, _ = FIXTURES[name]
    records = [row for _, row in api_items(DATA / name, _ALL_KEYS, "records")]
    path = tmp_path / f"_raw_{fmt.replace('-', '_')}.csv"
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "params", "data", "url", "input", "created_at"])
        for i, record in enumerate(records, 1):
            writer.writerow([i, "{}", json.dumps(record), "https://api", "", "2026-12-01 06:00:00"])
    used, raw = parse_process(path)
    assert used == fmt
    _, direct = parse_process(DATA / name)

    def facts(events: list[ProcessEvent]) -> list[dict[str, object]]:
        return sorted(
            (e.model_dump(mode="json", exclude={"source"}) for e in events),
            key=lambda d: (str(d["kind"]), str(d["key"])),
        )

    assert facts(raw) == facts(direct)


def test_github_statuses_inside_their_deployments(tmp_path: Path) -> None:
    doc = [
        {
            "id": 7,
            "sha": "abc",
            "environment": "prod",
            "created_at": "2026-01-01T00:00:00Z",
            "repository_url": "https://api.github.com/repos/acme/api",
            "statuses": [
                {"state": "success", "created_at": "2026-01-01T00:05:00Z", "id": 2},
                {"state": "in_progress", "created_at": "2026-01-01T00:01:00Z", "id": 1},
            ],
        },
        {
            "id": 8,
            "sha": "def",
            "environment": "prod",
            "created_at": "2026-01-02T00:00:00Z",
            "repository_url": "https://api.github.com/repos/acme/api",
            "statuses": [{"state": "error", "created_at": "2026-01-02T00:05:00Z", "id": 3}],
        },
    ]
    path = tmp_path / "deployments.json"
    path.write_text(json.dumps(doc))
    _, events = parse_process(path, "github-deployments")
    assert [(e.key, e.time) for e in events] == [("acme/api#7", _at("2026-01-01T00:05"))]
