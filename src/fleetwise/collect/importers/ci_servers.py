"""Jenkins builds and CircleCI v2 pipelines, workflows and jobs as pipeline stages.

- **Jenkins** (``/job/NAME/api/json?tree=name,fullName,url,builds[number,result,timestamp,
  duration,estimatedDuration,queueId,url,actions[...]]``; a folder or view with
  ``jobs[...,builds[...]]`` too): each finished build is one stage named after its job, in
  the pipeline ``JOB#NUMBER``. ``timestamp`` (ms) is when it started, ``timestamp +
  duration`` when it finished; queued ``queuingDurationMillis`` earlier when the Metrics
  plugin's ``TimeInQueueAction`` is among its ``actions``, else at its start. ``result``
  ``SUCCESS``; ``FAILURE``, ``UNSTABLE`` and ``ABORTED`` count as failures (as DevLake);
  ``NOT_BUILT`` as skipped; ``null`` (or ``building``) means still running: left out.
  The commit is the Git plugin's ``lastBuiltRevision.SHA1``.
- **CircleCI v2** (``GET /pipeline``, ``/pipeline/{id}/workflow``, ``/workflow/{id}/job``,
  pages ``{"items": [...], "next_page_token": ...}``): a job is a stage of its workflow
  (the pipeline), queued at ``created_at`` / ``queued_at`` (job details) else at its
  workflow's ``created_at``, ``started_at``, ``stopped_at``. The job list carries no
  workflow id, so a job must say its workflow: ``workflow_id``, ``latest_workflow.id``
  (job details), or listed in its workflow's ``jobs``. A workflow without jobs is one stage.
  Approval jobs and jobs that never ran (``not_run``, ``blocked``, ``on_hold``) are left
  out; ``failed``, ``error``, ``canceled``, ``infrastructure_fail``, ``timedout`` are
  failures. Commit, branch and project come from the pipeline (``vcs.revision``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from fleetwise.collect.importers.api_export import (
    api_documents,
    api_items,
    ci_result,
    sniff_text,
    text_of,
)
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

JENKINS = "jenkins"
CIRCLECI = "circleci"


# -- Jenkins -------------------------------------------------------------------------------
def _jenkins_builds(at: str, doc: Any, job: str, out: list[tuple[str, str, Row]]) -> None:
    """(place, job name, build) of every build in a job, folder, view or build list."""
    if isinstance(doc, list):
        for i, item in enumerate(doc):
            _jenkins_builds(f"{at}[{i}]", item, job, out)
        return
    if not isinstance(doc, Mapping):
        return
    if "number" in doc and "timestamp" in doc:
        out.append((at or "[0]", job or _job_from_url(doc), doc))
        return
    prefix = f"{at}:" if at.isdigit() else f"{at}." if at else ""
    name = text_of(doc, "fullName", "name") or job
    if isinstance(doc.get("builds"), list):
        for i, build in enumerate(doc["builds"]):
            if isinstance(build, Mapping):
                out.append((f"{prefix}builds[{i}]", name, build))
    if isinstance(doc.get("jobs"), list):
        for i, sub in enumerate(doc["jobs"]):
            _jenkins_builds(f"{prefix}jobs[{i}]", sub, name, out)


def _job_from_url(build: Row) -> str:
    """``folder/name`` from a build URL ``.../job/folder/job/name/42/``."""
    parts = str(build.get("url") or "").rstrip("/").split("/")
    names = [parts[i + 1] for i, p in enumerate(parts[:-1]) if p == "job"]
    return "/".join(names)


def _action(build: Row, key: str) -> Any:
    for action in build.get("actions") or []:
        if isinstance(action, Mapping) and key in action:
            return action[key]
    return None


def _jenkins_stage(path: Path, at: str, job: str, build: Row) -> ProcessEvent | None:
    result = build.get("result")
    if result is None or build.get("building") is True:
        return None  # still running
    stamp = build.get("timestamp")
    if not isinstance(stamp, int | float) or isinstance(stamp, bool):
        raise InputError(f"{where(path, at, 'timestamp')}: expected epoch milliseconds")
    started = parse_when(stamp, where(path, at, "timestamp"))
    ms = as_number(build.get("duration"), where(path, at, "duration"))
    if ms < 0 or ms != ms or ms > 1e12:
        raise InputError(f"{where(path, at, 'duration')}: not a duration: {ms!r}")
    waited = _action(build, "queuingDurationMillis")
    wait_ms = as_number(waited, where(path, at, "queuingDurationMillis")) if waited else 0.0
    if wait_ms < 0 or wait_ms != wait_ms or wait_ms > 1e12:
        raise InputError(f"{where(path, at, 'queuingDurationMillis')}: not a duration")
    number = str(build.get("number") or "").strip()
    name = job or _job_from_url(build)
    if not number or not name:
        raise InputError(f"{where(path, at, 'number')}: a build needs its number and job")
    revision = _action(build, "lastBuiltRevision")
    return ProcessEvent(
        kind="pipeline_stage",
        source=f"{JENKINS}:{path.name}",
        key=f"{name}#{number}/{name}/1",
        time=started - timedelta(milliseconds=wait_ms),
        started_at=started,
        ended_at=started + timedelta(milliseconds=ms),
        service=name.rsplit("/", 1)[-1],
        group=f"{name}#{number}",
        status=ci_result(str(result)),
        payload={
            "stage": name,
            "conclusion": str(result),
            "attempt": 1,
            "commit": text_of(revision, "SHA1") if isinstance(revision, Mapping) else "",
            "workflow": name,
            "path": name,
        },
    )


def parse_jenkins(path: Path) -> list[ProcessEvent]:
    """Every finished build of a Jenkins JSON API export as a pipeline stage."""
    found: list[tuple[str, str, Row]] = []
    for at, doc in api_documents(path):
        _jenkins_builds(at, doc, "", found)
    if not found:
        raise InputError(f"{path}: expected Jenkins JSON with 'builds' (number, timestamp)")
    events = [_jenkins_stage(path, at, job, build) for at, job, build in found]
    return [e for e in events if e is not None]


def sniff_jenkins(path: Path) -> bool:
    head = sniff_text(path)
    return ('"builds"' in head and '"timestamp"' in head) or '"_class": "hudson.' in head


# -- CircleCI ------------------------------------------------------------------------------
def _is_pipeline(item: Row) -> bool:
    return "vcs" in item or "trigger" in item


def _is_workflow(item: Row) -> bool:
    return "pipeline_id" in item and "pipeline_number" in item


def _circle_stage(
    path: Path, at: str, job: Row, flow: Row, pipeline: Row, is_job: bool
) -> ProcessEvent | None:
    raw = str(job.get("status") or "").lower()
    if job.get("type") == "approval" or raw in {"not_run", "blocked", "on_hold", "queued"}:
        return None
    finished = optional_when(job.get("stopped_at"), where(path, at, "stopped_at"))
    if finished is None:
        return None  # running
    col, created = "created_at", job.get("created_at") or job.get("queued_at")
    if not created and is_job:
        col, created = "workflow.created_at", flow.get("created_at")
    queued = optional_when(created, where(path, at, col))
    started = optional_when(job.get("started_at"), where(path, at, "started_at"))
    if started is None and not is_job:
        started = queued  # a workflow starts when it is created
    if started is None:
        if raw not in {"canceled", "failed"}:
            raise InputError(f"{where(path, at, 'started_at')}: missing for a finished job")
        started = finished
    queued = min(queued or started, started)
    check_order(started, finished, where(path, at, "stopped_at"))
    flow_id = str(flow.get("id") or "").strip()
    name = str(job.get("name") or "workflow")
    slug = text_of(job, "project_slug", "project.slug") or text_of(flow, "project_slug")
    repo = "/".join(slug.split("/")[1:]) if slug.count("/") >= 2 else slug
    ident = text_of(job, "job_number", "number", "id") if is_job else "1"
    return ProcessEvent(
        kind="pipeline_stage",
        source=f"{CIRCLECI}:{path.name}",
        key=f"{flow_id}/{name}/{ident}",
        time=queued,
        started_at=started,
        ended_at=finished,
        service=repo.rsplit("/", 1)[-1],
        group=flow_id,
        status=ci_result(raw),
        payload={
            "stage": name,
            "conclusion": raw,
            "attempt": 1,
            "commit": text_of(pipeline, "vcs.revision"),
            "workflow": str(flow.get("name") or ""),
            "branch": text_of(pipeline, "vcs.branch"),
            "repo": repo,
        },
    )


def parse_circleci(path: Path) -> list[ProcessEvent]:
    """CircleCI v2 jobs (or workflows without jobs) as pipeline stages."""
    items = api_items(path, ("items",), "CircleCI v2 JSON with 'items'")
    pipelines = {text_of(i, "id"): i for _, i in items if _is_pipeline(i)}
    flows = {text_of(i, "id"): i for _, i in items if _is_workflow(i)}
    jobs: list[tuple[str, Row, str]] = []
    for at, item in items:
        if _is_pipeline(item):
            continue
        if _is_workflow(item):
            nested = item.get("jobs")
            for i, job in enumerate(nested if isinstance(nested, list) else []):
                if isinstance(job, Mapping):
                    jobs.append((f"{at}.jobs[{i}]", job, text_of(item, "id")))
            continue
        if "job_number" not in item and "latest_workflow" not in item:
            raise InputError(f"{path}:{at}: not a CircleCI pipeline, workflow or job")
        flow_id = text_of(item, "workflow_id", "latest_workflow.id")
        if not flow_id:
            raise InputError(
                f"{where(path, at, 'workflow_id')}: a job must name its workflow "
                "('workflow_id', or list it in its workflow's 'jobs')"
            )
        jobs.append((at, item, flow_id))
    events: list[ProcessEvent | None] = []
    for at, job, flow_id in jobs:
        flow = flows.get(flow_id, {"id": flow_id})
        pipeline = pipelines.get(text_of(flow, "pipeline_id"), {})
        events.append(_circle_stage(path, at, job, flow, pipeline, True))
    with_jobs = {flow_id for _, _, flow_id in jobs}
    for at, flow in ((a, i) for a, i in items if _is_workflow(i)):
        if text_of(flow, "id") not in with_jobs:
            pipeline = pipelines.get(text_of(flow, "pipeline_id"), {})
            events.append(_circle_stage(path, at, flow, flow, pipeline, False))
    return [e for e in events if e is not None]


def sniff_circleci(path: Path) -> bool:
    head = sniff_text(path)
    return '"project_slug"' in head and any(
        k in head for k in ('"pipeline_id"', '"job_number"', '"trigger"')
    )
