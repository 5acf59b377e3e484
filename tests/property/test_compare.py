"""The comparison test: its error rates on simulated runs, and its invariances."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fleetwise.analyze.compare import MIN_RUNS, compare_medians, runs_needed

medians = st.lists(st.floats(min_value=0.5, max_value=2.0), min_size=2, max_size=8)


def simulated_runs(rng: np.random.Generator, k: int, between_cv: float, level: float = 1.0):
    # Run medians of a noisy machine: log-normal between-run variation.
    return list(level * np.exp(rng.normal(0.0, between_cv, size=k)))


@pytest.mark.parametrize(("k", "history"), [(2, 0), (3, 0), (5, 0), (3, 10)])
def test_false_positive_rate_holds_on_simulated_runs(k: int, history: int) -> None:
    rng = np.random.default_rng(7)
    trials, hits = 600, 0
    for _ in range(trials):
        a, b = simulated_runs(rng, k, 0.05), simulated_runs(rng, k, 0.05)
        h = simulated_runs(rng, history, 0.05)
        hits += compare_medians(a, b, history=h)["verdict"] != "no significant change"
    # nominal 5%; the trials' own sd is 0.9 points
    assert hits / trials <= 0.075


def test_power_against_a_ten_percent_slowdown() -> None:
    rng = np.random.default_rng(11)
    trials, found = 300, 0
    for _ in range(trials):
        a = simulated_runs(rng, 5, 0.03)
        b = simulated_runs(rng, 5, 0.03, level=0.9)
        found += compare_medians(a, b, direction="higher")["verdict"] == "slower"
    assert found / trials >= 0.8


@given(medians, medians, st.floats(min_value=0.01, max_value=100.0))
def test_ratio_is_scale_free_and_its_ci_contains_it(
    a: list[float], b: list[float], k: float
) -> None:
    one = compare_medians(a, b)
    scaled = compare_medians([x * k for x in a], [x * k for x in b])
    assert math.isclose(one["ratio"], scaled["ratio"], rel_tol=1e-9)
    assert one["verdict"] == scaled["verdict"]
    if one["ci_low"] is not None:
        assert one["ci_low"] <= one["ratio"] * (1 + 1e-12)
        assert one["ratio"] <= one["ci_high"] * (1 + 1e-12)


@given(medians, medians)
def test_swapping_sides_inverts_the_ratio_and_the_verdict(a: list[float], b: list[float]) -> None:
    ab, ba = compare_medians(a, b), compare_medians(b, a)
    assert math.isclose(ab["ratio"] * ba["ratio"], 1.0, rel_tol=1e-9)
    flip = {"faster": "slower", "slower": "faster"}
    assert flip.get(ab["verdict"], ab["verdict"]) == ba["verdict"]


def test_direction_decides_faster_or_slower() -> None:
    a, b = [10.0, 10.1, 9.9], [5.0, 5.05, 4.95]
    assert compare_medians(a, b, direction="higher")["verdict"] == "slower"
    assert compare_medians(a, b, direction="lower")["verdict"] == "faster"


def test_single_runs_get_no_verdict_even_with_history() -> None:
    out = compare_medians([1.0], [2.0])
    assert out["verdict"] == "inconclusive" and out["ci_low"] is None
    assert "repeat each side" in out["notes"][0]
    history = [1.0, 1.02, 0.98, 1.01, 0.99, 1.0, 1.03, 0.97, 1.01, 0.99]
    with_history = compare_medians([1.0], [2.0], history=history)
    assert with_history["verdict"] == "inconclusive"
    assert "spread" in with_history["notes"][0]


def test_method_follows_the_number_of_runs() -> None:
    assert "Welch" in compare_medians([1.0, 1.1], [1.2, 1.3])["method"]
    many = compare_medians([1.0, 1.1, 1.0, 0.9, 1.05], [1.2, 1.3, 1.25, 1.2, 1.3])
    assert "permutation" in many["method"] and many["verdict"] == "faster"


def test_mlperf_aggregate_drops_the_extreme_runs() -> None:
    out = compare_medians([1.0, 1.0, 1.0, 5.0], [1.0, 1.0, 1.0, 1.0], aggregate="mlperf")
    assert out["a_value"] == 1.0 and "olympic" in out["method"]


@given(
    st.floats(min_value=0.001, max_value=0.5),
    st.floats(min_value=0.001, max_value=0.5),
    st.floats(min_value=0.01, max_value=1.0),
)
def test_runs_needed_grow_with_noise_and_shrink_with_the_change(
    sd: float, more: float, change: float
) -> None:
    assert runs_needed(sd, change) >= MIN_RUNS
    assert runs_needed(sd + more, change) >= runs_needed(sd, change)
    assert runs_needed(sd, change * 1.5) <= runs_needed(sd, change)


def test_runs_needed_is_the_textbook_two_sample_size() -> None:
    # n = 2 (1.96 + 0.84)^2 sd^2 / delta^2: sd of log 5%, a 5% change (log 4.88%) -> 17.
    assert runs_needed(0.05, 0.05) == 17
    out = compare_medians([1.0, 1.1, 1.0, 0.95], [1.0, 1.05, 0.98, 1.02])
    assert out["verdict"] == "no significant change" and out["runs_needed_for"] == 0.05
    assert compare_medians([1.0], [2.0])["effect_size"] is None  # one run a side: no test
