"""The stakeholder register, RACI, meetings and the communication plan: parsing and rules
(plan.alignment, plan.meetings, plan.comms) and the store round trip on both back-ends."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from fleetwise.errors import InputError
from fleetwise.models import Action, ActionStatus, DecisionKind, Raci, Stakeholder
from fleetwise.plan.alignment import load_register, quadrant, resolve_action, slug
from fleetwise.plan.comms import comms_plan
from fleetwise.plan.meetings import load_meeting
from fleetwise.plan.rollout import schedule
from fleetwise.store import Store
from fleetwise.usecases import alignment as uc

ROOT = Path(__file__).parents[2]
PEOPLE = ROOT / "examples" / "people"
RECLAIM = "Reclaim idle reserved GPUs (idle timeouts, shared pools)"
ALERTS = "Fix or delete the noisiest alerts (alert on symptoms, not causes)"


def _actions() -> list[Action]:
    titles = [RECLAIM, ALERTS, "Quarantine and fix flaky jobs", "Speed up the slowest stage"]
    return [Action(id=i + 1, title=t, effort_days=3) for i, t in enumerate(titles)]


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


REGISTER = """\
schema_version: 1
stakeholders:
  - {name: Ann, role: VP, influence: high, interest: high, stance: supportive}
  - {name: Bob, role: Finance, influence: 5, interest: medium}
  - {name: Cy, role: SRE, influence: medium, interest: 4, stance: opposed}
  - {name: Di, role: Eng, influence: low, interest: low}
raci:
  - action: reclaim_idle_gpus
    R: [Cy]
    A: Ann
    C: [Bob]
    I: Di
"""


def test_register_levels_grid_and_raci_by_catalog_key(tmp_path: Path) -> None:
    reg = load_register(_write(tmp_path, "r.yaml", REGISTER), _actions())
    grid = {p.name: quadrant(p) for p in reg.stakeholders}
    assert grid == {
        "Ann": "manage closely",
        "Bob": "keep satisfied",
        "Cy": "keep informed",
        "Di": "monitor",
    }
    assert [p.influence for p in reg.stakeholders] == [5, 5, 3, 1]
    (raci,) = reg.raci
    assert raci.action_id == 1 and raci.accountable == "Ann" and raci.informed == ("Di",)
    assert raci.roles_of("Cy") == "R"


def test_actions_are_named_by_title_slug_or_catalog_key() -> None:
    actions = _actions()
    for ref in (RECLAIM, RECLAIM.upper(), slug(RECLAIM), "reclaim_idle_gpus"):
        got = resolve_action(ref, actions)
        assert isinstance(got, Action) and got.title == RECLAIM, ref
    assert "no action" in str(resolve_action("warp drive", actions))
    twins = [*actions, Action(id=9, title=RECLAIM)]
    assert "matches 2 actions" in str(resolve_action(RECLAIM, twins))
    rejected = [*actions, Action(id=9, title=RECLAIM, status=ActionStatus.REJECTED)]
    assert resolve_action(RECLAIM, rejected) == actions[0]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("    A: Ann\n", "    A: [Ann, Bob]\n"),
        ("    I: Di\n", "    I: [Zed]\n"),
        ("  - action: reclaim_idle_gpus\n", "  - action: no such thing\n"),
        ("    C: [Bob]\n", "    C: [Bob]\n    Q: [Bob]\n"),
        ("    I: Di\n", "    I: [Cy]\n"),
        ("  - {name: Di,", "  - {name: Ann,"),
        ("influence: low", "influence: huge"),
    ],
)
def test_register_problems_name_the_file_and_line(
    tmp_path: Path, change: str, message: str
) -> None:
    path = _write(tmp_path, "bad.yaml", REGISTER.replace(change, message))
    with pytest.raises(InputError) as err:
        load_register(path, _actions())
    text = str(err.value)
    assert text.startswith(f"{path}:") and "\n" not in text


def test_two_accountable_is_refused_with_its_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "r.yaml", REGISTER.replace("    A: Ann\n", "    A: [Ann, Bob]\n"))
    with pytest.raises(InputError, match=r"r\.yaml:10: raci\.0\.A: .*exactly one A"):
        load_register(path, _actions())


def test_meeting_markdown_front_matter_keeps_file_lines(tmp_path: Path) -> None:
    text = (
        "---\ndate: 2026-11-20\ntitle: Steering\nattendees: [Ann, Bob]\n"
        "stances:\n  - stakeholder: Zed\n    stance: supportive\n---\n# Notes\nbody text\n"
    )
    path = _write(tmp_path, "m.md", text)
    with pytest.raises(InputError, match=r"m\.md:6: stances\.0\.stakeholder: unknown stakeholder"):
        load_meeting(path, stakeholders={"Ann", "Bob"}, actions=_actions())
    ok = load_meeting(
        _write(tmp_path, "ok.md", text.replace("Zed", "Bob")),
        stakeholders={"Ann", "Bob"},
        actions=_actions(),
    )
    assert ok.notes == "# Notes\nbody text" and ok.key == "2026-11-20:steering"


def test_meeting_answers_need_an_earlier_objection(tmp_path: Path) -> None:
    text = "date: 2026-11-20\ntitle: T\nanswers:\n  - {objection: k1, answer: exempt}\n"
    path = _write(tmp_path, "m.yaml", text)
    with pytest.raises(InputError, match=r"m\.yaml:4: answers\.0\.objection"):
        load_meeting(path, stakeholders={"Ann"}, actions=[])
    later = load_meeting(
        path, stakeholders={"Ann"}, actions=[], raised={"k1": ("2026-11-01:x", date(2026, 11, 1))}
    )
    assert later.answers[0].answer == "exempt"
    with pytest.raises(InputError):  # raised after this meeting: not an earlier objection
        load_meeting(
            path, stakeholders={"Ann"}, actions=[], raised={"k1": ("x", date(2026, 12, 1))}
        )


def _people() -> list[Stakeholder]:
    return [
        Stakeholder(name="Ann", influence=5, interest=5),
        Stakeholder(name="Bob", influence=5, interest=2),
        Stakeholder(name="Cy", influence=3, interest=5),
        Stakeholder(name="Di", influence=1, interest=1),
    ]


def test_comms_plan_follows_its_rules() -> None:
    monday = date(2026, 12, 7)
    action = Action(id=1, title="X", effort_days=5, status=ActionStatus.APPROVED, start=monday)
    items = schedule([action], monday, date(2026, 11, 30))
    raci = Raci(
        action_id=1,
        responsible=("Cy",),
        accountable="Ann",
        consulted=("Bob",),
        informed=("Di", "Cy"),
    )
    plan = comms_plan(items, {1: raci}, _people(), date(2026, 11, 30))
    by_kind = {(e.kind, e.channel): e for e in plan.events}
    consult = by_kind["consult", "review session"]
    assert consult.day == date(2026, 11, 30) and consult.audience == ("Bob",)  # 5 working days
    kickoff = by_kind["kickoff", "kickoff meeting"]
    assert kickoff.day == monday and kickoff.audience == ("Ann", "Cy") and kickoff.owner == "Ann"
    assert by_kind["review", "review meeting"].day == date(2026, 12, 11)
    # announced the next working day (a Monday), on each quadrant's channel, owned by the R
    announce = [e for e in plan.events if e.kind == "announce"]
    assert {(e.channel, e.audience) for e in announce} == {
        ("newsletter", ("Di",)),
        ("team channel post", ("Cy",)),
        ("email brief", ("Bob",)),
    }
    assert all(e.day == date(2026, 12, 14) and e.owner == "Cy" for e in announce)
    steering = [e for e in plan.events if e.kind == "steering"]
    assert {(e.channel, e.audience) for e in steering} == {
        ("steering meeting", ("Ann",)),
        ("steering email brief", ("Bob",)),
    }
    assert plan.programme_lead == "Ann" and plan.without_raci == []


def test_comms_consult_is_today_when_the_start_is_near_and_gaps_are_listed() -> None:
    today = date(2026, 12, 7)
    a = Action(id=1, title="X", effort_days=2, status=ActionStatus.APPROVED)
    b = Action(id=2, title="Y", effort_days=2, status=ActionStatus.APPROVED)
    c = Action(id=3, title="Z", effort_days=2, status=ActionStatus.APPROVED, depends_on=[9])
    raci = Raci(action_id=1, accountable="Ann", consulted=("Bob",))
    plan = comms_plan(schedule([a, b, c], today, today), {1: raci}, _people(), today)
    consult = next(e for e in plan.events if e.kind == "consult")
    assert consult.day == today and consult.note.startswith("late")
    assert plan.without_raci == ["Y"] and plan.blocked == ["Z"]


def test_store_round_trip_and_meeting_idempotence(store: Store, tmp_path: Path) -> None:
    ids = store.add_actions(_actions())
    uc.import_register(store, _write(tmp_path, "r.yaml", REGISTER))
    assert [p.name for p in store.stakeholders()] == ["Ann", "Bob", "Cy", "Di"]
    assert store.racis()[ids[0]].consulted == ("Bob",)
    meeting = _write(
        tmp_path,
        "m.yaml",
        "date: 2026-11-20\ntitle: Steering\nattendees: [Ann, Bob, Cy]\n"
        "decisions:\n  - {action: reclaim_idle_gpus, decision: approve, by: Ann, note: pilot}\n"
        "objections:\n  - {key: k1, by: Cy, text: 'Will it kill jobs?'}\n"
        "stances:\n  - {stakeholder: Cy, stance: neutral}\n",
    )
    first = uc.add_meeting(store, meeting)
    again = uc.add_meeting(store, meeting)
    assert (first.replaced, first.logged) == (False, 1)
    assert (again.replaced, again.logged, again.already) == (True, 0, 1)
    log = [d for d in store.decisions() if d.action_id == ids[0]]
    assert [(d.decision, d.by) for d in log] == [(DecisionKind.APPROVE, "Ann")]
    assert log[0].decided_at == datetime(2026, 11, 20, 12, tzinfo=UTC)
    assert store.get_action(ids[0]).status is ActionStatus.APPROVED
    assert len(store.meetings()) == 1 and len(store.stances()) == 1
    answer = _write(
        tmp_path,
        "m2.yaml",
        "date: 2026-11-27\ntitle: Follow-up\nanswers:\n"
        "  - {objection: k1, answer: Heartbeat jobs are exempt, answered_by: Ann}\n"
        "stances:\n  - {stakeholder: Cy, stance: supportive}\n",
    )
    uc.add_meeting(store, answer)
    view = uc.alignment_view(store, date(2026, 11, 30))
    cy = next(v for v in view.stakeholders if v.name == "Cy")
    assert [p.stance for p in cy.history] == ["opposed", "neutral", "supportive"]
    assert cy.moves == 2 and view.stance_moves == 2
    assert cy.asked[0].answered_by == "Ann" and not cy.asked[0].open
    assert view.open_objections == [] and view.objections_total == 1
    assert view.grid["manage closely"] == ["Ann"]
    # the approved action, with its RACI, is on the communication plan
    assert {c.kind for c in view.comms} >= {"kickoff", "review", "announce"}


def test_bad_decision_logs_nothing(store: Store, tmp_path: Path) -> None:
    actions = [a.model_copy(update={"id": None}) for a in _actions()]
    actions[1] = actions[1].model_copy(update={"status": ActionStatus.DONE})
    store.add_actions(actions)
    uc.import_register(store, _write(tmp_path, "r.yaml", REGISTER))
    meeting = _write(
        tmp_path,
        "m.yaml",
        "date: 2026-11-20\ntitle: S\ndecisions:\n"
        "  - {action: reclaim_idle_gpus, decision: approve, by: Ann}\n"
        "  - {action: tune_noisy_alerts, decision: reject, by: Ann}\n",
    )
    with pytest.raises(InputError, match=r"m\.yaml: decision on .*is done"):
        uc.add_meeting(store, meeting)
    assert store.decisions() == [] and store.meetings() == []


def test_set_raci_checks_names_and_one_accountable(store: Store, tmp_path: Path) -> None:
    store.add_actions([a.model_copy(update={"id": None}) for a in _actions()])
    uc.import_register(store, _write(tmp_path, "r.yaml", REGISTER))
    with pytest.raises(InputError, match="exactly one A"):
        uc.set_raci(store, "tune_noisy_alerts", ["Cy"], [])
    with pytest.raises(InputError, match="unknown stakeholder 'Zed'"):
        uc.set_raci(store, "tune_noisy_alerts", ["Zed"], ["Ann"])
    action, raci = uc.set_raci(store, slug(ALERTS), ["Cy"], ["Ann"], ["Bob"], ["Di"])
    assert action.title == ALERTS and store.racis()[action.id or 0] == raci


def test_example_register_and_meetings_parse() -> None:
    from fleetwise.plan.catalog import load_catalog

    cat = load_catalog()
    actions = [
        Action(id=i, title=c.title)
        for i, c in enumerate((c for cs in cat.kinds.values() for c in cs), start=1)
    ]
    reg = load_register(PEOPLE / "stakeholders.yaml", actions)
    assert 8 <= len(reg.stakeholders) <= 12 and len(reg.raci) == 7
    names = {p.name for p in reg.stakeholders}
    for path in sorted((PEOPLE / "meetings").iterdir()):
        m = load_meeting(
            path,
            stakeholders=names,
            actions=actions,
            raised={"idle-kills-jobs": ("k", date(2026, 11, 16))},
        )
        assert m.attendees
