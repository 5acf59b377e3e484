"""The API-export formats, in sniffing order: a format whose records could also look like
another's is tried first (GitLab deployments and merge requests embed pipeline URLs, so
they come before GitLab pipelines; Opsgenie incidents and PagerDuty log entries before
the alert and incident formats of ``incidents.py``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fleetwise.collect.importers import ci_servers, github, gitlab, oncall_api
from fleetwise.models import ProcessEvent

API_FORMATS: dict[str, tuple[Callable[[Path], bool], Callable[[Path], list[ProcessEvent]]]] = {
    github.GITHUB_DEPLOYMENTS: (github.sniff_github_deployments, github.parse_github_deployments),
    github.GITHUB_PULLS: (github.sniff_github_pulls, github.parse_github_pulls),
    gitlab.GITLAB_DEPLOYMENTS: (gitlab.sniff_gitlab_deployments, gitlab.parse_gitlab_deployments),
    gitlab.GITLAB_MERGE_REQUESTS: (
        gitlab.sniff_gitlab_merge_requests,
        gitlab.parse_gitlab_merge_requests,
    ),
    gitlab.GITLAB_PIPELINES: (gitlab.sniff_gitlab_pipelines, gitlab.parse_gitlab_pipelines),
    ci_servers.JENKINS: (ci_servers.sniff_jenkins, ci_servers.parse_jenkins),
    ci_servers.CIRCLECI: (ci_servers.sniff_circleci, ci_servers.parse_circleci),
    oncall_api.JIRA: (oncall_api.sniff_jira, oncall_api.parse_jira),
    oncall_api.OPSGENIE_INCIDENTS: (
        oncall_api.sniff_opsgenie_incidents,
        oncall_api.parse_opsgenie_incidents,
    ),
    oncall_api.PAGERDUTY_LOG_ENTRIES: (
        oncall_api.sniff_pagerduty_log_entries,
        oncall_api.parse_pagerduty_log_entries,
    ),
}
