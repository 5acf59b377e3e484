"""``fleetwise process import`` of GitHub and GitLab API exports (with Jira incidents),
then ``process dora`` on them, end to end through the CLI; the figures are worked out by
hand in docs/process.md ("From the tools' APIs")."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fleetwise.present.cli import main

DATA = Path(__file__).parents[1] / "data" / "process"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def _import(capsys: pytest.CaptureFixture[str], db: str, *files: str) -> list[dict[str, object]]:
    docs = []
    for name in files:
        code, out, err = run(
            capsys,
            "process",
            "import",
            str(DATA / name),
            "--production-pattern",
            "prod",
            "--db",
            db,
            "--json",
        )
        assert code == 0, err
        docs.append(json.loads(out))
    return docs


def test_github_deployments_pulls_and_jira_give_dora(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db = str(tmp_path / "gh.db")
    docs = _import(capsys, db, "github/deployments.json", "github/pulls.json", "jira/search.json")
    assert [d["format"] for d in docs] == ["github-deployments", "github-pulls", "jira"]
    assert docs[0]["kinds"] == {"deployment": 6}  # staging left out by --production-pattern
    code, out, _ = run(capsys, "process", "dora", "--service", "trainer-api", "--json", "--db", db)
    assert code == 0
    keys = json.loads(out)["dora"]["overall"]
    assert keys["deployments"] == 6 and keys["changes_deployed"] == 6
    assert keys["deploys_per_week"] == 2.0  # 6 deployments over 3 ISO weeks
    # first commit or creation to first production deployment: 5.15, 5.5, 23.53, 40.68,
    # 47.2, 47.25 h
    assert round(keys["lead_time_hours"], 3) == round((23 + 32 / 60 + 40 + 41 / 60) / 2, 3)
    # OPS-101 follows deployment 5006 by 3.3 h, OPS-104 follows 5008 by 15.5 h
    assert keys["failed_deployments"] == 2 and round(keys["change_failure_rate"], 4) == 0.3333
    assert keys["recovery_time_hours"] == (3.5 + 1.25) / 2


def test_gitlab_deployments_merge_requests_and_jira_give_dora(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db = str(tmp_path / "gl.db")
    files = ("gitlab/deployments.json", "gitlab/merge_requests.json", "jira/search.json")
    docs = _import(capsys, db, *files)
    assert docs[0]["kinds"] == {"deployment": 4}
    code, out, _ = run(
        capsys, "process", "dora", "--service", "model-registry", "--json", "--db", db
    )
    assert code == 0
    doc = json.loads(out)["dora"]
    keys = doc["overall"]
    assert keys["deployments"] == 4 and keys["changes_deployed"] == 4
    assert round(keys["deploys_per_week"], 2) == 1.33
    # MR created to first production deployment: 21.13, 23.52, 24.17, 29.12 h
    assert round(keys["lead_time_hours"], 3) == round((23 + 31 / 60 + 24 + 10 / 60) / 2, 3)
    # OPS-102 (18:00 UTC) follows deployment 305 (14:07); OPS-103 has none within 24 h
    assert keys["failed_deployments"] == 1 and keys["change_failure_rate"] == 0.25
    assert keys["recovery_time_hours"] == 2.5
    assert doc["attributed_by_window"] == 1 and doc["unattributed"] == 1
    # a narrower window leaves OPS-102 unattributed
    code, out, _ = run(
        capsys, "process", "dora", "--service", "model-registry", "--window-hours", "2",
        "--json", "--db", db,
    )  # fmt: skip
    assert json.loads(out)["dora"]["overall"]["change_failure_rate"] == 0


def test_gitlab_pipelines_jobs_feed_the_pipeline_view(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db = str(tmp_path / "p.db")
    code, out, _ = run(
        capsys, "process", "import", str(DATA / "gitlab/pipelines_jobs.json"), "--db", db
    )
    assert code == 0
    assert "as gitlab-pipelines: 1 deployment, 8 pipeline_stage; 9 added" in out
    code, out, _ = run(capsys, "process", "pipeline", "--json", "--db", db)
    assert code == 0 and json.loads(out)["pipeline"]["pipelines"] == 3


def test_team_map_and_its_strict_schema(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    teams = tmp_path / "teams.yaml"
    teams.write_text("teams:\n  ml-infra:\n    repos: ['acme/trainer-*']\n")
    db = str(tmp_path / "t.db")
    code, out, err = run(
        capsys, "process", "import", str(DATA / "github/deployments.json"),
        "--team-map", str(teams), "--db", db,
    )  # fmt: skip
    assert code == 0, err
    code, out, _ = run(capsys, "process", "dora", "--team", "ml-infra", "--json", "--db", db)
    assert code == 0 and json.loads(out)["dora"]["overall"]["deployments"] == 7
    teams.write_text("teams:\n  ml-infra:\n    repos: ['acme/*']\n    owner: dana\n")
    code, _, err = run(
        capsys, "process", "import", str(DATA / "github/deployments.json"),
        "--team-map", str(teams), "--db", db,
    )  # fmt: skip
    assert code == 2 and "teams.ml-infra.owner: unknown key" in err
    assert len(err.strip().splitlines()) == 1


def test_a_raw_dump_that_is_not_json_exits_2_and_stores_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    raw = tmp_path / "_raw_pagerduty_incidents.csv"
    text = (DATA / "pagerduty/devlake_raw_incidents.csv").read_text()
    raw.write_text(text + '3,{},"{""urgency"": ",u,,2026-12-01\n')
    db = str(tmp_path / "r.db")
    code, _, err = run(capsys, "process", "import", str(raw), "--db", db)
    assert code == 2 and f"{raw}:4: column 'data': not JSON" in err
    assert not Path(db).exists()  # refused before the store was opened


def test_pagerduty_incidents_with_log_entries_give_mtta(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Resolved incidents list no acknowledgements; with their log entries MTTA is back:
    Q1A acknowledged after 21 min, Q2B after 4 min (Q3C still open)."""
    db = str(tmp_path / "o.db")
    path = DATA / "pagerduty/incidents_with_log_entries.json"
    code, out, _ = run(capsys, "process", "import", str(path), "--db", db)
    assert code == 0 and "as pagerduty-log-entries: 3 page; 3 added" in out
    code, out, _ = run(capsys, "process", "oncall", "--json", "--db", db)
    assert code == 0
    report = json.loads(out)["oncall"]
    assert report["pages"] == 3 and report["mtta_minutes"] == (21 + 4) / 2
