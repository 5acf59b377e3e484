"""Invariances of change-point detection (seeded hypothesis; each series from a numpy seed)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fleetwise.analyze.changepoints import ChangePointConfig, IncrementalDetector, detect

DEFAULT = ChangePointConfig()
OTAVA = ChangePointConfig(otava_compatible=True)
MODES = pytest.mark.parametrize("config", [DEFAULT, OTAVA], ids=["default", "otava"])
seeded = settings(derandomize=True, deadline=None, max_examples=40)


def series(seed: int, n: int, steps: int) -> np.ndarray:
    """Gaussian noise around 100 with ``steps`` level shifts of 1-6 sigma at random places."""
    rng = np.random.default_rng(seed)
    x = rng.normal(100.0, 1.0, n)
    for at in rng.integers(1, max(n, 2), steps if n > 1 else 0):
        x[at:] += rng.choice([-1, 1]) * rng.uniform(1, 6)
    return x


@seeded
@given(value=st.floats(-1e9, 1e9, allow_nan=False), n=st.integers(0, 400))
def test_constant_input_has_no_change_point(value: float, n: int) -> None:
    assert detect([value] * n) == []


@seeded
@given(value=st.integers(-(10**9), 10**9), n=st.integers(0, 400))
def test_constant_input_has_no_change_point_in_otava_mode(value: int, n: int) -> None:
    # Integers only: Otava's numpy means of equal non-integers can differ by one ulp between
    # segments, and its zero-variance t-test then reports p = 0; otava_compatible keeps that
    # (see test_changepoints_otava.py::test_otava_quirks_are_reproduced).
    assert detect([float(value)] * n, OTAVA) == []


@seeded
@given(seed=st.integers(0, 2**32 - 1), before=st.integers(10, 600), after=st.integers(10, 600))
def test_a_ten_sigma_step_is_found_within_two_points(seed: int, before: int, after: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 1.0, before + after)
    x[before:] += 10.0 * rng.choice([-1, 1])
    assert any(abs(cp.index - before) <= 2 for cp in detect(x))


@MODES
@seeded
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(2, 700),
    steps=st.integers(0, 4),
    scale=st.floats(1e-3, 1e3),
    shift=st.floats(-1e4, 1e4),
)
def test_indices_do_not_depend_on_units_or_offset(
    config: ChangePointConfig, seed: int, n: int, steps: int, scale: float, shift: float
) -> None:
    x = series(seed, n, steps)
    found = [cp.index for cp in detect(x, config)]
    assert [cp.index for cp in detect(x * scale + shift, config)] == found


@MODES
@seeded
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(0, 900),
    steps=st.integers(0, 5),
    cuts=st.lists(st.integers(1, 300), max_size=8),
)
def test_appending_in_any_chunks_gives_the_batch_result(
    config: ChangePointConfig, seed: int, n: int, steps: int, cuts: list[int]
) -> None:
    x = series(seed, n, steps)
    inc, at = IncrementalDetector(config, x[: cuts[0] if cuts else 0]), cuts[0] if cuts else 0
    for size in cuts[1:]:
        assert inc.extend(x[at : at + size]) == detect(x[: at + size], config)
        at += size
    inc.extend(x[at:])
    assert inc.change_points == detect(x, config)
    assert len(inc) == len(x)


@seeded
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 500), steps=st.integers(0, 4))
def test_same_input_same_output(seed: int, n: int, steps: int) -> None:
    x = series(seed, n, steps)
    assert detect(x) == detect(list(x)) == detect(x.copy())


@seeded
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(0, 500),
    steps=st.integers(0, 4),
    min_segment=st.integers(1, 40),
    min_magnitude=st.floats(0.0, 0.05),
)
def test_reported_change_points_honour_the_config(
    seed: int, n: int, steps: int, min_segment: int, min_magnitude: float
) -> None:
    config = ChangePointConfig(min_segment=min_segment, min_magnitude=min_magnitude)
    x = series(seed, n, steps)
    found = detect(x, config)
    bounds = [0, *(cp.index for cp in found), n]
    if found:
        assert all(b - a >= min_segment for a, b in itertools.pairwise(bounds))
    for cp, lo, hi in zip(found, bounds[:-2], bounds[2:], strict=True):
        assert cp.pvalue <= config.max_pvalue
        assert abs(cp.change) >= min_magnitude
        assert cp.mean_before == pytest.approx(float(np.mean(x[lo : cp.index])))
        assert cp.std_after == pytest.approx(float(np.std(x[cp.index : hi])))
        assert cp.change == pytest.approx(cp.mean_after / cp.mean_before - 1)


def test_pure_noise_has_few_change_points() -> None:
    # 20,000 points of seeded Gaussian noise: the issue allows <= 0.1 per 1000 points.
    x = np.random.default_rng(20260601).normal(1000.0, 10.0, 20_000)
    assert len(detect(x)) <= 2
