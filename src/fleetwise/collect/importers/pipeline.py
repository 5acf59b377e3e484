"""Import delivery events: Four Keys tables, pipeline-run CSVs and GitHub Actions runs.

- **Four Keys** (dora-team/fourkeys' BigQuery tables exported as CSV): ``changes.csv``
  (``source, event_type, change_id, time_created``), ``deployments.csv`` (``deploy_id,
  time_created, main_commit, changes`` with changes ``;``-joined) and ``incidents.csv``
  (``incident_id, time_created, time_resolved, changes`` = root-cause changes). A folder
  holding them imports all three. Optional ``team`` and ``service`` columns are kept.
- **Pipeline CSV**: one row per stage run: ``pipeline_id, stage, queued, started,
  finished, result``; optional ``attempt``, ``commit``, ``team``, ``service``.
- **GitHub Actions** REST JSON: ``{"jobs": [...]}`` (``GET .../runs/{id}/jobs``), or
  ``{"workflow_runs": [...]}``, or both in one document. Each job is a stage of the
  pipeline ``run_id`` (queued ``created_at``, ``started_at``, ``completed_at``,
  ``conclusion``, ``run_attempt``); a run without jobs is one stage named after its
  workflow (``created_at``, ``run_started_at``, ``updated_at``). A job without
  ``created_at`` (older exports, some proxies) is queued at its ``started_at``: its wait is
  unknown and counted as none. ``cancelled``, ``timed_out`` and ``startup_failure`` are
  failures (as DevLake counts them); the conclusion itself stays in the payload.

The API exports of GitHub (deployments, pull requests), GitLab, Jenkins, CircleCI, Jira,
Opsgenie incidents and PagerDuty log entries have their own modules; ``parse_process``
applies ``delivery_rules`` (deployment and production patterns, incident type, team map)
to whatever was read.

``FORMATS`` registers every process format (pages too) for ``--format auto``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from fleetwise.collect.importers.api_export import (
    api_documents,
    ci_result,
    is_raw_dump,
    sniff_text,
)
from fleetwise.collect.importers.api_formats import API_FORMATS
from fleetwise.collect.importers.delivery_rules import DeliveryRules, apply_rules
from fleetwise.collect.importers.devlake import DEVLAKE, parse_devlake, sniff_devlake
from fleetwise.collect.importers.github import repo_of
from fleetwise.collect.importers.incidents import (
    PAGE_FORMATS,
    Row,
    as_number,
    check_order,
    csv_rows,
    head_text,
    optional_when,
    parse_when,
    pick,
    where,
)
from fleetwise.collect.importers.infra_changes import (
    INFRA_CHANGES,
    parse_infra_changes,
    sniff_infra_changes,
)
from fleetwise.errors import InputError
from fleetwise.models import ProcessEvent
from fleetwise.textfile import read_text

FOURKEYS = "fourkeys"
PIPELINE_CSV = "pipeline-csv"
GITHUB_ACTIONS = "github-actions"
FOURKEYS_FILES = ("changes.csv", "deployments.csv", "incidents.csv")
PIPELINE_COLUMNS = ("pipeline_id", "stage", "queued", "started", "finished", "result")


# -- Four Keys -----------------------------------------------------------------------------
def _split(value: Any) -> list[str]:
    return [c.strip() for c in str(value or "").replace(",", ";").split(";") if c.strip()]


def _fourkeys_file(path: Path) -> list[ProcessEvent]:
    text = read_text(path)
    header = text.split("\n", 1)[0]
    source = f"{FOURKEYS}:{path.name}"
    events: list[ProcessEvent] = []
    if "deploy_id" in header:
        for line, row in csv_rows(path, text, ["deploy_id", "time_created", "changes"]):
            changes = _split(row["changes"])
            main = str(row.get("main_commit") or "").strip()
            if main and main not in changes:
                changes.append(main)
            events.append(_fk_event("deployment", source, path, line, row, "deploy_id", changes))
    elif "incident_id" in header:
        for line, row in csv_rows(path, text, ["incident_id", "time_created", "time_resolved"]):
            ev = _fk_event("incident", source, path, line, row, "incident_id", [])
            resolved = optional_when(row["time_resolved"], where(path, line, "time_resolved"))
            check_order(ev.time, resolved, where(path, line, "time_resolved"))
            events.append(
                ev.model_copy(update={"ended_at": resolved, "links": _split(row.get("changes"))})
            )
    elif "change_id" in header:
        for line, row in csv_rows(path, text, ["change_id", "time_created"]):
            events.append(_fk_event("change", source, path, line, row, "change_id", []))
    else:
        raise InputError(
            f"{path}:1: not a Four Keys table: expected a 'change_id', 'deploy_id' or "
            "'incident_id' column"
        )
    return events


def _fk_event(
    kind: str, source: str, path: Path, line: int, row: Row, key_col: str, links: list[str]
) -> ProcessEvent:
    key = str(row.get(key_col) or "").strip()
    if not key:
        raise InputError(f"{where(path, line, key_col)}: empty id")
    return ProcessEvent.model_validate(
        {
            "kind": kind,
            "source": source,
            "key": key,
            "time": parse_when(row.get("time_created"), where(path, line, "time_created")),
            "team": str(row.get("team") or ""),
            "service": str(row.get("service") or ""),
            "links": links,
            "payload": {"origin": str(row.get("source") or "")},
        }
    )


def parse_fourkeys(path: Path) -> list[ProcessEvent]:
    """A Four Keys table, or a folder of them (every one of ``FOURKEYS_FILES`` present)."""
    if path.is_dir():
        files = [path / name for name in FOURKEYS_FILES if (path / name).is_file()]
        if not files:
            raise InputError(f"{path}: no {', '.join(FOURKEYS_FILES)} in this folder")
        return [ev for f in files for ev in _fourkeys_file(f)]
    return _fourkeys_file(path)


def sniff_fourkeys(path: Path) -> bool:
    if path.is_dir():
        return (path / "deployments.csv").is_file()
    header = head_text(path).split("\n", 1)[0]
    return "time_created" in header and any(
        k in header for k in ("change_id", "deploy_id", "incident_id")
    )


# -- pipeline CSV --------------------------------------------------------------------------
def parse_pipeline_csv(path: Path) -> list[ProcessEvent]:
    """Every stage run of a pipeline-runs CSV."""
    text = read_text(path)
    events: list[ProcessEvent] = []
    for line, row in csv_rows(path, text, PIPELINE_COLUMNS):
        for col in ("pipeline_id", "stage", "result"):
            if not str(row.get(col) or "").strip():
                raise InputError(f"{where(path, line, col)}: empty value")
        queued = parse_when(row["queued"], where(path, line, "queued"))
        started = parse_when(row["started"], where(path, line, "started"))
        finished = parse_when(row["finished"], where(path, line, "finished"))
        check_order(queued, started, where(path, line, "started"))
        check_order(started, finished, where(path, line, "finished"))
        attempt_text = str(row.get("attempt") or "1").strip()
        if not attempt_text.isdigit():
            raise InputError(f"{where(path, line, 'attempt')}: not a whole number")
        pipeline, stage = str(row["pipeline_id"]).strip(), str(row["stage"]).strip()
        events.append(
            ProcessEvent(
                kind="pipeline_stage",
                source=f"{PIPELINE_CSV}:{path.name}",
                key=f"{pipeline}/{stage}/{attempt_text}",
                time=queued,
                started_at=started,
                ended_at=finished,
                team=str(row.get("team") or ""),
                service=str(row.get("service") or ""),
                group=pipeline,
                status=_result(str(row["result"])),
                payload={
                    "stage": stage,
                    "attempt": int(attempt_text),
                    "commit": str(row.get("commit") or ""),
                },
            )
        )
    return events


def _result(text: str) -> str:
    """Normalise CI results to success / failure / cancelled / skipped / other text."""
    t = text.strip().lower()
    aliases = {
        "passed": "success",
        "pass": "success",
        "ok": "success",
        "succeeded": "success",
        "failed": "failure",
        "fail": "failure",
        "error": "failure",
        "timed_out": "failure",
        "canceled": "cancelled",
    }
    return aliases.get(t, t)


def sniff_pipeline_csv(path: Path) -> bool:
    header = head_text(path).split("\n", 1)[0]
    return all(c in header for c in PIPELINE_COLUMNS)


# -- GitHub Actions ------------------------------------------------------------------------
def _gha_lists(path: Path) -> tuple[list[tuple[str, Row]], list[tuple[str, Row]]]:
    """(runs, jobs) of every response in the file: one, or pages written one after
    another (``gh api --paginate``), or a raw dump's ``data`` cells."""
    runs: list[tuple[str, Row]] = []
    jobs: list[tuple[str, Row]] = []
    for at, doc in api_documents(path):
        if isinstance(doc, dict) and "run_id" in doc and "started_at" in doc:
            jobs.append((at or "[0]", doc))  # one job: a JSON Lines record or a raw row
            continue
        if isinstance(doc, dict) and "workflow_id" in doc and "run_started_at" in doc:
            runs.append((at or "[0]", doc))
            continue
        if not isinstance(doc, dict) or not (
            isinstance(doc.get("jobs"), list) or isinstance(doc.get("workflow_runs"), list)
        ):
            raise InputError(
                f"{path}:{at or 1}: expected GitHub Actions JSON with 'jobs' or 'workflow_runs'"
            )
        prefix = f"{at}:" if at.isdigit() else f"{at}." if at else ""
        for key, out in (("workflow_runs", runs), ("jobs", jobs)):
            out.extend(
                (f"{prefix}{key}[{i}]", r)
                for i, r in enumerate(doc.get(key) or [])
                if isinstance(r, dict)
            )
    return runs, jobs


def parse_github_actions(path: Path) -> list[ProcessEvent]:
    """Jobs (or runs without jobs) of a GitHub Actions REST export as pipeline stages."""
    run_list, jobs = _gha_lists(path)
    runs = {r.get("id"): r for _, r in run_list}
    source = f"{GITHUB_ACTIONS}:{path.name}"
    events: list[ProcessEvent] = []
    for at, job in jobs:
        run = runs.get(job.get("run_id"), {})
        events.append(_gha_stage(path, at, job, run, source, str(job.get("name"))))
    with_jobs = {j.get("run_id") for _, j in jobs}
    for at, run in run_list:
        if run.get("id") not in with_jobs:
            name = str(run.get("name") or "workflow")
            events.append(_gha_stage(path, at, run, run, source, name))
    return events


def _gha_stage(path: Path, at: str, item: Row, run: Row, source: str, stage: str) -> ProcessEvent:
    is_job = "run_id" in item
    start_col, start_raw = pick(item, "started_at", "run_started_at")
    started = parse_when(start_raw, where(path, at, start_col))
    queued = optional_when(item.get("created_at"), where(path, at, "created_at")) or started
    end_col = "completed_at" if is_job else "updated_at"
    finished = optional_when(item.get(end_col), where(path, at, end_col))
    if finished is None:
        raise InputError(f"{where(path, at, end_col)}: missing (is the job still running?)")
    check_order(queued, started, where(path, at, start_col))
    check_order(started, finished, where(path, at, end_col))
    pipeline = str(item.get("run_id") if is_job else item.get("id"))
    attempt = int(as_number(item.get("run_attempt") or 1, where(path, at, "run_attempt")))
    repo = run.get("repository")
    conclusion = str(item.get("conclusion") or "unknown")
    return ProcessEvent(
        kind="pipeline_stage",
        source=source,
        key=f"{pipeline}/{stage}/{attempt}",
        time=queued,
        started_at=started,
        ended_at=finished,
        service=str(repo.get("name", "")) if isinstance(repo, dict) else "",
        group=pipeline,
        status=ci_result(conclusion),
        payload={
            "stage": stage,
            "attempt": attempt,
            "commit": str(item.get("head_sha") or ""),
            "workflow": str(item.get("workflow_name") or run.get("name") or ""),
            "steps": len(item.get("steps") or []),
            "conclusion": conclusion,
            "repo": repo_of(run) or repo_of(item),
            "path": str(run.get("path") or ""),
        },
    )


def sniff_github_actions(path: Path) -> bool:
    head = sniff_text(path)
    if '"workflow_runs"' in head or ('"jobs"' in head and '"run_id"' in head):
        return True
    # single runs or jobs (JSON Lines, a DevLake raw table of them)
    return '"run_started_at"' in head or ('"run_id"' in head and '"steps"' in head)


Parser = Callable[[Path], list[ProcessEvent]]
#: Every process format: name -> (sniff, parse); ``--format auto`` tries them in order.
FORMATS: dict[str, tuple[Callable[[Path], bool], Parser]] = {
    FOURKEYS: (sniff_fourkeys, parse_fourkeys),
    DEVLAKE: (sniff_devlake, parse_devlake),
    PIPELINE_CSV: (sniff_pipeline_csv, parse_pipeline_csv),
    GITHUB_ACTIONS: (sniff_github_actions, parse_github_actions),
    **API_FORMATS,
    **PAGE_FORMATS,
    INFRA_CHANGES: (sniff_infra_changes, parse_infra_changes),
}


def parse_process(
    path: Path, fmt: str = "auto", rules: DeliveryRules | None = None
) -> tuple[str, list[ProcessEvent]]:
    """Parse ``path`` as ``fmt`` (or the first format that recognises it) and apply
    ``rules`` (defaults: ``DeliveryRules()``); return the format used and every event.
    Nothing is returned unless the whole file parsed."""
    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    if fmt == "auto":
        found = next((name for name, (sniff, _) in FORMATS.items() if sniff(path)), None)
        if found is None:
            what = (
                "a DevLake raw-table dump whose 'data' no format recognises"
                if path.is_file() and is_raw_dump(path)
                else "unrecognised format"
            )
            raise InputError(f"{path}: {what}; pass --format with one of {', '.join(FORMATS)}")
        fmt = found
    if fmt not in FORMATS:
        raise InputError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")
    if path.is_dir() and fmt not in (FOURKEYS, DEVLAKE):
        raise InputError(
            f"{path}: is a folder; only --format {FOURKEYS} reads a folder (or {DEVLAKE})"
        )
    return fmt, apply_rules(FORMATS[fmt][1](path), rules or DeliveryRules())
