"""GitLab REST exports: deployments, merge requests, pipelines and jobs.

- **Deployments** (``GET /projects/:id/deployments``): a deployment with ``status``
  ``success`` is deployed at ``finished_at`` (else its deployable job's ``finished_at``,
  else ``updated_at``); ``environment.name`` is kept for the production pattern; ``sha``
  is the change it ships. Failed, canceled, blocked or running deployments are left out
  (DevLake counts only successful deployments).
- **Merge requests** (``GET /projects/:id/merge_requests?state=merged``): every merged one
  is a ``change`` keyed by the commit that landed on the target branch
  (``merge_commit_sha``, else ``squash_commit_sha``, else ``sha`` for a fast-forward
  merge), timed at ``created_at``.
- **Pipelines and jobs** (``GET /projects/:id/pipelines[/:id]``, ``.../pipelines/:id/jobs``
  or ``/projects/:id/jobs``): each finished job is a stage of its pipeline (queued
  ``created_at``, ``started_at``, ``finished_at``; ``started_at - queued_duration`` when
  ``created_at`` is missing); a pipeline listed without its jobs is one stage. Results:
  ``success``; ``failed`` and ``canceled`` count as failures (as DevLake); a job that never
  ran (``skipped``, ``manual``, ``created``) or has not finished (``running``, ``pending``)
  is left out; a job canceled before it started ran for zero seconds at ``finished_at``.
  A pipeline from the list endpoint (no ``started_at``/``finished_at``) runs from
  ``created_at`` to ``updated_at``.

Project (``payload.repo``, for the team map): the path in ``web_url``
(``group/sub/project``); service: its last part.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from fleetwise.collect.importers.api_export import api_items, ci_result, sniff_text, text_of
from fleetwise.collect.importers.incidents import (
    Row,
    as_number,
    check_order,
    optional_when,
    parse_when,
    where,
)
from fleetwise.errors import InputError
from fleetwise.models import ProcessEvent

GITLAB_DEPLOYMENTS = "gitlab-deployments"
GITLAB_MERGE_REQUESTS = "gitlab-merge-requests"
GITLAB_PIPELINES = "gitlab-pipelines"
_DONE = {"success", "failed", "canceled"}
_NOT_RUN = {"skipped", "manual", "created", "scheduled", "waiting_for_resource", "preparing"}


def project_of(row: Row) -> str:
    """``group/project`` from a GitLab object's ``web_url`` (or its pipeline's)."""
    for name in ("web_url", "deployable.pipeline.web_url", "pipeline.web_url"):
        url = text_of(row, name)
        if "/-/" in url and "://" in url:
            return url.split("://", 1)[1].split("/", 1)[-1].split("/-/", 1)[0]
    return text_of(row, "references.full").split("!", 1)[0]


def parse_gitlab_deployments(path: Path) -> list[ProcessEvent]:
    """Every successful deployment of a GitLab deployments export."""
    events: list[ProcessEvent] = []
    for at, dep in api_items(path, ("deployments",), "GitLab deployments JSON"):
        if "status" not in dep or "environment" not in dep:
            raise InputError(f"{path}:{at}: not a deployment (no 'status' or 'environment')")
        if str(dep.get("status")).lower() != "success":
            continue
        created = parse_when(dep.get("created_at"), where(path, at, "created_at"))
        col = next(
            (c for c in ("finished_at", "deployable.finished_at", "updated_at") if text_of(dep, c)),
            "finished_at",
        )
        done = parse_when(text_of(dep, col), where(path, at, col))
        check_order(created, done, where(path, at, col))
        ident = str(dep.get("id") or "").strip()
        if not ident:
            raise InputError(f"{where(path, at, 'id')}: empty id")
        project = project_of(dep)
        sha = text_of(dep, "sha", "deployable.commit.id")
        events.append(
            ProcessEvent(
                kind="deployment",
                source=f"{GITLAB_DEPLOYMENTS}:{path.name}",
                key=f"{project}#{ident}" if project else ident,
                time=done,
                started_at=created,
                service=project.rsplit("/", 1)[-1],
                status="success",
                links=[sha] if sha else [],
                payload={
                    "environment": text_of(dep, "environment.name", "environment"),
                    "repo": project,
                    "ref": str(dep.get("ref") or ""),
                    "job": text_of(dep, "deployable.name"),
                    "pipeline": text_of(dep, "deployable.pipeline.id"),
                },
            )
        )
    return events


def sniff_gitlab_deployments(path: Path) -> bool:
    head = sniff_text(path)
    return '"deployable"' in head and '"environment"' in head and '"iid"' in head


def parse_gitlab_merge_requests(path: Path) -> list[ProcessEvent]:
    """Every merged merge request of a GitLab export as a ``change``."""
    events: list[ProcessEvent] = []
    for at, mr in api_items(path, ("merge_requests",), "GitLab merge requests JSON"):
        if "iid" not in mr or "created_at" not in mr:
            raise InputError(f"{path}:{at}: not a merge request (no 'iid' or 'created_at')")
        merged = optional_when(mr.get("merged_at"), where(path, at, "merged_at"))
        if merged is None:
            continue
        created = parse_when(mr.get("created_at"), where(path, at, "created_at"))
        check_order(created, merged, where(path, at, "merged_at"))
        sha = text_of(mr, "merge_commit_sha", "squash_commit_sha", "sha")
        if not sha:
            raise InputError(f"{where(path, at, 'merge_commit_sha')}: missing for a merged MR")
        project = project_of(mr)
        events.append(
            ProcessEvent(
                kind="change",
                source=f"{GITLAB_MERGE_REQUESTS}:{path.name}",
                key=sha,
                time=created,
                ended_at=merged,
                service=project.rsplit("/", 1)[-1],
                links=[s for s in [text_of(mr, "sha")] if s and s != sha],
                payload={
                    "iid": mr.get("iid"),
                    "repo": project,
                    "title": str(mr.get("title") or ""),
                    "author": text_of(mr, "author.username"),
                    "merged_at": merged.isoformat(),
                    "target": str(mr.get("target_branch") or ""),
                },
            )
        )
    return events


def sniff_gitlab_merge_requests(path: Path) -> bool:
    head = sniff_text(path)
    return '"source_branch"' in head and '"iid"' in head and "/merge_requests/" in head


def _queued(path: Path, at: str, item: Row, started: datetime | None) -> datetime | None:
    created = optional_when(item.get("created_at"), where(path, at, "created_at"))
    if created is not None or started is None:
        return created
    wait = item.get("queued_duration")
    if wait in (None, ""):
        return started
    return started - timedelta(seconds=as_number(wait, where(path, at, "queued_duration")))


def _stage(path: Path, at: str, item: Row, is_job: bool) -> ProcessEvent | None:
    raw = str(item.get("status") or "").lower()
    if raw in _NOT_RUN:
        return None
    started = optional_when(item.get("started_at"), where(path, at, "started_at"))
    finished = optional_when(item.get("finished_at"), where(path, at, "finished_at"))
    if finished is None and not is_job and raw in _DONE:
        # The pipelines list has no start or finish: created_at .. updated_at stands in.
        finished = parse_when(item.get("updated_at"), where(path, at, "updated_at"))
        started = started or parse_when(item.get("created_at"), where(path, at, "created_at"))
    if finished is None:
        return None  # running or pending: not finished yet
    if started is None:
        if raw not in {"canceled", "cancelled", "failed"}:
            raise InputError(f"{where(path, at, 'started_at')}: missing for a finished job")
        started = finished  # canceled (or failed) before it started: zero run time
    queued = _queued(path, at, item, started) or started
    queued = min(queued, started)
    check_order(started, finished, where(path, at, "finished_at"))
    pipeline = text_of(item, "pipeline.id") if is_job else text_of(item, "id")
    if not pipeline:
        raise InputError(f"{where(path, at, 'pipeline.id' if is_job else 'id')}: missing")
    name = str(item.get("name") or "") if is_job else "pipeline"
    project = project_of(item)
    return ProcessEvent(
        kind="pipeline_stage",
        source=f"{GITLAB_PIPELINES}:{path.name}",
        key=f"{pipeline}/{name}/{text_of(item, 'id') if is_job else 1}",
        time=queued,
        started_at=started,
        ended_at=finished,
        service=project.rsplit("/", 1)[-1],
        group=pipeline,
        status=ci_result(raw),
        payload={
            "stage": name,
            "ci_stage": str(item.get("stage") or ""),
            "conclusion": raw,
            "attempt": 1,
            "commit": text_of(item, "commit.id", "pipeline.sha", "sha"),
            "workflow": text_of(item, "ref", "pipeline.ref"),
            "environment": text_of(item, "environment.name", "environment"),
            "repo": project,
        },
    )


def parse_gitlab_pipelines(path: Path) -> list[ProcessEvent]:
    """Finished jobs (or pipelines without jobs) of a GitLab export as pipeline stages."""
    items = api_items(path, ("jobs", "pipelines"), "GitLab pipelines or jobs JSON")
    jobs = [(at, i) for at, i in items if isinstance(i.get("pipeline"), dict)]
    runs = [(at, i) for at, i in items if not isinstance(i.get("pipeline"), dict)]
    for at, run in runs:
        if "sha" not in run or "status" not in run:
            raise InputError(f"{path}:{at}: neither a GitLab job nor a pipeline")
    with_jobs = {text_of(j, "pipeline.id") for _, j in jobs}
    events = [_stage(path, at, j, True) for at, j in jobs]
    events += [_stage(path, at, r, False) for at, r in runs if text_of(r, "id") not in with_jobs]
    return [e for e in events if e is not None]


def sniff_gitlab_pipelines(path: Path) -> bool:
    head = sniff_text(path)
    gitlab = "/-/pipelines/" in head or "/-/jobs/" in head
    if not gitlab or '"deployable"' in head or '"source_branch"' in head:
        return False  # deployments and merge requests name their pipelines too
    return '"status"' in head and ('"queued_duration"' in head or '"sha"' in head)
