"""GitHub REST exports: deployments with their statuses, and pull requests.

- **Deployments** (``GET /repos/{owner}/{repo}/deployments``, then
  ``GET .../deployments/{id}/statuses`` for each): the statuses either inside each
  deployment (``"statuses": [...]``) or as their own pages in the same file, joined by
  ``deployment_url``. A deployment *succeeded* when its latest status other than
  ``inactive`` is ``success`` (GitHub marks an earlier deployment ``inactive`` when a later
  one to the same environment succeeds, so ``inactive`` does not undo a success); it is
  deployed at that status' ``created_at``. Deployments that failed, errored or never
  finished are not deployments for DORA (as DevLake counts only successful ones) and are
  left out. ``environment`` is kept for the production pattern; ``sha`` is the change it
  ships.
- **Pull requests** (``GET /repos/{owner}/{repo}/pulls?state=closed``): every merged pull
  request is a ``change`` keyed by ``merge_commit_sha`` (what a deployment of the default
  branch ships), timed at its first commit when the export carries the pull's commits
  (``commits[].commit.author.date``, from ``GET .../pulls/{n}/commits``), else at
  ``created_at``; closed-unmerged ones are no change.

Service: the repository's name; ``payload.repo`` its ``owner/name`` for the team map.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from fleetwise.collect.importers.api_export import Item, api_items, sniff_text, text_of
from fleetwise.collect.importers.incidents import Row, check_order, optional_when, parse_when, where
from fleetwise.errors import InputError
from fleetwise.models import ProcessEvent

GITHUB_DEPLOYMENTS = "github-deployments"
GITHUB_PULLS = "github-pulls"


def repo_of(row: Row) -> str:
    """``owner/name`` from a GitHub object's repository or API/web URL ("" when none)."""
    full = text_of(row, "repository.full_name", "base.repo.full_name")
    if full:
        return full
    for key in ("repository_url", "url", "html_url", "deployment_url"):
        url = str(row.get(key) or "")
        for marker in ("/repos/", "github.com/"):
            if marker in url:
                parts = url.split(marker, 1)[1].split("/")
                if len(parts) >= 2 and parts[0] and parts[1]:
                    return f"{parts[0]}/{parts[1]}"
    return ""


def _deployment_id(status: Row) -> str:
    return str(status.get("deployment_url") or "").rstrip("/").rsplit("/", 1)[-1]


def _latest(path: Path, statuses: list[tuple[str, Row]]) -> tuple[str, Row] | None:
    """The latest status that is not ``inactive`` (by ``created_at``, then ``id``)."""
    timed: list[tuple[datetime, int, str, Row]] = []
    for at, s in statuses:
        if str(s.get("state") or "").lower() == "inactive":
            continue
        when = parse_when(s.get("created_at"), where(path, at, "created_at"))
        ident = s.get("id")
        timed.append((when, ident if isinstance(ident, int) else 0, at, s))
    if not timed:
        return None
    _, _, at, status = max(timed, key=lambda t: (t[0], t[1]))
    return at, status


def parse_github_deployments(path: Path) -> list[ProcessEvent]:
    """Every successful deployment of a GitHub deployments (+ statuses) export."""
    items = api_items(path, ("deployments",), "GitHub deployments JSON")
    deployments: list[Item] = []
    statuses: dict[str, list[tuple[str, Row]]] = {}
    for at, row in items:
        if "deployment_url" in row and "state" in row:
            statuses.setdefault(_deployment_id(row), []).append((at, row))
        elif "sha" in row and "environment" in row:
            deployments.append((at, row))
        else:
            raise InputError(f"{path}:{at}: neither a deployment nor a deployment status")
    events: list[ProcessEvent] = []
    for at, dep in deployments:
        ident = str(dep.get("id") or "").strip()
        if not ident:
            raise InputError(f"{where(path, at, 'id')}: empty id")
        own = dep.get("statuses")
        inside = [(f"{at}.statuses[{i}]", s) for i, s in enumerate(own or []) if _is_map(s)]
        latest = _latest(path, inside + statuses.get(ident, []))
        created = parse_when(dep.get("created_at"), where(path, at, "created_at"))
        if latest is None or str(latest[1].get("state")).lower() != "success":
            continue
        done = parse_when(latest[1].get("created_at"), where(path, latest[0], "created_at"))
        check_order(created, done, where(path, latest[0], "created_at"))
        repo = repo_of(dep)
        sha = str(dep.get("sha") or "").strip()
        events.append(
            ProcessEvent(
                kind="deployment",
                source=f"{GITHUB_DEPLOYMENTS}:{path.name}",
                key=f"{repo}#{ident}" if repo else ident,
                time=done,
                started_at=created,
                service=repo.split("/")[-1],
                status="success",
                links=[sha] if sha else [],
                payload={
                    "environment": str(dep.get("environment") or ""),
                    "repo": repo,
                    "ref": str(dep.get("ref") or ""),
                    "task": str(dep.get("task") or ""),
                },
            )
        )
    return events


def _is_map(value: Any) -> bool:
    return isinstance(value, Mapping)


def sniff_github_deployments(path: Path) -> bool:
    head = sniff_text(path)
    return '"statuses_url"' in head and "/deployments/" in head and '"sha"' in head


def _first_commit(path: Path, at: str, pull: Row) -> datetime | None:
    commits = pull.get("commits")
    if not isinstance(commits, list):
        return None  # the list API gives a count here, or nothing
    times = [
        parse_when(
            text_of(c, "commit.author.date", "commit.committer.date"),
            where(path, f"{at}.commits[{i}]", "commit.author.date"),
        )
        for i, c in enumerate(commits)
        if _is_map(c)
    ]
    return min(times, default=None)


def parse_github_pulls(path: Path) -> list[ProcessEvent]:
    """Every merged pull request of a GitHub pulls export as a ``change``."""
    events: list[ProcessEvent] = []
    for at, pull in api_items(path, ("pull_requests", "items"), "GitHub pull requests JSON"):
        if "merged_at" not in pull and "number" not in pull:
            raise InputError(f"{path}:{at}: not a pull request (no 'number' or 'merged_at')")
        merged = optional_when(pull.get("merged_at"), where(path, at, "merged_at"))
        if merged is None:
            continue
        created = parse_when(pull.get("created_at"), where(path, at, "created_at"))
        check_order(created, merged, where(path, at, "merged_at"))
        first = _first_commit(path, at, pull)
        if first is not None:
            check_order(first, merged, where(path, at, "merged_at"))
        sha = str(pull.get("merge_commit_sha") or "").strip()
        if not sha:
            raise InputError(f"{where(path, at, 'merge_commit_sha')}: missing for a merged pull")
        repo = repo_of(pull)
        events.append(
            ProcessEvent(
                kind="change",
                source=f"{GITHUB_PULLS}:{path.name}",
                key=sha,
                time=first if first is not None else created,
                ended_at=merged,
                service=repo.split("/")[-1],
                links=[s for s in [text_of(pull, "head.sha")] if s],
                payload={
                    "number": pull.get("number"),
                    "repo": repo,
                    "title": str(pull.get("title") or ""),
                    "author": text_of(pull, "user.login"),
                    "created_at": created.isoformat(),
                    "merged_at": merged.isoformat(),
                    "first_commit_at": first.isoformat() if first else "",
                    "base": text_of(pull, "base.ref"),
                },
            )
        )
    return events


def sniff_github_pulls(path: Path) -> bool:
    head = sniff_text(path)
    return '"merge_commit_sha"' in head and "/pulls/" in head and '"head"' in head
