"""``fleetwise process``: import delivery and on-call exports, then DORA, pipeline and
on-call analyses of what the store holds. Each analysis is stored with its findings."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import typer
from rich.console import Group

from fleetwise.analyze.dora import Definition, DoraConfig, dora_report
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
from fleetwise.collect.importers.pipeline import FORMATS, parse_process
from fleetwise.errors import InputError
from fleetwise.models import SCHEMA_VERSION, Finding
from fleetwise.present.cli.common import (
    DbOption,
    FleetOption,
    JsonOption,
    checked,
    open_store,
    print_json,
    stdout,
)
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
    pipeline_csv = "pipeline-csv"
    github_actions = "github-actions"
    pagerduty = "pagerduty"
    opsgenie = "opsgenie"
    infra_changes = "infra-changes"


assert {f.value for f in FormatOpt} == {"auto", *FORMATS}, "keep FormatOpt in step with FORMATS"


class DefinitionOpt(StrEnum):
    fleetwise = "fleetwise"
    fourkeys = "fourkeys"


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


@app.command("import")
def import_cmd(
    file: Annotated[Path, typer.Argument(help="Export file (or a Four Keys folder).")],
    fmt: Annotated[
        FormatOpt, typer.Option("--format", help="Input format; auto sniffs it.")
    ] = FormatOpt.auto,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Import changes, deployments, incidents, pipeline stages or pages into the store."""
    used, events = parse_process(file, str(fmt.value))
    if not events:
        raise InputError(f"{file}: no events found")
    with open_store(db) as store:
        added, skipped = store.add_process_events(events)
    kinds: dict[str, int] = {}
    for ev in events:
        kinds[ev.kind] = kinds.get(ev.kind, 0) + 1
    if json_out:
        doc = {"file": str(file), "format": used, "added": added, "skipped": skipped}
        print_json({"schema_version": SCHEMA_VERSION, **doc, "kinds": kinds})
        return
    counts = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
    stdout().print(f"imported {file} as {used}: {counts}; {added} added, {skipped} already stored")


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
    fleet: FleetOption = None,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """DORA's four keys and rework rate, both definitions, per team/service and per week."""
    with open_store(db, must_exist=True) as store:
        _dora(store, team, service, definition, window_hours, tz, fleet, json_out)


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
