"""Properties of the interval arithmetic behind the trace breakdowns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fleetwise.analyze.traces_intervals import (
    I64,
    describe,
    merge_intervals,
    overlap_sweep,
    quantile_of_sorted,
)

Iv = tuple[I64, I64]

intervals = st.lists(
    st.tuples(st.integers(0, 200), st.integers(0, 30)), min_size=0, max_size=25
).map(
    lambda xs: (np.array([a for a, _ in xs], np.int64), np.array([a + d for a, d in xs], np.int64))
)


def covered(ts: I64, end: I64) -> set[int]:
    return {t for s, e in zip(ts.tolist(), end.tolist(), strict=True) for t in range(s, e)}


@given(intervals)
def test_merge_is_the_union_and_disjoint(iv: Iv) -> None:
    s, e = merge_intervals(*iv)
    assert covered(s, e) == covered(*iv)
    assert np.all(s[1:] > e[:-1])  # sorted, disjoint, not touching
    assert np.all(e >= s)


@settings(max_examples=60)
@given(intervals, intervals, intervals)
def test_sweep_splits_time_by_combination(a: Iv, b: Iv, c: Iv) -> None:
    out = overlap_sweep({1: a, 2: b, 4: c})
    sets = {1: covered(*a), 2: covered(*b), 4: covered(*c)}
    for combo in range(1, 8):
        expected = {
            t
            for t in set().union(*sets.values())
            if all((t in sets[f]) == bool(combo & f) for f in (1, 2, 4))
        }
        assert out.get(combo, 0) == len(expected)


@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=40))
def test_describe_matches_pandas(values: list[float]) -> None:
    ours = describe(np.array(values))
    theirs = pd.Series(values).describe()
    for key, value in ours.items():
        expected = theirs[key]
        if value is None:
            assert np.isnan(expected)
        else:
            assert value == pytest.approx(expected, rel=1e-9, abs=1e-6)


@given(
    st.lists(
        st.floats(-1e12, 1e12, allow_nan=False) | st.integers(0, 2**53).map(float),
        min_size=1,
        max_size=60,
    ),
    st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0]) | st.floats(0, 1),
)
def test_quantile_of_sorted_is_numpys_quantile_bit_for_bit(values: list[float], q: float) -> None:
    v = np.asarray(values, dtype=np.float64)
    assert quantile_of_sorted(np.sort(v), q) == float(np.quantile(v, q))
