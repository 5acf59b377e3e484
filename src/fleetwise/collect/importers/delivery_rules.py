"""What an imported CI or tracker record *means*: deployments, production, incidents, teams.

The importers keep the tools' facts (job names, environments, issue types, repositories);
``apply_rules`` turns them into DORA's events, as DevLake's scope transformations do:

- **Deployment pattern** (DevLake's ``deploymentPattern``, default ``deploy``, a regular
  expression searched case-insensitively): a CI pipeline of an API export (GitHub Actions,
  GitLab, Jenkins, CircleCI) with a successful stage (job) whose name matches is a
  ``deployment``, finished when the last such stage finished, shipping the pipeline's
  commit; failed deploy stages deploy nothing. A pipeline whose jobs do not match but whose
  workflow does is a deployment when every job that ran succeeded (as DevLake takes the
  pipeline's result).
- **Production pattern** (DevLake's ``productionPattern``; none by default: every
  deployment counts, as DevLake does with the pattern left empty): a deployment counts only
  when its environment (GitHub/GitLab deployments), else the matching stage's or
  workflow's name, matches. Others are dropped.
- **Incident type** (default ``^Incident$``): a Jira issue is an incident when its issue
  type matches; other issues are dropped.
- **Team map** (``--team-map FILE.yaml``): events without a team get the first team whose
  ``repos`` globs match the event's repository (``owner/name``, GitLab ``group/project``)
  and whose ``paths`` prefixes match its path (a Jenkins job's folder path, a workflow
  file); a team may give either or both.

```yaml
teams:
  ml-infra:
    repos: ["acme/trainer-*"]
  inference:
    repos: ["acme/monorepo"]
    paths: ["services/inference/"]
```
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from fleetwise.errors import InputError
from fleetwise.models import ProcessEvent
from fleetwise.textfile import first_problem, read_yaml

#: Formats whose pipeline stages the deployment pattern applies to (API exports; a
#: pipeline-runs CSV names its own stages and keeps them as stages).
CI_FORMATS = ("github-actions", "gitlab-pipelines", "jenkins", "circleci")


class TeamRule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    repos: list[str] = []
    paths: list[str] = []


class TeamMap(BaseModel):
    model_config = ConfigDict(extra="forbid")
    teams: dict[str, TeamRule]

    def team_for(self, repo: str, path: str) -> str:
        for team, rule in self.teams.items():
            if not rule.repos and not rule.paths:
                continue
            repo_ok = not rule.repos or any(fnmatchcase(repo, g) for g in rule.repos)
            path_ok = not rule.paths or any(path.startswith(p) for p in rule.paths)
            if repo_ok and path_ok and (repo or path):
                return team
        return ""


def load_team_map(path: Path) -> TeamMap:
    """A team map file; an unknown key or a wrong type is an ``InputError`` naming it."""
    _, doc = read_yaml(path)
    try:
        return TeamMap.model_validate(doc)
    except ValidationError as exc:
        loc, msg = first_problem(exc)
        where = ".".join(str(part) for part in loc) or "(top)"
        raise InputError(f"{path}: {where}: {msg}") from exc


def _regex(option: str, pattern: str | None) -> re.Pattern[str] | None:
    if pattern is None or pattern == "":
        return None
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        raise InputError(f"{option} {pattern!r}: not a regular expression: {exc}") from exc


@dataclass(frozen=True)
class DeliveryRules:
    deployment_pattern: str | None = "deploy"
    production_pattern: str | None = None
    incident_type: str | None = "^Incident$"
    team_map: TeamMap | None = field(default=None)


def _hits(
    stages: Sequence[ProcessEvent], deploy: re.Pattern[str]
) -> tuple[list[ProcessEvent], str]:
    """The stages that make a CI pipeline a deployment, and which name matched: its
    successful stages named like a deployment; else, when its workflow is named like one,
    all its stages if every one that ran succeeded (DevLake: the pipeline's result)."""
    by_name = [e for e in stages if deploy.search(str(e.payload.get("stage") or ""))]
    if by_name:
        return [e for e in by_name if e.status == "success"], "stage"
    by_flow = any(deploy.search(str(e.payload.get("workflow") or "")) for e in stages)
    if by_flow and all(e.status in {"success", "skipped"} for e in stages):
        return [e for e in stages if e.status == "success"], "workflow"
    return [], ""


def _ci_deployments(
    stages: Sequence[ProcessEvent], deploy: re.Pattern[str], prod: re.Pattern[str] | None
) -> list[ProcessEvent]:
    by_pipeline: dict[tuple[str, str], list[ProcessEvent]] = {}
    for ev in stages:
        by_pipeline.setdefault((ev.source, ev.group), []).append(ev)
    out: list[ProcessEvent] = []
    for (source, group), members in sorted(by_pipeline.items()):
        hits, matched = _hits(members, deploy)
        if not hits:
            continue
        envs = [str(h.payload.get("environment") or "") for h in hits]
        named = [e for e in envs if e] or [str(h.payload.get(matched) or "") for h in hits]
        if prod is not None and not any(prod.search(n) for n in named):
            continue
        last = max(hits, key=lambda h: (h.ended_at or h.time, h.key))
        commit = str(last.payload.get("commit") or "")
        out.append(
            ProcessEvent(
                kind="deployment",
                source=source,
                key=group,
                time=last.ended_at or last.time,
                started_at=min(h.started_at or h.time for h in hits),
                team=last.team,
                service=last.service,
                status="success",
                links=[commit] if commit else [],
                payload={
                    "environment": next((e for e in envs if e), ""),
                    "repo": str(last.payload.get("repo") or ""),
                    "path": str(last.payload.get("path") or ""),
                    "stages": sorted({str(h.payload.get("stage")) for h in hits}),
                    "via": f"deployment-pattern:{matched}",
                },
            )
        )
    return out


def _keep(ev: ProcessEvent, prod: re.Pattern[str] | None, incident: re.Pattern[str] | None) -> bool:
    if ev.kind == "deployment" and prod is not None and "environment" in ev.payload:
        return bool(prod.search(str(ev.payload["environment"])))
    if ev.kind == "incident" and incident is not None and "issue_type" in ev.payload:
        return bool(incident.search(str(ev.payload["issue_type"])))
    return True


def apply_rules(events: Sequence[ProcessEvent], rules: DeliveryRules) -> list[ProcessEvent]:
    """``events`` with CI deployments added, non-production deployments and non-incident
    issues dropped, and teams filled from the team map (see the module docstring)."""
    deploy = _regex("--deployment-pattern", rules.deployment_pattern)
    prod = _regex("--production-pattern", rules.production_pattern)
    incident = _regex("--incident-type", rules.incident_type)
    kept = [ev for ev in events if _keep(ev, prod, incident)]
    if deploy is not None:
        stages = [
            ev
            for ev in kept
            if ev.kind == "pipeline_stage" and ev.source.split(":", 1)[0] in CI_FORMATS
        ]
        kept += _ci_deployments(stages, deploy, prod)
    if rules.team_map is None:
        return kept
    team_map = rules.team_map
    return [
        ev
        if ev.team
        else ev.model_copy(
            update={
                "team": team_map.team_for(
                    str(ev.payload.get("repo") or ""), str(ev.payload.get("path") or "")
                )
            }
        )
        for ev in kept
    ]
