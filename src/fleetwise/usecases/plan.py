"""The backlog on the ledger: seeding actions from current findings (idempotently) and the
savings they may promise, drawn from their findings' bounded claims."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from fleetwise.models import Action, ActionStatus, Finding
from fleetwise.plan.catalog import seed_actions
from fleetwise.plan.claims import ClaimSet
from fleetwise.plan.fleet import FleetProfile
from fleetwise.plan.scoring import Assumptions, Ranked, ScoreName, rank
from fleetwise.store import Store
from fleetwise.usecases.diagnose import diagnose_run
from fleetwise.usecases.ledger import LedgerView, current_findings, ledger_for

OPEN = (ActionStatus.PROPOSED, ActionStatus.APPROVED, ActionStatus.IN_PROGRESS)


def backed(action: Action, claims: ClaimSet) -> Action:
    """The action with its savings drawn from its findings' claims (x the share it
    typically recovers) when it was seeded from findings; a hand-written action as it is."""
    if action.recovers is None:
        return action
    found = [c for c in (claims.of(fid) for fid in action.finding_ids) if c is not None]
    usd = math.fsum(c.usd for c in found)
    update: dict[str, object] = {"savings_usd_per_year": round(usd * action.recovers, 2)}
    gpus = max((c.gpus for c in found), default=0.0)
    if gpus > 0:
        update["reach"] = gpus  # RICE reach: the GPUs its findings' claims speak for
    return action.model_copy(update=update)


@dataclass(frozen=True)
class Recoverable:
    """What the open backlog may promise: ledger-backed savings (actions on one claim
    combined as 1 - prod(1 - recovers)), and hand-written savings the ledger does not back."""

    ledger_backed_usd: float
    #: The same with each action's recovered share times its confidence.
    risk_adjusted_usd: float
    hand_written_usd: float
    actions: int
    one_time_usd: float
    effort_days: float


def recoverable(actions: Sequence[Action], claims: ClaimSet) -> Recoverable:
    open_ = [a for a in actions if a.status in OPEN]
    keep: dict[int, float] = {}
    sure: dict[int, float] = {}
    for a in open_:
        if a.recovers is None:
            continue
        for fid in a.finding_ids:
            keep[fid] = 1 - (1 - keep.get(fid, 0.0)) * (1 - a.recovers)
            sure[fid] = 1 - (1 - sure.get(fid, 0.0)) * (1 - a.recovers * a.confidence)
    backed_usd = adjusted = 0.0
    for fid, share in keep.items():
        c = claims.of(fid)
        if c is not None:
            backed_usd += c.usd * share
            adjusted += c.usd * sure[fid]
    return Recoverable(
        ledger_backed_usd=backed_usd,
        risk_adjusted_usd=adjusted,
        hand_written_usd=math.fsum(a.savings_usd_per_year for a in open_ if a.recovers is None),
        actions=len(open_),
        one_time_usd=math.fsum(a.one_time_cost_usd for a in open_),
        effort_days=math.fsum(a.effort_days for a in open_),
    )


@dataclass
class Seeded:
    created: list[Action]
    updated: list[Action]
    unknown: list[Finding]


def seed_backlog(store: Store, profile: FleetProfile, run: int | None = None) -> Seeded:
    """Diagnose benchmark run ``run`` once, then create catalog actions for the current
    findings. An action the catalog already seeded for the same kind (same title) is
    updated, relinked to the current findings, never added twice; its status stays."""
    if run is not None:
        diagnose_run(store, run, profile)
    findings = current_findings(store.analyses())
    candidates, unknown = seed_actions(findings, (), store.kpis())
    view = ledger_for(store, profile)
    current_ids = {f.id for f in findings}
    existing = {
        (a.finding_kind, a.title): a
        for a in store.actions()
        if a.recovers is not None or a.source.startswith("finding")
    }
    new: list[Action] = []
    updated: list[Action] = []
    for cand in candidates:
        cand = backed(cand, view.claims)
        old = existing.get((cand.finding_kind, cand.title))
        if old is None:
            new.append(cand)
            continue
        keep_ids = [i for i in old.finding_ids if i in current_ids]
        ids = sorted(set(keep_ids) | set(cand.finding_ids))
        merged = backed(
            old.model_copy(
                update={
                    "finding_ids": ids,
                    "recovers": cand.recovers,
                    "description": cand.description,
                    "reach": cand.reach,
                }
            ),
            view.claims,
        )
        if merged != old:
            store.update_action(merged)
            updated.append(merged)
    ids = store.add_actions(new) if new else []
    return Seeded([store.get_action(i) for i in ids], updated, unknown)


def backlog(store: Store, profile: FleetProfile, status: str | None = None) -> list[Action]:
    """The stored actions (of ``status``), seeded ones with their ledger-backed savings."""
    claims = ledger_for(store, profile).claims
    return [backed(a, claims) for a in store.actions(status)]


@dataclass
class PlanTotals:
    """The ledger, the backlog drawn from it and what it may promise: the one source of
    the briefing's and the dashboard's totals."""

    view: LedgerView
    actions: list[Action]
    ranked_open: list[Ranked]
    recoverable: Recoverable
    assumptions: Assumptions


def plan_totals(
    store: Store, profile: FleetProfile, by: ScoreName = "npv", view: LedgerView | None = None
) -> PlanTotals:
    """The totals of ``store``; ``view`` is its ledger when the caller already has it (a
    cache of the dashboard: the ledger changes with jobs, nodes and analyses only)."""
    view = view or ledger_for(store, profile)
    actions = [backed(a, view.claims) for a in store.actions()]
    a = Assumptions.of(profile)
    return PlanTotals(
        view=view,
        actions=actions,
        ranked_open=rank([x for x in actions if x.status in OPEN], by, a),
        recoverable=recoverable(actions, view.claims),
        assumptions=a,
    )
