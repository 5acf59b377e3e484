"""Findings from the team's process, each with the yearly cost of leaving it as it is.

The money is hours x a loaded hourly cost: no GPU-hours are involved
(``Cost.gpu_hours_per_year`` is 0). Every assumption travels with the finding in
``Cost.assumptions`` and can be overridden (``CostAssumptions``); the default hourly cost
is an assumption, not a market figure: pass your own.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from fleetwise.analyze.dora import DoraReport
from fleetwise.analyze.oncall import SRE_TOIL_LIMIT, OnCallConfig, OnCallReport
from fleetwise.analyze.pipeline_flow import PipelineReport
from fleetwise.models import Cost, Evidence, Finding, Severity

WEEKS_PER_YEAR = 365.25 / 7


@dataclass(frozen=True)
class CostAssumptions:
    #: Fully loaded cost of an engineer-hour (salary, benefits, overhead), USD: the fleet
    #: profile's (``FleetProfile.usd_per_engineer_hour``).
    loaded_usd_per_hour: float
    #: Share of a pipeline's waiting that blocks the developer who triggered it.
    blocked_fraction: float = 0.5
    #: People busy while a failed deployment is being recovered.
    responders_per_incident: int = 2
    #: Triage time of a flaky failure before the rerun, hours.
    flaky_triage_hours: float = 0.25


def _cost(hours: float, a: CostAssumptions, basis: str, **more: Any) -> Cost:
    return Cost(
        gpu_hours_per_year=0.0,
        usd_per_year=round(hours * a.loaded_usd_per_hour, 2),
        assumptions={
            "hours_saved_per_year": round(hours, 1),
            "loaded_usd_per_hour": a.loaded_usd_per_hour,
            "basis": basis,
            **more,
        },
    )


def _severity(usd: float) -> Severity:
    cuts = [(100_000, Severity.HIGH), (20_000, Severity.MEDIUM), (2_000, Severity.LOW)]
    return next((s for cut, s in cuts if usd >= cut), Severity.INFO)


def pipeline_findings(
    r: PipelineReport, a: CostAssumptions, source: str = "store:pipeline"
) -> list[Finding]:
    out: list[Finding] = []
    stage = next((s for s in r.stages if s.stage == r.bottleneck), None)
    if stage is not None and r.median_end_to_end_s:
        hours = r.pipelines_per_year * stage.median_wait_s / 3600 * a.blocked_fraction
        cost = _cost(
            hours,
            a,
            "pipelines/yr x median queue wait of the bottleneck stage x blocked fraction "
            "(the wait removed, e.g. by more runners)",
            pipelines_per_year=round(r.pipelines_per_year, 1),
            blocked_fraction=a.blocked_fraction,
        )
        out.append(
            Finding(
                kind="delivery.pipeline_bottleneck",
                layer="delivery",
                title=f"Stage {stage.stage!r} takes {stage.share:.0%} of the median pipeline",
                detail=(
                    f"waits {stage.median_wait_s / 60:.1f} min and runs "
                    f"{stage.median_active_s / 60:.1f} min (median) of a "
                    f"{r.median_end_to_end_s / 60:.1f} min pipeline; Little's law "
                    + ("confirms it" if r.bottleneck_confirmed else "does not confirm it")
                ),
                severity=_severity(cost.usd_per_year),
                evidence=[
                    Evidence(
                        label="share of end-to-end", value=round(stage.share, 3), source=source
                    ),
                    Evidence(
                        label="median wait",
                        value=round(stage.median_wait_s, 1),
                        unit="s",
                        source=source,
                    ),
                    Evidence(
                        label="flow efficiency",
                        value=round(r.flow_efficiency or 0, 3),
                        source=source,
                    ),
                    Evidence(
                        label="work in progress (Little)", value=round(stage.wip, 2), source=source
                    ),
                ],
                cost=cost,
                recommendations=[
                    f"Add capacity or cache for {stage.stage!r}; track its wait per week.",
                ],
            )
        )
    for s in r.flakiest[:3]:
        reruns = s.flaky_rate * r.pipelines_per_year
        hours = reruns * (
            (s.median_wait_s + s.median_active_s) / 3600 * a.blocked_fraction + a.flaky_triage_hours
        )
        cost = _cost(
            hours,
            a,
            "flaky reruns/yr x (rerun wait and run x blocked fraction + triage)",
            reruns_per_year=round(reruns, 1),
            flaky_triage_hours=a.flaky_triage_hours,
        )
        out.append(
            Finding(
                kind="delivery.flaky_job",
                layer="delivery",
                title=f"Job {s.stage!r} passes on rerun in {s.flaky_rate:.0%} of pipelines",
                severity=_severity(cost.usd_per_year),
                evidence=[
                    Evidence(label="flaky pipelines", value=s.flaky_pipelines, source=source),
                    Evidence(label="failure rate", value=round(s.failure_rate, 3), source=source),
                ],
                cost=cost,
                recommendations=[f"Quarantine and fix the flaky tests in {s.stage!r}."],
            )
        )
    return out


def dora_findings(r: DoraReport, a: CostAssumptions, source: str = "store:dora") -> list[Finding]:
    m = r.overall
    out: list[Finding] = []
    if m.change_failure_rate and m.recovery_time_hours and m.deploys_per_week:
        failed_per_year = m.deploys_per_week * WEEKS_PER_YEAR * m.change_failure_rate
        hours = failed_per_year * m.recovery_time_hours * a.responders_per_incident
        # Only part of a recovery is hands-on; halving failures is the target measured.
        hours *= 0.5
        cost = _cost(
            hours,
            a,
            "failed deployments/yr x median recovery time x responders x 0.5 (failures "
            "halved by better pre-deploy checks)",
            failed_deployments_per_year=round(failed_per_year, 1),
            responders_per_incident=a.responders_per_incident,
        )
        out.append(
            Finding(
                kind="delivery.change_failure",
                layer="delivery",
                title=(
                    f"{m.change_failure_rate:.1%} of deployments fail "
                    f"(DORA {r.bands_year}: {m.bands.get('change_failure_rate', '?')})"
                ),
                detail=f"median recovery {m.recovery_time_hours:.1f} h ({m.definition} definition)",
                severity=_severity(cost.usd_per_year),
                evidence=[
                    Evidence(
                        label="change failure rate",
                        value=round(m.change_failure_rate, 4),
                        source=source,
                    ),
                    Evidence(label="failed deployments", value=m.failed_deployments, source=source),
                    Evidence(
                        label="recovery time",
                        value=round(m.recovery_time_hours, 2),
                        unit="h",
                        source=source,
                    ),
                ],
                cost=cost,
                recommendations=["Add canary or staged rollout; review the root causes."],
            )
        )
    if m.lead_time_hours is not None and m.bands.get("lead_time_hours") in {"medium", "low"}:
        out.append(
            Finding(
                kind="delivery.lead_time",
                layer="delivery",
                title=(
                    f"Median lead time for changes is {m.lead_time_hours / 24:.1f} days "
                    f"(DORA {r.bands_year}: {m.bands['lead_time_hours']})"
                ),
                detail="changes wait for a deployment; smaller, more frequent releases shorten it",
                severity=Severity.MEDIUM
                if m.bands["lead_time_hours"] == "medium"
                else Severity.HIGH,
                evidence=[
                    Evidence(
                        label="lead time",
                        value=round(m.lead_time_hours, 2),
                        unit="h",
                        source=source,
                    )
                ],
                recommendations=["Deploy each merged change; cut batch size."],
            )
        )
    return out


def oncall_findings(
    r: OnCallReport,
    cfg: OnCallConfig,
    a: CostAssumptions,
    source: str = "store:oncall",
) -> list[Finding]:
    out: list[Finding] = []
    if not r.pages:
        return out
    per_page_year = r.pages_per_year / r.pages
    for alert in r.noisiest:
        if alert.actionable_ratio >= 0.5 or alert.pages < 2:
            continue
        noise_per_year = alert.pages * (1 - alert.actionable_ratio) * per_page_year
        cost = _cost(
            noise_per_year * cfg.interrupt_minutes / 60,
            a,
            "non-actionable pages/yr x interruption cost",
            interrupt_minutes=cfg.interrupt_minutes,
        )
        out.append(
            Finding(
                kind="on-call.noisy_alert",
                layer="on-call",
                title=f"Alert {alert.title!r} pages {alert.pages} times, "
                f"{1 - alert.actionable_ratio:.0%} needing nobody",
                severity=_severity(cost.usd_per_year),
                evidence=[
                    Evidence(label="pages", value=alert.pages, source=source),
                    Evidence(
                        label="actionable ratio",
                        value=round(alert.actionable_ratio, 3),
                        source=source,
                    ),
                    Evidence(label="after hours", value=alert.after_hours, source=source),
                ],
                cost=cost,
                recommendations=["Tune or delete the alert; page on symptoms, not causes."],
            )
        )
    if r.toil_share is not None and r.toil_share > SRE_TOIL_LIMIT:
        excess = (r.toil_hours - SRE_TOIL_LIMIT * r.oncall_hours) * per_page_year
        cost = _cost(excess, a, "toil hours above the 50% SRE limit, per year")
        out.append(
            Finding(
                kind="on-call.toil",
                layer="on-call",
                title=f"Estimated toil is {r.toil_share:.0%} of on-call time (SRE limit 50%)",
                severity=Severity.HIGH,
                evidence=[
                    Evidence(label="toil share", value=round(r.toil_share, 3), source=source)
                ],
                cost=cost,
                recommendations=["Automate the top manual responses; fix noisy alerts first."],
            )
        )
    if r.shifts_over_limit:
        hours = r.pages_over_limit * per_page_year * cfg.interrupt_minutes / 60
        out.append(
            Finding(
                kind="on-call.shift_overload",
                layer="on-call",
                title=(
                    f"{r.shifts_over_limit} of {r.shifts} shifts had more than "
                    f"{r.max_pages_per_shift_limit:g} pages (SRE: at most 2 per 12 h)"
                ),
                detail=f"{r.sleep_hours} pages in sleep hours, {r.after_hours} after hours",
                severity=Severity.MEDIUM,
                evidence=[
                    Evidence(
                        label="max pages in a shift", value=r.max_pages_per_shift, source=source
                    ),
                    Evidence(label="sleep-hour pages", value=r.sleep_hours, source=source),
                ],
                cost=_cost(hours, a, "pages beyond the shift limit/yr x interruption cost"),
                recommendations=[
                    "Split the rotation or add a secondary; route low urgency to tickets."
                ],
            )
        )
    return out


def to_doc(obj: Any) -> Any:
    """A dataclass report as JSON-ready data (dates as ISO text)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        doc = {f.name: to_doc(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
        for name in ("share", "ratio"):
            if hasattr(obj, name) and name not in doc:
                doc[name] = getattr(obj, name)
        return doc
    if isinstance(obj, dict):
        return {str(k): to_doc(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_doc(v) for v in obj]
    if isinstance(obj, datetime | date):
        return obj.isoformat()
    return obj
