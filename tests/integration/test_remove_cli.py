"""Removing a bad action, KPI or analysis: it leaves the store and every total, the links
other records kept to it are cut, and the decision log says who removed it, when and why."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from fleetwise.models import KPI, Action, Cost, Finding, KPIEffect
from fleetwise.present.cli import main
from fleetwise.present.web import reader as web_reader
from fleetwise.present.web.pages_plan import overview_page
from fleetwise.store import Store

TODAY = datetime.now(UTC).date()


def _json(args: list[str], capsys: pytest.CaptureFixture[str]) -> Any:
    assert main(args) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


def _not_found(args: list[str], capsys: pytest.CaptureFixture[str], says: str) -> None:
    assert main(args) == 2
    out = capsys.readouterr()
    assert out.out == ""
    assert out.err.splitlines() == [f"fleetwise: error: {says}"]


def _finding(kind: str, usd: float) -> Finding:
    return Finding(
        kind=kind,
        layer="orchestration",
        title=kind,
        cost=Cost(usd_per_year=usd, gpu_hours_per_year=usd / 2),
    )


def _log(db_url: str, capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    doc = _json(["plan", "decisions", "--db", db_url, "--json"], capsys)
    return list(doc["decisions"])


def test_plan_remove(store: Store, db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    a, b, c = store.add_actions(
        [
            Action(title="workers", savings_usd_per_year=50_000),
            Action(title="shards", savings_usd_per_year=20_000),
            Action(title="cache", savings_usd_per_year=10_000),
        ],
        [[], [0], []],
    )
    assert main(["decide", str(a), "approve", "--by", "CTO", "--db", db_url]) == 0
    capsys.readouterr()
    before = _json(["plan", "rank", "--db", db_url, "--json"], capsys)["ranking"]
    assert {r["id"] for r in before} == {a, b, c}

    doc = _json(
        ["plan", "remove", str(a), "--why", "double", "--by", "alice", "--db", db_url, "--json"],
        capsys,
    )
    assert doc["decision"]["subject"] == "action" and doc["decision"]["subject_id"] == a
    assert doc["affected"] == [
        {"id": b, "title": "shards", "note": f"no longer waits for #{a}", "finding_ids": []}
    ]
    # Totals follow: the ranking and the overview read the store.
    after = _json(["plan", "rank", "--db", db_url, "--json"], capsys)["ranking"]
    assert [r["id"] for r in after] == [b, c]
    plan = overview_page(web_reader.StoreReader(store), TODAY).data.plan
    # Savings typed by hand are shown apart from the ledger-backed total.
    assert plan.actions == 2 and plan.hand_written_usd_per_year == 30_000
    assert plan.savings_usd_per_year == 0
    assert store.get_action(b).depends_on == []
    # The approval stays on record, unlinked; the removal is logged with who and why.
    log = _log(db_url, capsys)
    assert [(d["decision"], d["action_id"], d["subject_id"], d["by"]) for d in log] == [
        ("approve", None, a, "CTO"),
        ("remove", None, a, "alice"),
    ]
    assert log[1]["note"] == "double" and log[1]["subject_name"] == "workers"
    assert log[1]["about"] == f"#{a} workers (removed)" and log[1]["decided_at"]
    # A later action that reuses the id shows none of the removed action's decisions.
    (d,) = store.add_actions([Action(title="later")])
    assert _json(["plan", "show", str(d), "--db", db_url, "--json"], capsys)["decisions"] == []

    _not_found(
        ["plan", "remove", str(a), "--db", db_url],
        capsys,
        f"no action {a} in the backlog (fleetwise plan list)",
    )
    assert len(_log(db_url, capsys)) == 2


def test_plan_remove_without_by_uses_the_login_name(
    store: Store, db_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("getpass.getuser", lambda: "ops")
    (a,) = store.add_actions([Action(title="x")])
    assert main(["plan", "remove", str(a), "--db", db_url]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"removed action {a} (x); logged as removed by ops (no reason given)"
    ]
    (a,) = store.add_actions([Action(title="y")])
    assert main(["plan", "remove", str(a), "--by", " ", "--db", db_url]) == 2
    assert "--by: say who removes it" in capsys.readouterr().err
    assert [x.id for x in store.actions()] == [a]


def test_kpi_remove(store: Store, db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    goal = date.today() + timedelta(days=90)
    for name in ("util", "wait"):
        store.add_kpi(KPI(name=name, source="analysis:cluster:x", goal_value=1, goal_date=goal))
    (a,) = store.add_actions(
        [
            Action(
                title="pack",
                effects=[KPIEffect(kpi="util", change=0.1), KPIEffect(kpi="wait", change=-0.2)],
            )
        ]
    )
    assert (
        main(["kpi", "remove", "util", "--why", "goal was nan", "--by", "bob", "--db", db_url]) == 0
    )
    assert capsys.readouterr().out.splitlines() == [
        "removed KPI util; logged as removed by bob: goal was nan",
        f"  action {a} (pack) no longer expects util +10% (no KPI measures it)",
    ]
    listed = _json(["kpi", "list", "--db", db_url, "--json"], capsys)["kpis"]
    assert [k["name"] for k in listed] == ["wait"]
    assert [e.kpi for e in store.get_action(a).effects] == ["wait"]
    (entry,) = _log(db_url, capsys)
    assert entry["subject"] == "kpi" and entry["subject_name"] == "util"
    assert entry["decision"] == "remove" and entry["by"] == "bob" and entry["about"] == "KPI util"
    _not_found(
        ["kpi", "remove", "util", "--db", db_url],
        capsys,
        "no KPI named 'util' (fleetwise kpi list)",
    )


def test_analysis_list_and_remove(
    store: Store, db_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(web_reader, "VERSION_TTL_S", 0.0)
    keep = store.save_analysis("trace", "traces/a", {}, [_finding("trace.idle", 1_000)])
    bad = store.save_analysis(
        "cluster",
        "jobs.csv",
        {"gpus": 99999999999999999999},
        [_finding("cluster.wait", 5e24), _finding("cluster.frag", 7e23)],
        tags=["x"],
    )
    kept_id = store.findings("trace")[0].id
    w, f = (x.id for x in store.findings("cluster"))
    assert w is not None and f is not None and kept_id is not None
    only, both, other = store.add_actions(
        [
            Action(title="queue", finding_ids=[w]),
            Action(title="pack", finding_ids=[f, kept_id]),
            Action(title="hand-written"),
        ]
    )
    listed = _json(["analysis", "list", "--kind", "cluster", "--db", db_url, "--json"], capsys)
    assert [(x["id"], x["kind"], x["source"], x["tags"]) for x in listed["analyses"]] == [
        (bad, "cluster", "jobs.csv", ["x"])
    ]
    assert [x["id"] for x in listed["analyses"][0]["findings"]] == [w, f]
    assert main(["analysis", "list", "--db", db_url]) == 0
    table = capsys.readouterr().out
    assert "2 analyses" in table and "jobs.csv" in table and "traces/a" in table

    reader = web_reader.StoreReader(store)
    assert overview_page(reader, TODAY).data.findings_total == 3
    assert (
        main(
            ["analysis", "remove", str(bad), "--why", "--gpus typo", "--by", "eve", "--db", db_url]
        )
        == 0
    )
    assert capsys.readouterr().out.splitlines() == [
        f"removed analysis {bad} (cluster jobs.csv) and its 2 findings; "
        "logged as removed by eve: --gpus typo",
        f"  action {only} (queue) loses finding {w}; no finding left: it stays in the backlog "
        f"(fleetwise plan remove {only} if it no longer stands)",
        f"  action {both} (pack) loses finding {f}; still answers {kept_id}",
    ]
    # Findings go with it; actions stay, unlinked; every total follows.
    assert [a.id for a in store.analyses()] == [keep]
    assert [x.id for x in store.findings()] == [kept_id]
    assert [a.id for a in store.actions()] == [only, both, other]
    assert store.get_action(only).finding_ids == []
    assert store.get_action(both).finding_ids == [kept_id]
    # The dashboard read before the removal; a new analysis may take the removed one's id
    # (SQLite reuses the largest), which must not leave the dashboard serving the old one.
    again = store.save_analysis("cluster", "jobs.csv", {}, [])
    page = overview_page(reader, TODAY).data
    assert page.findings_total == 1 and [r.title for r in page.top_findings] == ["trace.idle"]
    assert [a.id for a in reader.analyses()] == [keep, again]
    (entry,) = _log(db_url, capsys)
    assert (entry["subject"], entry["subject_id"], entry["by"], entry["note"]) == (
        "analysis",
        bad,
        "eve",
        "--gpus typo",
    )
    assert entry["about"] == f"analysis #{bad} (cluster jobs.csv)"
    _not_found(
        ["analysis", "remove", "999", "--db", db_url],
        capsys,
        "no analysis 999 in the store (fleetwise analysis list)",
    )


def test_decide_cannot_remove(
    store: Store, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (a,) = store.add_actions([Action(title="x")])
    assert main(["decide", str(a), "remove", "--by", "me", "--db", db_url]) == 2
    assert f"use: fleetwise plan remove {a}" in capsys.readouterr().err
    assert store.decisions() == [] and [x.id for x in store.actions()] == [a]
