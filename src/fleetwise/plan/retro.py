"""Retrospectives and the improvement report: each sprint's actions and their KPIs, before
and after.

A retrospective file::

    schema_version: 1
    date: 2026-11-27
    team: training-infra
    sprint: "2026-S23"
    went_well: [...]
    to_improve: [...]
    actions:            # entries as in an actions file; they join the backlog
      - title: ...
        effects: [{kpi: loader-throughput, change: 0.3}]

The report reads each KPI an action names (its effects) before and after the sprint: the
last reading on or before the retrospective's date, and the last reading before the team's
next retrospective (or the latest one when there is none yet).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from fleetwise.checked import Day
from fleetwise.models import KPI, Action, Retrospective
from fleetwise.plan import yamlfile
from fleetwise.plan.backlog import NewActions, parse_entries
from fleetwise.plan.kpis import Reading


class _RetroFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schema_version: int = 1
    date: Day
    team: str = Field(min_length=1)
    sprint: str = ""
    went_well: list[str] = Field(default_factory=list)
    to_improve: list[str] = Field(default_factory=list)
    actions: list[Any] = Field(default_factory=list)


def load_retro(
    path: Path, *, known_kpis: Collection[str], known_ids: Collection[int]
) -> tuple[Retrospective, NewActions]:
    """Read and check a retrospective file and its actions (nothing is stored here)."""
    doc = yamlfile.read(path, "retrospective")
    parsed = doc.validate(_RetroFile)
    new = parse_entries(
        doc,
        parsed.actions,
        ["actions"],
        source=f"yaml:{path.name}",
        known_kpis=known_kpis,
        known_ids=known_ids,
    )
    retro = Retrospective(
        date=parsed.date,
        team=parsed.team,
        sprint=parsed.sprint,
        went_well=parsed.went_well,
        to_improve=parsed.to_improve,
    )
    return retro, new


@dataclass(frozen=True)
class ImprovementRow:
    retro: Retrospective
    action: Action
    kpi: str
    expected_change: float
    before: float | None
    after: float | None
    before_ref: str = ""
    after_ref: str = ""

    @property
    def change(self) -> float | None:
        if self.before is None or self.after is None or self.before == 0:
            return None
        return self.after / self.before - 1


def _at_or_before(found: Sequence[Reading], when: datetime) -> Reading | None:
    upto = [r for r in found if r.time <= when]
    return upto[-1] if upto else None


def improvement_report(
    retros: Sequence[Retrospective],
    actions: Sequence[Action],
    kpis: Sequence[KPI],
    readings: Mapping[str, Sequence[Reading]],
) -> list[ImprovementRow]:
    """One row per (retrospective, action, KPI it expects to move), sprints oldest first."""
    by_id = {a.id: a for a in actions}
    names = {k.name for k in kpis}
    ordered = sorted(retros, key=lambda r: (r.date, r.id or 0))
    out: list[ImprovementRow] = []
    for i, retro in enumerate(ordered):
        start = datetime.combine(retro.date, time(23, 59, 59), UTC)
        nxt = next((r for r in ordered[i + 1 :] if r.team == retro.team), None)
        end = datetime.combine(nxt.date, time(), UTC) if nxt else datetime.max.replace(tzinfo=UTC)
        for aid in retro.action_ids:
            action = by_id.get(aid)
            if action is None:
                continue
            for eff in action.effects:
                if eff.kpi not in names:
                    continue
                found = readings.get(eff.kpi, [])
                before = _at_or_before(found, start)
                after_r = _at_or_before(found, end)
                after = after_r if after_r is not None and after_r.time > start else None
                out.append(
                    ImprovementRow(
                        retro=retro,
                        action=action,
                        kpi=eff.kpi,
                        expected_change=eff.change,
                        before=before.value if before else None,
                        after=after.value if after else None,
                        before_ref=before.ref if before else "",
                        after_ref=after.ref if after else "",
                    )
                )
    return out
