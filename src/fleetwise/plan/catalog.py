"""The catalog of candidate actions per finding kind, and actions seeded from findings.

The catalog (``plan/data/actions_catalog.yaml``) says, for each finding kind, what is
usually done about it, what share of the finding's yearly cost that typically wins back
(low / typical / high, each with its source), how long it takes and how sure we are. A
seeded action's savings are the finding's cost x the typical share; the range travels in
its description so a reader sees how wide the estimate is.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from fleetwise.models import KPI, Action, Finding, KPIEffect
from fleetwise.plan import yamlfile


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Range(_Strict):
    low: float
    typical: float
    high: float

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if not (min(self.low, self.high) <= self.typical <= max(self.low, self.high)):
            raise ValueError("typical must lie between low and high")
        return self


class CandidateAction(_Strict):
    key: str
    title: str
    description: str = ""
    recovers: Range
    metric_change: Range | None = None
    effort_days: float = Field(gt=0)
    one_time_cost_usd: float = Field(default=0.0, ge=0)
    confidence: float = Field(ge=0, le=1)
    time_criticality: int = Field(ge=1, le=20)
    risk_reduction: int = Field(ge=1, le=20)
    impact: float = Field(ge=0, le=3)
    source: str
    kpi_sources: list[str] = Field(default_factory=list)


class Catalog(_Strict):
    schema_version: int = 1
    as_of: str
    kinds: dict[str, list[CandidateAction]]


CATALOG_FILE = "actions_catalog.yaml"


def load_catalog(path: Path | None = None) -> Catalog:
    """The built-in catalog, or another file of the same shape."""
    if path is None:
        return _builtin()
    return yamlfile.read(path, "catalog").validate(Catalog)


@cache
def _builtin() -> Catalog:
    path = Path(str(resources.files("fleetwise.plan") / "data" / CATALOG_FILE))
    return yamlfile.read(path, "catalog").validate(Catalog)


def _reach(finding: Finding) -> float | None:
    fleet = (finding.cost.assumptions if finding.cost else {}).get("fleet_gpus")
    return float(fleet) if isinstance(fleet, int | float) else None


def actions_for_finding(
    finding: Finding, kpis: Sequence[KPI] = (), catalog: Catalog | None = None
) -> list[Action]:
    """Candidate actions for one finding (none when the catalog does not know its kind).

    Reach (RICE) is the fleet the finding's cost was computed for; effects go to every
    KPI whose source the catalog entry names.
    """
    cat = catalog or load_catalog()
    out: list[Action] = []
    usd = finding.cost.usd_per_year if finding.cost else 0.0
    for cand in cat.kinds.get(finding.kind, []):
        effects = []
        if cand.metric_change is not None:
            effects = [
                KPIEffect(kpi=k.name, change=cand.metric_change.typical)
                for k in kpis
                if any(k.source.startswith(src) for src in cand.kpi_sources)
            ]
        r = cand.recovers
        detail = (
            f"{cand.description} Recovers {r.low:.0%}-{r.high:.0%} (typically {r.typical:.0%}) "
            f"of the finding's ${usd:,.0f}/yr. Source: {cand.source}."
        )
        out.append(
            Action(
                title=cand.title,
                description=detail.strip(),
                finding_kind=finding.kind,
                finding_ids=[finding.id] if finding.id is not None else [],
                effects=effects,
                savings_usd_per_year=round(max(usd, 0.0) * r.typical, 2),
                recovers=r.typical,
                one_time_cost_usd=cand.one_time_cost_usd,
                effort_days=cand.effort_days,
                confidence=cand.confidence,
                time_criticality=cand.time_criticality,
                risk_reduction=cand.risk_reduction,
                reach=_reach(finding),
                impact=cand.impact,
                source=f"finding:{finding.id}" if finding.id is not None else "finding",
            )
        )
    return out


def seed_actions(
    findings: Sequence[Finding],
    existing: Sequence[Action] = (),
    kpis: Sequence[KPI] = (),
    catalog: Catalog | None = None,
) -> tuple[list[Action], list[Finding]]:
    """New actions for findings no existing action links to, and the findings the catalog
    has nothing for (so a caller can say which kinds need a hand-written action).

    One catalog action answering several findings of a kind (the same fix for four unstable
    results) becomes one action linked to all of them, with the largest of their savings:
    each finding's cost assumes the whole fleet runs its case, so adding them would count
    the same GPU-hours more than once.
    """
    linked = {fid for a in existing for fid in a.finding_ids}
    merged: dict[tuple[str, str], Action] = {}
    unknown: list[Finding] = []
    for f in findings:
        if f.id is not None and f.id in linked:
            continue
        candidates = actions_for_finding(f, kpis, catalog)
        if not candidates:
            unknown.append(f)
        for a in candidates:
            key = (a.finding_kind, a.title)
            first = merged.get(key)
            if first is None:
                merged[key] = a
                continue
            best = a if a.savings_usd_per_year > first.savings_usd_per_year else first
            merged[key] = best.model_copy(
                update={
                    "finding_ids": [*first.finding_ids, *a.finding_ids],
                    "reach": max(
                        (x.reach for x in (a, first) if x.reach is not None), default=None
                    ),
                    "source": first.source,
                }
            )
    return list(merged.values()), unknown
