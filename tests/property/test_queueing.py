"""Erlang C and Allen-Cunneen: textbook values and properties."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fleetwise.errors import InputError
from fleetwise.plan.queueing import allen_cunneen, erlang_c, mmc


def erlang_c_by_sum(c: int, a: float) -> float:
    top = a**c / math.factorial(c) * c / (c - a)
    return top / (sum(a**k / math.factorial(k) for k in range(c)) + top)


def test_textbook_values() -> None:
    assert erlang_c(1, 0.5) == pytest.approx(0.5)  # M/M/1: P(wait) = rho
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3)
    q = mmc(0.5, 1.0, 1)  # M/M/1: Wq = rho / (mu - lambda) = 1
    assert q.mean_wait_s == pytest.approx(1.0)
    assert mmc(2.0, 1.0, 2).mean_wait_s == math.inf  # rho = 1: unstable


@given(st.integers(1, 60), st.floats(0.01, 0.99))
def test_recursion_matches_the_factorial_sum(c: int, rho: float) -> None:
    assert erlang_c(c, rho * c) == pytest.approx(erlang_c_by_sum(c, rho * c), rel=1e-9)


@given(st.integers(1, 200), st.floats(0.05, 0.95), st.floats(0.05, 0.95))
def test_wait_grows_with_load(c: int, r1: float, r2: float) -> None:
    lo, hi = sorted((r1, r2))
    a, b = mmc(lo * c, 1.0, c), mmc(hi * c, 1.0, c)
    assert a.mean_wait_s <= b.mean_wait_s + 1e-12
    assert 0 <= a.p95_wait_s <= a.p99_wait_s


@given(st.floats(0.1, 0.9), st.floats(0.0, 20.0))
def test_allen_cunneen_is_erlang_c_at_cv_one(rho: float, cs2: float) -> None:
    base = mmc(rho * 4, 1.0, 4)
    assert allen_cunneen(rho * 4, 1.0, 4, 1.0, 1.0).mean_wait_s == pytest.approx(base.mean_wait_s)
    scaled = allen_cunneen(rho * 4, 1.0, 4, 1.0, cs2).mean_wait_s
    assert scaled == pytest.approx(base.mean_wait_s * (1 + cs2) / 2)


def test_bad_input() -> None:
    with pytest.raises(InputError):
        erlang_c(0, 1.0)
    with pytest.raises(InputError):
        mmc(0.0, 1.0, 2)
