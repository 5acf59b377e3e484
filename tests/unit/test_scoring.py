"""Scores against hand computations; ranking ties are broken in a stated order and explained."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy_financial as npf
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fleetwise.models import Action
from fleetwise.plan.scoring import Assumptions, rank, score

HAND = Action(
    id=1,
    title="hand",
    savings_usd_per_year=100_000,
    confidence=0.8,
    one_time_cost_usd=5_000,
    effort_days=10,
    reach=64,
    impact=2,
)


def test_scores_match_a_hand_computation() -> None:
    s = score(HAND, Assumptions(horizon_years=3, discount_rate=0.10, usd_per_person_day=1000))
    # investment 5,000 + 10 x 1,000; expected benefit 100,000 x 0.8 per year
    assert s.investment_usd == 15_000
    assert s.benefit_usd_per_year == 80_000
    assert s.roi == pytest.approx((3 * 80_000 - 15_000) / 15_000)  # 15.0
    by_hand = -15_000 + 80_000 / 1.1 + 80_000 / 1.1**2 + 80_000 / 1.1**3
    assert s.npv == pytest.approx(by_hand)  # 183,948.16
    assert s.npv == pytest.approx(npf.npv(0.10, [-15_000, 80_000, 80_000, 80_000]))
    assert s.payback_months == pytest.approx(15_000 / (80_000 / 12))  # 2.25
    # WSJF: value 3 ($80k < $100k), time criticality 3, risk reduction 3 (defaults),
    # job size 5 (10 person-days) -> cost of delay 9 / 5
    assert (s.value, s.time_criticality, s.risk_reduction, s.job_size) == (3, 3, 3, 5)
    assert s.wsjf == pytest.approx(9 / 5)
    # RICE: 64 x 2 x 0.8 / (10 / 20 person-months)
    assert s.rice == pytest.approx(64 * 2 * 0.8 / 0.5)


def test_no_benefit_never_pays_back() -> None:
    s = score(Action(title="x", effort_days=2))
    assert s.payback_months is None
    assert s.roi == pytest.approx(-1.0)
    assert s.rice == 0.0 and any("reach 0" in d for d in s.derived)


def test_ties_are_broken_by_npv_then_id_and_explained() -> None:
    # Same ROI (benefit/investment ratio), different scale: NPV decides.
    small = Action(id=1, title="small", savings_usd_per_year=10_000, effort_days=2, confidence=1)
    big = Action(id=2, title="big", savings_usd_per_year=50_000, effort_days=10, confidence=1)
    twin = Action(
        id=3, title="twin of big", savings_usd_per_year=50_000, effort_days=10, confidence=1
    )
    ranked = rank([small, twin, big], "roi")
    assert [r.action.id for r in ranked] == [2, 3, 1]
    assert ranked[0].tie.startswith("tied with #3") and "every score equal" in ranked[0].tie
    assert "ordered by npv" in ranked[2].tie


def test_payback_ranks_shortest_first() -> None:
    quick = Action(id=1, title="q", savings_usd_per_year=120_000, effort_days=1, confidence=1)
    slow = Action(id=2, title="s", savings_usd_per_year=12_000, effort_days=1, confidence=1)
    never = Action(id=3, title="n", effort_days=1)
    assert [r.action.id for r in rank([never, slow, quick], "payback")] == [1, 2, 3]


@given(
    savings=st.floats(0, 1e7),
    cost=st.floats(0, 1e6),
    days=st.floats(0.5, 200),
    conf=st.floats(0, 1),
    rate=st.floats(0, 0.5),
)
def test_npv_is_numpy_financial_and_falls_with_the_rate(
    savings: float, cost: float, days: float, conf: float, rate: float
) -> None:
    a = Action(
        title="p",
        savings_usd_per_year=savings,
        one_time_cost_usd=cost,
        effort_days=days,
        confidence=conf,
    )
    s = score(a, replace(Assumptions.of(), discount_rate=rate))
    flows = [-s.investment_usd] + [s.benefit_usd_per_year] * 3
    assert math.isclose(s.npv, float(npf.npv(rate, flows)), rel_tol=1e-9, abs_tol=1e-6)
    assert s.npv <= score(a, replace(Assumptions.of(), discount_rate=0.0)).npv + 1e-6
