"""``fleetwise process``: import delivery and on-call exports, then DORA, pipeline and
on-call analyses of what the store holds. Each analysis is stored with its findings."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import typer
from rich.console import Group

from fleetwise.analyze.dora import Definition, DoraConfig, dora_report
from fleetwise.analyze.dora_devlake import day_end, day_start, devlake_dora
from fleetwise.analyze.oncall import OnCallConfig, oncall_report
from fleetwise.analyze.pipeline_flow import pipeline_report
from fleetwise.analyze.process import (
    CostAssumptions,
    dora_findings,
    oncall_findings,
    pipeline_findings,
    to_doc,
)
from fleetwise.checked import Share, WindowHours
from fleetwise.collect.importers.delivery_rules import DeliveryRules, load_team_map
from fleetwise.collect.importers.devlake import DEVLAKE, parse_devlake
from fleetwise.collect.importers.devlake_tables import is_database_url, shown_source
from fleetwise.collect.importers.pipeline import FORMATS, parse_process
from fleetwise.errors import InputError
from fleetwise.models import SCHEMA_VERSION, Finding, ProcessEvent
from fleetwise.present.cli.common import (
    DbOption,
    FleetOption,
    JsonOption,
    checked,
    open_store,
    print_json,
    stdout,
)
from fleetwise.present.cli.render_devlake import devlake_dora_view
from fleetwise.present.cli.render_infra import infra_view
from fleetwise.present.cli.render_process import (
    dora_view,
    findings_view,
    oncall_view,
    pipeline_view,
)
from fleetwise.present.cli.valuestream import map_cmd
from fleetwise.store import Store
from fleetwise.usecases.fleet import profile_for
from fleetwise.usecases.infra import platform_report

app = typer.Typer(help="Delivery and on-call: DORA metrics, pipeline bottlenecks, on-call load.")
app.command("map")(map_cmd)


class FormatOpt(StrEnum):
    auto = "auto"
    fourkeys = "fourkeys"
    devlake = "devlake"
    pipeline_csv = "pipeline-csv"
    github_actions = "github-actions"
    github_deployments = "github-deployments"
    github_pulls = "github-pulls"
    gitlab_deployments = "gitlab-deployments"
    gitlab_merge_requests = "gitlab-merge-requests"
    gitlab_pipelines = "gitlab-pipelines"
    jenkins = "jenkins"
    circleci = "circleci"
    jira = "jira"
    opsgenie_incidents = "opsgenie-incidents"
    pagerduty_log_entries = "pagerduty-log-entries"
    pagerduty = "pagerduty"
    opsgenie = "opsgenie"
    infra_changes = "infra-changes"


assert {f.value for f in FormatOpt} == {"auto", *FORMATS}, "keep FormatOpt in step with FORMATS"


class DefinitionOpt(StrEnum):
    fleetwise = "fleetwise"
    fourkeys = "fourkeys"
    devlake = "devlake"


TzOption = Annotated[str, typer.Option("--tz", help="Time zone for days, weeks and shifts.")]


def _costs(fleet: Path | None) -> CostAssumptions:
    """The engineer-hour of the fleet profile (its loaded cost a year over its work hours)."""
    return CostAssumptions(loaded_usd_per_hour=profile_for(fleet).usd_per_engineer_hour)


def _zone(tz: str) -> str:
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InputError(f"--tz {tz!r}: unknown time zone") from exc
    return tz


def _read_source(source: str, fmt: str, rules: DeliveryRules) -> tuple[str, list[ProcessEvent]]:
    """A file or folder through the format registry; a database URL is DevLake's."""
    if is_database_url(source):
        if fmt not in ("auto", DEVLAKE):
            raise InputError(
                f"{shown_source(source)}: a database URL is read by --format {DEVLAKE} only"
            )
        return DEVLAKE, parse_devlake(source)
    return parse_process(Path(source), fmt, rules)


@app.command("import")
def import_cmd(
    file: Annotated[
        str,
        typer.Argument(
            help="Export file, a folder (Four Keys; DevLake CSV dumps) or a DevLake "
            "database URL (postgresql://... or mysql://..., read-only)."
        ),
    ],
    fmt: Annotated[
        FormatOpt, typer.Option("--format", help="Input format; auto sniffs it.")
    ] = FormatOpt.auto,
    deployment_pattern: Annotated[
        str,
        typer.Option(
            help="Regex (case-insensitive) of CI job or workflow names that deploy "
            "(DevLake's deploymentPattern); '' turns CI deployments off."
        ),
    ] = "deploy",
    production_pattern: Annotated[
        str,
        typer.Option(
            help="Regex of production environments (or deploy job names); "
            "'' (default): every deployment counts (DevLake's productionPattern)."
        ),
    ] = "",
    incident_type: Annotated[
        str, typer.Option(help="Regex of the Jira issue types that are incidents.")
    ] = "^Incident$",
    team_map: Annotated[
        Path | None,
        typer.Option(help="YAML mapping repository globs and path prefixes to teams."),
    ] = None,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Import changes, deployments, incidents, pipeline stages or pages into the store."""
    rules = DeliveryRules(
        deployment_pattern=deployment_pattern or None,
        production_pattern=production_pattern or None,
        incident_type=incident_type or None,
        team_map=load_team_map(team_map) if team_map else None,
    )
    used, events = _read_source(file, str(fmt.value), rules)
    shown = shown_source(file)
    if not events:
        raise InputError(f"{shown}: no events found")
    with open_store(db) as store:
        added, skipped = store.add_process_events(events)
    kinds: dict[str, int] = {}
    for ev in events:
        kinds[ev.kind] = kinds.get(ev.kind, 0) + 1
    if json_out:
        doc = {"file": shown, "format": used, "added": added, "skipped": skipped}
        print_json({"schema_version": SCHEMA_VERSION, **doc, "kinds": kinds})
        return
    counts = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
    stdout().print(f"imported {shown} as {used}: {counts}; {added} added, {skipped} already stored")


def _emit(
    store: Store,
    name: str,
    report: Any,
    findings: list[Finding],
    view: Group,
    json_out: bool,
    tags: list[str],
) -> None:
    summary = to_doc(report)
    analysis_id = store.save_analysis(
        kind="process", source=f"store:{name}", summary=summary, findings=findings, tags=tags
    )
    if json_out:
        print_json(
            {
                "schema_version": SCHEMA_VERSION,
                "analysis_id": analysis_id,
                name: summary,
                "findings": [f.model_dump(mode="json") for f in findings],
            }
        )
        return
    out = stdout()
    out.print(view)
    if findings:
        out.print(findings_view(findings))


@app.command("dora")
def dora_cmd(
    team: Annotated[str | None, typer.Option(help="Only this team.")] = None,
    service: Annotated[str | None, typer.Option(help="Only this service.")] = None,
    definition: Annotated[
        DefinitionOpt, typer.Option(help="Which definitions lead (both are reported).")
    ] = DefinitionOpt.fleetwise,
    window_hours: Annotated[
        float,
        typer.Option(
            help="Attribute an incident without a root cause to a deployment "
            "of its service at most this many hours before it.",
            callback=checked(WindowHours),
        ),
    ] = 24.0,
    tz: TzOption = "UTC",
    since: Annotated[
        str | None,
        typer.Option(
            help="devlake: first day of the range, YYYY-MM-DD (UTC); "
            "default six months before --until."
        ),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(help="devlake: last day of the range (UTC); default the last event."),
    ] = None,
    fleet: FleetOption = None,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """DORA's four keys and rework rate, both definitions, per team/service and per week;
    --definition devlake: DevLake's DORA per DevLake project (--team PROJECT)."""
    first, last = _day("--since", since), _day("--until", until)
    with open_store(db, must_exist=True) as store:
        if definition is DefinitionOpt.devlake:
            if service is not None:
                raise InputError("--service: DevLake's DORA is per project (--team PROJECT)")
            _dora_devlake(store, team, first, last, json_out)
            return
        _dora(store, team, service, definition, window_hours, tz, fleet, json_out)


def _day(option: str, text: str | None) -> date | None:
    try:
        return None if text is None else date.fromisoformat(text.strip())
    except ValueError as exc:
        raise InputError(f"{option} {text!r}: not a date (YYYY-MM-DD)") from exc


def _dora_devlake(
    store: Store, project: str | None, since: date | None, until: date | None, json_out: bool
) -> None:
    if since is not None and until is not None and since > until:
        raise InputError(f"--since {since} is after --until {until}")
    report = devlake_dora(
        store.process_events(["change", "deployment", "incident"]),
        project=project,
        since=day_start(since) if since else None,
        until=day_end(until) if until else None,
    )
    if report is None or not report.projects:
        raise InputError(
            "no DevLake events in the store"
            + (f" for project {project!r}" if project else "")
            + "; import some with `fleetwise process import --format devlake SOURCE`"
        )
    tags = ["dora", "definition:devlake"] + ([f"team:{project}"] if project else [])
    _emit(store, "dora", report, [], devlake_dora_view(report), json_out, tags)


def _dora(
    store: Store,
    team: str | None,
    service: str | None,
    definition: DefinitionOpt,
    window_hours: float,
    tz: str,
    fleet: Path | None,
    json_out: bool,
) -> None:
    events = store.process_events(["change", "deployment", "incident"])
    chosen: Definition = "fourkeys" if definition is DefinitionOpt.fourkeys else "fleetwise"
    cfg = DoraConfig(chosen, timedelta(hours=window_hours), _zone(tz))
    report = dora_report(events, cfg, team=team, service=service)
    if report.overall.deployments == 0:
        raise InputError(
            "no deployments in the store"
            + (f" for team {team!r}" if team else "")
            + (f" for service {service!r}" if service else "")
            + "; import some with `fleetwise process import`"
        )
    findings = dora_findings(report, _costs(fleet))
    tags = ["dora", f"definition:{definition.value}"]
    tags += [f"team:{team}"] if team else []
    tags += [f"service:{service}"] if service else []
    _emit(store, "dora", report, findings, dora_view(report), json_out, tags)


@app.command("infra")
def infra_cmd(
    window_hours: Annotated[
        float,
        typer.Option(
            help="Attribute an incident without a root cause to a platform change "
            "of its service at most this many hours before it.",
            callback=checked(WindowHours),
        ),
    ] = 24.0,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Platform changes (driver, CUDA, NCCL, firmware, kernel, scheduler) as deployments:
    from the change log and run fingerprints, with change failure rate and recovery."""
    with open_store(db, must_exist=True) as store:
        report = platform_report(store, timedelta(hours=window_hours))
        if report.changes == 0:
            raise InputError(
                "no platform changes: import a change log (fleetwise process import "
                "FILE --format infra-changes) or run benchmarks before and after one"
            )
        _emit(store, "infra", report, [], infra_view(report), json_out, ["infra"])


@app.command("pipeline")
def pipeline_cmd(
    fleet: FleetOption = None,
    blocked_fraction: Annotated[
        float,
        typer.Option(
            help="Share of pipeline waiting that blocks a person.", callback=checked(Share)
        ),
    ] = CostAssumptions.blocked_fraction,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Stage shares (wait vs active), flow efficiency, Little's law, slow and flaky jobs."""
    with open_store(db, must_exist=True) as store:
        report = pipeline_report(store.process_events(["pipeline_stage"]))
        if report.pipelines == 0:
            raise InputError("no pipeline stages in the store; import a pipeline CSV or GitHub run")
        cost = replace(_costs(fleet), blocked_fraction=blocked_fraction)
        findings = pipeline_findings(report, cost)
        _emit(store, "pipeline", report, findings, pipeline_view(report), json_out, ["pipeline"])


@app.command("oncall")
def oncall_cmd(
    tz: TzOption = "UTC",
    shift_hours: Annotated[int, typer.Option(min=1, max=168, help="Shift length.")] = 12,
    shift_start: Annotated[int, typer.Option(min=0, max=23, help="Local hour a shift starts.")] = 8,
    fleet: FleetOption = None,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Pages per shift, after-hours and sleep interruptions, MTTA/MTTR, noise, toil."""
    cfg = OnCallConfig(tz=_zone(tz), shift_hours=shift_hours, shift_start_hour=shift_start)
    with open_store(db, must_exist=True) as store:
        report = oncall_report(store.process_events(["page"]), cfg)
        if report.pages == 0:
            raise InputError("no pages in the store; import a PagerDuty or Opsgenie export")
        findings = oncall_findings(report, cfg, _costs(fleet))
        _emit(store, "oncall", report, findings, oncall_view(report), json_out, ["oncall"])
