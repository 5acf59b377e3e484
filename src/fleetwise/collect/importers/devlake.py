"""Import Apache DevLake's domain layer as delivery events, one set per DevLake project.

DevLake (https://devlake.apache.org) collects GitHub, GitLab, Jenkins, Jira... into one
schema; its ``dora`` plugin then links them. This importer reads the domain tables and
applies the plugin's rules itself (``backend/plugins/dora/tasks``), so the stored events
carry what DevLake's DORA dashboard (``grafana/dashboards/DORA.json``) needs:

- ``project_mapping`` (``project_name, table, row_id``) puts repos (``table = 'repos'``),
  CI scopes (``'cicd_scopes'``) and boards (``'boards'``) into projects; every event's
  ``team`` is its DevLake project, so ``process dora --team PROJECT`` is DORA per project.
- **change**: a merged pull request of a project's repo. ``time`` its first commit
  (``pull_request_commits.commit_authored_date``, else ``commits.authored_date``) or,
  without commits, its creation; the payload keeps created, first review (the first
  ``pull_request_comments`` row by someone other than the author), merged and deployed.
- **deployment**: a DevLake deployment: the ``cicd_deployment_commits`` rows of one
  ``cicd_deployment_id`` with ``result = 'SUCCESS'`` and ``environment = 'PRODUCTION'``;
  ``time`` is their last ``finished_date`` (DevLake counts a multi-commit deployment once,
  at its last finish). ``links`` are the pull requests it deployed: a PR's merge commit is
  deployed by the first (by ``started_date``) successful production deployment commit
  whose ``commits_diffs`` against the previous successful deployment of the same scope,
  repo and environment holds it (``change_lead_time_calculator.go``). Without a
  ``commits_diffs`` table, the first one of the PR's repo started at or after the merge.
- **incident**: an ``issues`` row of type ``INCIDENT`` on a project's board
  (``board_issues``); ``payload.deployment`` is the deployment that caused it in
  DevLake's terms: the project's last successful production deployment commit finished
  before the incident was created (``incident_deploy_connector.go``).
- **pipeline_stage**: each finished ``cicd_tasks`` row (a pipeline without tasks is one
  stage named after it) of a project's CI scope, for ``process pipeline``.

Deployments that failed or went to another environment are not deployments here (they
are in the pipeline stages), as in DevLake's DORA. DevLake has already decided what is a
production deployment, so ``process import``'s ``--deployment-pattern`` and
``--production-pattern`` (for CI exports) leave these events alone.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from itertools import pairwise
from pathlib import Path

from fleetwise.collect.importers.devlake_tables import (
    Database,
    Row,
    TableSource,
    Want,
    number,
    open_source,
    text,
    when,
)
from fleetwise.models import ProcessEvent

DEVLAKE = "devlake"
SUCCESS, PRODUCTION, INCIDENT = "SUCCESS", "PRODUCTION", "INCIDENT"

PROJECT_MAPPING = Want("project_mapping", ("project_name", "table", "row_id"))
PULL_REQUESTS = Want(
    "pull_requests",
    ("id", "base_repo_id", "status", "created_date", "merged_date", "merge_commit_sha"),
    ("pull_request_key", "title", "url", "author_id"),
)
PR_COMMITS = Want(
    "pull_request_commits", ("commit_sha", "pull_request_id"), ("commit_authored_date",)
)
COMMITS = Want("commits", ("sha", "authored_date"))
DEPLOYMENT_COMMITS = Want(
    "cicd_deployment_commits",
    (
        "id", "cicd_scope_id", "cicd_deployment_id", "result", "environment",
        "finished_date", "commit_sha", "repo_url",
    ),
    ("started_date", "name", "repo_id"),
)  # fmt: skip
PIPELINES = Want(
    "cicd_pipelines",
    ("id", "name", "result", "status", "created_date", "finished_date", "cicd_scope_id"),
    ("started_date", "queued_date", "type", "environment"),
)
TASKS = Want(
    "cicd_tasks",
    ("id", "name", "pipeline_id", "result", "created_date", "finished_date"),
    ("started_date", "queued_date", "type", "environment", "status"),
)
ISSUES = Want(
    "issues",
    ("id", "type", "created_date", "resolution_date"),
    ("issue_key", "title", "url", "status", "lead_time_minutes"),
)
BOARD_ISSUES = Want("board_issues", ("board_id", "issue_id"))
# Optional: without them review stages are unknown and deployments are matched by time.
PR_COMMENTS = Want("pull_request_comments", ("pull_request_id", "account_id", "created_date"))
COMMITS_DIFFS = Want("commits_diffs", ("new_commit_sha", "old_commit_sha", "commit_sha"))


def _iso(t: datetime | None) -> str | None:
    return t.isoformat() if t else None


class _Projects:
    def __init__(self, rows: Iterable[Row]) -> None:
        self.of: dict[tuple[str, str], set[str]] = defaultdict(set)
        for r in rows:
            self.of[(text(r, "table"), text(r, "row_id"))].add(text(r, "project_name"))

    def __call__(self, table: str, row_id: str) -> list[str]:
        return sorted(self.of.get((table, row_id), ()))


def _prev_success(rows: list[Row]) -> dict[str, Row]:
    """``prev_success_deployment_commit_id`` as DevLake's enricher fills it: the previous
    successful deployment commit of the same scope, repo URL and environment."""
    ok = [
        r
        for r in rows
        if text(r, "result") == SUCCESS
        and r["_finished"] is not None
        and text(r, "environment")
        and text(r, "repo_url")
    ]
    ok.sort(key=lambda r: (text(r, "cicd_scope_id"), text(r, "repo_url"),
                           text(r, "environment"), r["_finished"], text(r, "id")))  # fmt: skip
    prev: dict[str, Row] = {}
    for a, b in pairwise(ok):
        same = all(text(a, c) == text(b, c) for c in ("cicd_scope_id", "repo_url", "environment"))
        if same:
            prev[text(b, "id")] = a
    return prev


def _order(r: Row) -> tuple[int, datetime | str, str]:
    # ORDER BY started_date ASC, id ASC; NULL first, as MySQL (DevLake's main store) sorts.
    started = r["_started"]
    return (0, "", text(r, "id")) if started is None else (1, started, text(r, "id"))


class _Importer:
    def __init__(self, src: TableSource) -> None:
        self.src = src
        self.source = f"{DEVLAKE}:{src.name}"
        self.projects = _Projects(src.rows(PROJECT_MAPPING))
        self.deploy_rows = src.rows(DEPLOYMENT_COMMITS)
        for r in self.deploy_rows:
            r["_finished"], r["_started"] = when(r, "finished_date"), when(r, "started_date")
        self.prod = [
            r
            for r in self.deploy_rows
            if text(r, "result") == SUCCESS and text(r, "environment") == PRODUCTION
        ]
        self.prev = _prev_success(self.deploy_rows)
        for r in self.prod:
            r["_begun"] = r["_started"] or r["_finished"]
        self.finished = self._by_project("_finished")
        self.begun = self._by_project("_begun")

    def _scope_projects(self, r: Row) -> list[str]:
        return self.projects("cicd_scopes", text(r, "cicd_scope_id"))

    # -- deployments ---------------------------------------------------------------------
    def deployments(self, shipped: dict[tuple[str, str], list[str]]) -> list[ProcessEvent]:
        groups: dict[tuple[str, str], list[Row]] = defaultdict(list)
        for r in self.prod:
            for project in self._scope_projects(r):
                groups[(project, text(r, "cicd_deployment_id"))].append(r)
        events: list[ProcessEvent] = []
        for (project, dep_id), rows in sorted(groups.items()):
            finished = [r["_finished"] for r in rows if r["_finished"] is not None]
            if not finished:
                continue  # never finished: DevLake's max(finished_date) is NULL
            started = [r["_started"] for r in rows if r["_started"] is not None]
            events.append(
                ProcessEvent(
                    kind="deployment",
                    source=self.source,
                    key=f"{project}/{dep_id}",
                    time=max(finished),
                    started_at=min(started) if started else None,
                    team=project,
                    service=project,
                    group=dep_id,
                    status="success",
                    links=sorted(shipped.get((project, dep_id), [])),
                    payload={
                        "deployment_id": dep_id,
                        "name": text(rows[0], "name"),
                        "commits": sorted({text(r, "commit_sha") for r in rows}),
                        "repos": sorted({text(r, "repo_url") for r in rows}),
                    },
                )
            )
        return events

    def _deployment_of_merge(self) -> dict[tuple[str, str], Row]:
        """(project, merge sha) -> the deployment commit that first deployed it."""
        diffs: dict[tuple[str, str], set[str]] = defaultdict(set)
        for d in self.src.rows(COMMITS_DIFFS):
            diffs[(text(d, "new_commit_sha"), text(d, "old_commit_sha"))].add(text(d, "commit_sha"))
        found: dict[tuple[str, str], Row] = {}
        for r in sorted(self.prod, key=_order):
            prev = self.prev.get(text(r, "id"))
            if prev is None:
                continue  # DevLake: prev_success_deployment_commit_id <> ''
            for sha in diffs.get((text(r, "commit_sha"), text(prev, "commit_sha")), ()):
                for project in self._scope_projects(r):
                    found.setdefault((project, sha), r)
        return found

    def _by_project(self, when_col: str) -> dict[str, list[Row]]:
        """Each project's production successes with a time in ``when_col``, by (time, id)."""
        out: dict[str, list[Row]] = defaultdict(list)
        for r in self.prod:
            if r[when_col] is not None:
                for project in self._scope_projects(r):
                    out[project].append(r)
        for rows in out.values():
            rows.sort(key=lambda r: (r[when_col], text(r, "id")))
        return out

    def _deployment_after_merge(self, project: str, pr: Row, merged: datetime) -> Row | None:
        rows = self.begun.get(project, [])
        repo = text(pr, "base_repo_id")
        at = bisect_left(rows, (merged, ""), key=lambda r: (r["_begun"], text(r, "id")))
        for r in rows[at:]:
            if not text(r, "repo_id") or text(r, "repo_id") == repo:
                return r
        return None

    # -- changes -------------------------------------------------------------------------
    def changes(self) -> tuple[list[ProcessEvent], dict[tuple[str, str], list[str]]]:
        prs = self.src.rows(PULL_REQUESTS)
        first_commit = self._first_commits()
        first_review = self._first_reviews(prs)
        by_merge = self._deployment_of_merge() if self.src.has("commits_diffs") else None
        events: list[ProcessEvent] = []
        shipped: dict[tuple[str, str], list[str]] = defaultdict(list)
        for pr in sorted(prs, key=lambda p: text(p, "id")):
            merged = when(pr, "merged_date")
            if merged is None:
                continue
            pr_id, created = text(pr, "id"), when(pr, "created_date")
            for project in self.projects("repos", text(pr, "base_repo_id")):
                if by_merge is None:
                    dep = self._deployment_after_merge(project, pr, merged)
                else:
                    dep = by_merge.get((project, text(pr, "merge_commit_sha")))
                key = f"{project}/{pr_id}"
                if dep is not None:
                    shipped[(project, text(dep, "cicd_deployment_id"))].append(key)
                first = first_commit.get(pr_id)
                events.append(
                    ProcessEvent(
                        kind="change",
                        source=self.source,
                        key=key,
                        time=first or created or merged,
                        team=project,
                        service=text(pr, "base_repo_id"),
                        status=text(pr, "status").lower(),
                        payload={
                            "pr_id": pr_id,
                            "pr_key": text(pr, "pull_request_key"),
                            "title": text(pr, "title"),
                            "url": text(pr, "url"),
                            "first_commit": _iso(first),
                            "created": _iso(created),
                            "first_review": _iso(first_review.get(pr_id)),
                            "merged": _iso(merged),
                            "deployment_commit": text(dep, "id") if dep else "",
                            "deployment": text(dep, "cicd_deployment_id") if dep else "",
                            "deployed": _iso(dep["_finished"]) if dep else None,
                        },
                    )
                )
        return events, shipped

    def _first_commits(self) -> dict[str, datetime]:
        rows = self.src.rows(PR_COMMITS)
        authored: dict[str, datetime | None] = {}
        if rows and all(r.get("commit_authored_date") is None for r in rows):
            # Older DevLake: pull_request_commits without dates; commits has them.
            authored = {text(c, "sha"): when(c, "authored_date") for c in self.src.rows(COMMITS)}
        out: dict[str, datetime] = {}
        for r in rows:
            t = when(r, "commit_authored_date") or authored.get(text(r, "commit_sha"))
            pr = text(r, "pull_request_id")
            if t is not None and (pr not in out or t < out[pr]):
                out[pr] = t
        return out

    def _first_reviews(self, prs: list[Row]) -> dict[str, datetime]:
        if not self.src.has("pull_request_comments"):
            return {}
        author = {text(p, "id"): text(p, "author_id") for p in prs}
        out: dict[str, datetime] = {}
        for c in self.src.rows(PR_COMMENTS):
            pr, by = text(c, "pull_request_id"), text(c, "account_id")
            # DevLake: the PR's author unknown, or a comment by someone else.
            if author.get(pr) and (not by or by == author[pr]):
                continue
            t = when(c, "created_date")
            if t is not None and (pr not in out or t < out[pr]):
                out[pr] = t
        return out

    # -- incidents -----------------------------------------------------------------------
    def incidents(self) -> list[ProcessEvent]:
        boards: dict[str, set[str]] = defaultdict(set)
        for b in self.src.rows(BOARD_ISSUES):
            boards[text(b, "issue_id")].add(text(b, "board_id"))
        events: list[ProcessEvent] = []
        for issue in self.src.rows(ISSUES):
            created = when(issue, "created_date")
            if text(issue, "type") != INCIDENT or created is None:
                continue
            issue_id = text(issue, "id")
            projects = {p for b in boards.get(issue_id, ()) for p in self.projects("boards", b)}
            for project in sorted(projects):
                cause = self._caused_by(project, created)
                minutes = number(issue, "lead_time_minutes")
                events.append(
                    ProcessEvent(
                        kind="incident",
                        source=self.source,
                        key=f"{project}/{issue_id}",
                        time=created,
                        ended_at=when(issue, "resolution_date"),
                        team=project,
                        service=project,
                        status=text(issue, "status").lower(),
                        payload={
                            "issue_id": issue_id,
                            "issue_key": text(issue, "issue_key"),
                            "title": text(issue, "title"),
                            "url": text(issue, "url"),
                            "deployment": f"{project}/{cause}" if cause else "",
                            "lead_time_minutes": None if minutes is None else round(minutes),
                        },
                    )
                )
        return events

    def _caused_by(self, project: str, created: datetime) -> str:
        rows = self.finished.get(project, [])
        # finished_date < created, ORDER BY finished_date DESC LIMIT 1 (ties: the last id)
        at = bisect_left(rows, (created, ""), key=lambda r: (r["_finished"], text(r, "id")))
        return text(rows[at - 1], "cicd_deployment_id") if at else ""

    # -- pipelines -----------------------------------------------------------------------
    def pipeline_stages(self) -> list[ProcessEvent]:
        tasks: dict[str, list[Row]] = defaultdict(list)
        for t in self.src.rows(TASKS):
            tasks[text(t, "pipeline_id")].append(t)
        events: list[ProcessEvent] = []
        for p in self.src.rows(PIPELINES):
            pipe_id = text(p, "id")
            for project in self._scope_projects(p):
                for stage in tasks.get(pipe_id) or [p]:
                    ev = self._stage(project, pipe_id, p, stage)
                    if ev is not None:
                        events.append(ev)
        return events

    def _stage(self, project: str, pipe_id: str, pipe: Row, stage: Row) -> ProcessEvent | None:
        queued = when(stage, "queued_date") or when(stage, "created_date")
        finished = when(stage, "finished_date")
        if queued is None or finished is None:
            return None  # still running (or never queued): no duration yet
        started = when(stage, "started_date") or queued
        result = text(stage, "result") or text(stage, "status") or "other"
        return ProcessEvent(
            kind="pipeline_stage",
            source=self.source,
            key=f"{project}/{text(stage, 'id')}",
            time=queued,
            started_at=started,
            ended_at=finished,
            team=project,
            service=project,
            group=pipe_id,
            status=result.lower(),
            payload={
                "stage": text(stage, "name"),
                "attempt": 1,
                "pipeline": text(pipe, "name"),
                "type": text(stage, "type"),
                "environment": text(stage, "environment"),
            },
        )


def parse_devlake(source: str | Path) -> list[ProcessEvent]:
    """Every change, deployment, incident and pipeline stage of a DevLake source (a
    database URL or a folder of CSV dumps), per DevLake project."""
    src = open_source(source)
    try:
        imp = _Importer(src)
        changes, shipped = imp.changes()
        out: list[ProcessEvent] = [*changes, *imp.deployments(shipped), *imp.incidents()]
        return out + imp.pipeline_stages()
    finally:
        if isinstance(src, Database):
            src.close()


def sniff_devlake(path: Path) -> bool:
    """A folder of DevLake CSV dumps (never a Four Keys folder: no ``deployments.csv``)."""
    return path.is_dir() and all(
        (path / f"{t}.csv").is_file() for t in ("project_mapping", "cicd_deployment_commits")
    )
