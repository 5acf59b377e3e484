"""``fleetwise plan ...``: the backlog (seed, add, import, list, rank, show, update, schedule,
decisions, remove)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.table import Table

from fleetwise.checked import Day, EffortDays, Id, Impact, Money, Reach, Share
from fleetwise.errors import InputError
from fleetwise.models import Action, ActionStatus, KPIEffect
from fleetwise.plan.backlog import load_actions, parse_effect
from fleetwise.plan.decisions import decision_log
from fleetwise.plan.experiments import predicted_vs_measured
from fleetwise.plan.rollout import ScheduledItem, schedule
from fleetwise.plan.scoring import (
    Assumptions,
    Ranked,
    ScoreName,
    Scores,
    rank,
    score,
)
from fleetwise.present.cli.common import (
    DbOption,
    FleetOption,
    JsonOption,
    checked,
    open_store,
    print_json,
    stdout,
)
from fleetwise.present.cli.decide import log_table
from fleetwise.present.cli.removal import ByOption, WhyOption, show_removal, who
from fleetwise.usecases.fleet import profile_for
from fleetwise.usecases.plan import backlog, seed_backlog

app = typer.Typer(
    help="The optimization backlog: actions, scores, ranking, rollout.", no_args_is_help=True
)


class ByOpt(StrEnum):
    roi = "roi"
    npv = "npv"
    payback = "payback"
    wsjf = "wsjf"
    rice = "rice"


_BY: dict[ByOpt, ScoreName] = {
    ByOpt.roi: "roi",
    ByOpt.npv: "npv",
    ByOpt.payback: "payback",
    ByOpt.wsjf: "wsjf",
    ByOpt.rice: "rice",
}


def _money(x: float | None) -> str:
    return "-" if x is None else f"${x:,.0f}"


def _num(x: float | None, fmt: str = ".2f") -> str:
    return "-" if x is None else format(x, fmt)


def action_doc(a: Action, s: Scores | None = None) -> dict[str, Any]:
    doc = a.model_dump(mode="json")
    if s is not None:
        doc["scores"] = asdict(s)
    return doc


def _actions_table(actions: list[Action], title: str) -> Table:
    t = Table(title=title, title_justify="left")
    for col in ("id", "title", "status", "owner", "savings/yr", "one-time", "effort d", "conf."):
        t.add_column(col, justify="right" if col not in ("title", "status", "owner") else "left")
    for a in actions:
        t.add_row(
            str(a.id),
            a.title,
            a.status.value,
            a.owner or "-",
            _money(a.savings_usd_per_year),
            _money(a.one_time_cost_usd),
            f"{a.effort_days:g}",
            f"{a.confidence:.0%}",
        )
    return t


ActionId = Annotated[int, typer.Argument(help="Action id.", callback=checked(Id))]
DependsOn = Annotated[
    list[int] | None, typer.Option(help="Action id it waits for.", callback=checked(Id))
]


@app.command("seed")
def seed_cmd(
    run: Annotated[
        int | None, typer.Option(help="First diagnose benchmark run RUN.", callback=checked(Id))
    ] = None,
    fleet: FleetOption = None,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Create actions from the current findings with the catalog (benchmark findings of
    --run first; a run already diagnosed is not diagnosed again). An action already seeded
    for the same kind is updated, never added twice; savings come from the findings' claims
    on the fleet ledger."""
    profile = profile_for(fleet)
    with open_store(db) as store:
        if run is not None:
            store.get_run(run)  # an unknown run is one line, before anything is written
        seeded = seed_backlog(store, profile, run)
        created, unknown = seeded.created, seeded.unknown
        if json_out:
            print_json(
                {
                    "schema_version": 1,
                    "created": [action_doc(a) for a in created],
                    "updated": [action_doc(a) for a in seeded.updated],
                    "findings_without_catalog_entry": [f.model_dump(mode="json") for f in unknown],
                }
            )
            return
        out = stdout()
        out.print(_actions_table(created, f"{len(created)} actions seeded from findings"))
        if seeded.updated:
            out.print(_actions_table(seeded.updated, f"{len(seeded.updated)} actions updated"))
        for f in unknown:
            out.print(f"no catalog entry for finding {f.id} ({f.kind}): add an action by hand")


@app.command("add")
def add_cmd(
    title: Annotated[str, typer.Option(help="What to do.")],
    savings: Annotated[
        float, typer.Option(help="Expected savings, USD per year.", callback=checked(Money))
    ] = 0.0,
    one_time_cost: Annotated[
        float, typer.Option(help="One-time cost besides effort, USD.", callback=checked(Money))
    ] = 0.0,
    effort: Annotated[
        float, typer.Option(help="Effort in person-days.", callback=checked(EffortDays))
    ] = 1.0,
    confidence: Annotated[
        float, typer.Option(help="Confidence 0..1.", callback=checked(Share))
    ] = 0.5,
    owner: Annotated[str, typer.Option(help="Who owns it.")] = "",
    effect: Annotated[list[str] | None, typer.Option(help="KPI=CHANGE, e.g. lat=-10%.")] = None,
    depends_on: DependsOn = None,
    reach: Annotated[
        float | None,
        typer.Option(help="RICE reach (GPUs/people per quarter).", callback=checked(Reach)),
    ] = None,
    impact: Annotated[
        float | None, typer.Option(help="RICE impact 0.25..3.", callback=checked(Impact))
    ] = None,
    description: Annotated[str, typer.Option(help="Longer description.")] = "",
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Add one action by hand."""
    with open_store(db) as store:
        kpis = {k.name for k in store.kpis()}
        effects = [
            KPIEffect(kpi=k, change=c) for k, c in (parse_effect(e, kpis) for e in effect or [])
        ]
        known = {a.id for a in store.actions()}
        for dep in depends_on or []:
            if dep not in known:
                raise InputError(f"--depends-on {dep}: no such action")
        try:
            action = Action(
                title=title,
                description=description,
                savings_usd_per_year=savings,
                one_time_cost_usd=one_time_cost,
                effort_days=effort,
                confidence=confidence,
                owner=owner,
                effects=effects,
                depends_on=list(depends_on or []),
                reach=reach,
                impact=impact,
                source="cli",
            )
        except ValidationError as exc:
            first = exc.errors()[0]
            raise InputError(f"--{'-'.join(str(p) for p in first['loc'])}: {first['msg']}") from exc
        (new_id,) = store.add_actions([action])
        _show(store.get_action(new_id), json_out)


@app.command("import")
def import_cmd(
    file: Annotated[Path, typer.Argument(help="Actions YAML file.")],
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Add the actions of a YAML file (all or nothing)."""
    with open_store(db) as store:
        new = load_actions(
            file,
            known_kpis={k.name for k in store.kpis()},
            known_ids={a.id for a in store.actions() if a.id is not None},
        )
        ids = store.add_actions(new.actions, new.local_deps)
        created = [store.get_action(i) for i in ids]
        if json_out:
            print_json({"schema_version": 1, "created": [action_doc(a) for a in created]})
            return
        stdout().print(_actions_table(created, f"{len(created)} actions imported from {file}"))


@app.command("list")
def list_cmd(
    status: Annotated[ActionStatus | None, typer.Option(help="Only this status.")] = None,
    fleet: FleetOption = None,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """List the backlog (a seeded action's savings drawn from the fleet ledger)."""
    profile = profile_for(fleet)
    with open_store(db, must_exist=True) as store:
        actions = backlog(store, profile, status.value if status else None)
        if json_out:
            print_json({"schema_version": 1, "actions": [action_doc(a) for a in actions]})
            return
        stdout().print(_actions_table(actions, f"backlog: {len(actions)} actions"))


def rank_table(ranked: list[Ranked], by: str, a: Assumptions) -> Table:
    t = Table(
        title=f"backlog ranked by {by} ({a.horizon_years} y, {a.discount_rate:.0%} "
        f"discount, ${a.usd_per_person_day:,.0f}/person-day)",
        title_justify="left",
    )
    for col in ("#", "id", "title", "status", "ROI", "NPV", "payback mo", "WSJF", "RICE", "tie"):
        t.add_column(col, justify="left" if col in ("title", "status", "tie") else "right")
    for r in ranked:
        s = r.scores
        t.add_row(
            str(r.position),
            str(r.action.id),
            r.action.title,
            r.action.status.value,
            _num(s.roi),
            _money(s.npv),
            _num(s.payback_months, ".1f"),
            _num(s.wsjf),
            _num(s.rice, ".1f"),
            r.tie,
        )
    return t


@app.command("rank")
def rank_cmd(
    by: Annotated[ByOpt, typer.Option(help="Score to rank by.")] = ByOpt.roi,
    status: Annotated[ActionStatus | None, typer.Option(help="Only this status.")] = None,
    fleet: FleetOption = None,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Rank actions by ROI, NPV, payback, WSJF or RICE; ties are explained. Horizon,
    discount rate and person-day cost come from the fleet profile; a seeded action's
    savings are drawn from its findings' claims on the fleet ledger."""
    profile = profile_for(fleet)
    a = Assumptions.of(profile)
    with open_store(db, must_exist=True) as store:
        actions = backlog(store, profile, status.value if status else None)
        ranked = rank(actions, _BY[by], a)
        if json_out:
            print_json(
                {
                    "schema_version": 1,
                    "by": by.value,
                    "assumptions": asdict(a),
                    "ranking": [
                        {"position": r.position, "tie": r.tie, **action_doc(r.action, r.scores)}
                        for r in ranked
                    ],
                }
            )
            return
        stdout().print(rank_table(ranked, by.value, a))


def _show(a: Action, json_out: bool, extra: dict[str, Any] | None = None) -> None:
    s = score(a)
    if json_out:
        print_json({"schema_version": 1, **action_doc(a, s), **(extra or {})})
        return
    out = stdout()
    out.print(f"action {a.id}: {a.title} [{a.status.value}]  owner: {a.owner or '-'}")
    if a.description:
        out.print(f"  {a.description}")
    out.print(
        f"  savings {_money(a.savings_usd_per_year)}/yr x confidence {a.confidence:.0%}; "
        f"investment {_money(s.investment_usd)} ({a.effort_days:g} person-days + "
        f"{_money(a.one_time_cost_usd)})"
    )
    out.print(
        f"  ROI {_num(s.roi)}  NPV {_money(s.npv)}  payback {_num(s.payback_months, '.1f')}"
        f" months  WSJF {s.wsjf:.2f} (CoD {s.cost_of_delay} / size {s.job_size})  "
        f"RICE {s.rice:.1f}"
    )
    for note in s.derived:
        out.print(f"  note: {note}")
    for e in a.effects:
        out.print(f"  expects {e.kpi} {e.change:+.0%}")
    if a.depends_on:
        out.print("  waits for " + ", ".join(f"#{d}" for d in a.depends_on))
    for d in (extra or {}).get("decisions", []):
        out.print(f"  {d['decided_at'][:16]} {d['decision']} by {d['by']}: {d['note']}")
    for p in (extra or {}).get("experiments", []):
        for row in p["predicted_vs_measured"]:
            out.print(
                f"  experiment {p['id']} {row['variant']}: predicted "
                f"{_money(row['predicted_usd_per_year'])}/yr, measured "
                f"{_money(row['measured_usd_per_year'])}/yr ({row['verdict']})"
            )


@app.command("show")
def show_cmd(
    action_id: ActionId,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """One action: scores, decisions, experiments (predicted vs measured)."""
    with open_store(db, must_exist=True) as store:
        a = store.get_action(action_id)
        log = decision_log(store.decisions(action_id), [a])
        exps = store.experiments(action_id)
        extra = {
            "decisions": [e.decision.model_dump(mode="json") for e in log],
            "experiments": [
                {
                    "id": e.id,
                    "name": e.name,
                    "status": e.status,
                    "predicted_vs_measured": predicted_vs_measured(a, e),
                }
                for e in exps
            ],
        }
        _show(a, json_out, extra)


@app.command("update")
def update_cmd(
    action_id: ActionId,
    status: Annotated[ActionStatus | None, typer.Option(help="New status.")] = None,
    owner: Annotated[str | None, typer.Option(help="New owner.")] = None,
    start: Annotated[
        date | None, typer.Option(help="Planned start, YYYY-MM-DD.", callback=checked(Day))
    ] = None,
    end: Annotated[
        date | None, typer.Option(help="Planned end, YYYY-MM-DD.", callback=checked(Day))
    ] = None,
    depends_on: DependsOn = None,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Change an action's status, owner, dates or dependencies."""
    with open_store(db, must_exist=True) as store:
        a = store.get_action(action_id)
        changes: dict[str, Any] = {}
        if status is not None:
            changes["status"] = status
        if owner is not None:
            changes["owner"] = owner
        if start is not None:
            changes["start"] = start
        if end is not None:
            changes["end"] = end
        first, last = changes.get("start", a.start), changes.get("end", a.end)
        if first is not None and last is not None and last < first:
            raise InputError(f"--end {last} is before the start {first}")
        if depends_on:
            known = {x.id for x in store.actions()}
            bad = [d for d in depends_on if d not in known or d == action_id]
            if bad:
                raise InputError(f"--depends-on {bad[0]}: no such other action")
            changes["depends_on"] = list(dict.fromkeys([*a.depends_on, *depends_on]))
        store.update_action(a.model_copy(update=changes))
        _show(store.get_action(action_id), json_out)


def item_doc(it: ScheduledItem) -> dict[str, Any]:
    return {
        "id": it.action.id,
        "title": it.action.title,
        "owner": it.action.owner,
        "status": it.action.status.value,
        "start": it.start,
        "end": it.end,
        "working_days": it.working_days,
        "milestone": it.milestone,
        "waits_for": it.waits_for,
        "notes": it.notes,
    }


@app.command("schedule")
def schedule_cmd(
    start: Annotated[
        date | None, typer.Option(help="Plan start (default: today).", callback=checked(Day))
    ] = None,
    today: Annotated[
        date | None,
        typer.Option(help="Date to track against (default: today).", callback=checked(Day)),
    ] = None,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """The rollout timeline of approved work: dates, dependencies, milestones vs today."""
    day = today or datetime.now(UTC).date()
    begin = start or day
    with open_store(db, must_exist=True) as store:
        items = schedule(store.actions(), begin, day)
        if json_out:
            print_json(
                {
                    "schema_version": 1,
                    "start": begin,
                    "today": day,
                    "timeline": [item_doc(i) for i in items],
                }
            )
            return
        t = Table(title=f"rollout from {begin} (today {day})", title_justify="left")
        for col in (
            "id",
            "title",
            "owner",
            "start",
            "end",
            "days",
            "milestone",
            "waits for",
            "notes",
        ):
            t.add_column(col)
        for it in items:
            t.add_row(
                str(it.action.id),
                it.action.title,
                it.action.owner or "-",
                str(it.start or "-"),
                str(it.end or "-"),
                str(it.working_days),
                it.milestone,
                ", ".join(f"#{d}" for d in it.waits_for) or "-",
                "; ".join(it.notes),
            )
        stdout().print(t)


@app.command("decisions")
def decisions_cmd(db: DbOption = None, json_out: JsonOption = False) -> None:
    """The decision log: who approved, rejected, deferred or removed what, when and why."""
    log_table(db, json_out)


@app.command("remove")
def remove_cmd(
    action_id: ActionId,
    why: WhyOption = "",
    by: ByOption = None,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Remove an action from the backlog; the decision log keeps who, when and why."""
    with open_store(db, must_exist=True) as store:
        show_removal(store.remove_action(action_id, by=who(by), why=why), json_out)
