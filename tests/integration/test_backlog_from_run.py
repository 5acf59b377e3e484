"""Acceptance: findings from a real benchmark run seed actions, ranked by ROI, NPV, WSJF and
RICE, each score checked against a hand computation (NPV against numpy-financial)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import numpy_financial as npf
import pytest
import yaml

from fleetwise.collect.runner import run_suite
from fleetwise.collect.suite import load_suite
from fleetwise.plan.catalog import load_catalog
from fleetwise.present.cli import main
from fleetwise.store import Store

SUITE = Path(__file__).parents[1] / "data" / "plan" / "findings_suite.yaml"
DEFAULT_PROFILE = resources.files("fleetwise.plan").joinpath("data/fleet_default.yaml")
DAY_RATE, HORIZON, RATE = 1000.0, 3, 0.10


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    folder = tmp_path_factory.mktemp("backlog")
    url = f"sqlite:///{folder / 'fleetwise.db'}"
    store = Store(url)
    outcome = run_suite(store, load_suite(str(SUITE)), workdir=folder / "work")
    store.close()
    yield url, outcome.run.id


def _json(args: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    assert main(args) == 0
    doc: dict[str, Any] = json.loads(capsys.readouterr().out)
    return doc


def hand_scores(a: dict[str, Any]) -> dict[str, float]:
    investment = a["one_time_cost_usd"] + a["effort_days"] * DAY_RATE
    benefit = a["savings_usd_per_year"] * a["confidence"]
    value = next(
        (
            v
            for bound, v in ((10e3, 1), (50e3, 2), (100e3, 3), (250e3, 5), (500e3, 8), (1e6, 13))
            if benefit < bound
        ),
        20,
    )
    size = next(
        (
            s
            for bound, s in ((1, 1), (3, 2), (5, 3), (10, 5), (20, 8), (40, 13))
            if a["effort_days"] <= bound
        ),
        20,
    )
    return {
        "roi": (benefit * HORIZON - investment) / investment,
        "npv": float(npf.npv(RATE, [-investment] + [benefit] * HORIZON)),
        "wsjf": (value + a["time_criticality"] + a["risk_reduction"]) / size,
        "rice": (a["reach"] or 0) * a["impact"] * a["confidence"] / (a["effort_days"] / 20),
    }


def test_findings_seed_actions_ranked_by_every_score(
    seeded: tuple[str, int], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, run_id = seeded
    # The run's host stands for 64 fleet GPUs (a workloads entry): its findings get dollars.
    fleet = tmp_path / "fleet.yaml"
    doc = yaml.safe_load(DEFAULT_PROFILE.read_text())
    doc["workloads"] = [{"match": "host:*", "represents": {"gpus": 64}}]
    fleet.write_text(yaml.safe_dump(doc))
    env = ["--db", url, "--fleet", str(fleet), "--json"]
    doc = _json(["plan", "seed", "--run", str(run_id), *env], capsys)
    created = doc["created"]
    kinds = {a["finding_kind"] for a in created}
    assert {"bench.low_efficiency", "bench.dataloader_workers"} <= kinds
    catalog = load_catalog()
    store = Store(url)
    findings = {f.id: f for f in store.findings("bench")}
    store.close()
    claims = {c["finding_id"]: c for c in _json(["ledger", *env], capsys)["claims"]["items"]}
    for a in created:
        linked = [findings[fid] for fid in a["finding_ids"]]
        for f in linked:
            # CPU results (the GEMM here) claim no GPU-fleet cost; the loader's input wait does
            if f.cost is not None:
                assert f.cost.assumptions["represented_gpus"] == 64
            assert all(e.source.startswith("result:") for e in f.evidence)
        cand = next(c for c in catalog.kinds[a["finding_kind"]] if c.title == a["title"])
        # one action per catalog entry and kind: the typical share of its findings' claims
        backed = sum(claims[f.id]["usd_per_year"] for f in linked)
        assert a["recovers"] == cand.recovers.typical
        assert a["savings_usd_per_year"] == pytest.approx(backed * cand.recovers.typical, abs=0.01)
        assert a["reach"] == (64 if backed > 0 else None)
    assert len({(a["finding_kind"], a["title"]) for a in created}) == len(created)
    assert any(a["savings_usd_per_year"] > 0 for a in created)
    url_env = ["--fleet", str(fleet)]
    for by in ("roi", "npv", "wsjf", "rice"):
        ranking = _json(["plan", "rank", "--by", by, "--db", url, *url_env, "--json"], capsys)[
            "ranking"
        ]
        assert len(ranking) == len(created)
        for row in ranking:
            hand = hand_scores(row)
            for name, expected in hand.items():
                assert row["scores"][name] == pytest.approx(expected, rel=1e-9), (by, name)
        got = [row["scores"][by] for row in ranking]
        assert got == sorted(got, reverse=True)
    # seeding again adds nothing: the run is diagnosed once, every finding has its actions
    again = ["plan", "seed", "--run", str(run_id), *env]
    assert _json(again, capsys)["created"] == []
    store = Store(url)
    assert len(store.analyses("bench")) == 1
    store.close()
