"""Survey statistics against an independent computation: scipy's Mann-Whitney U, numpy's
bootstrap with the same seed, scipy's percentile bootstrap, and hand-counted figures."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from scipy import stats as sps

from fleetwise.analyze.survey import (
    NO_CHANGE,
    RESAMPLES,
    SEED,
    bootstrap,
    compare_waves,
    construct_scores,
    enps_rows,
    holm,
    item_stats,
    mann_whitney,
    mean_rows,
    rank_biserial,
    rank_biserial_ci,
    ranks,
    top2_of,
    wave_stats,
)
from fleetwise.collect.importers.survey import MapItem, SurveyResponse

BEFORE = np.array([2, 3, 2, 1, 4, 3, 2, 2, 3, 5, 1, 2, 3, 3, 2], dtype=float)
AFTER = np.array([4, 3, 5, 4, 3, 4, 2, 5, 4, 3, 4, 5, 3, 4, 4, 2], dtype=float)


def _responses(key: str, values: list[float]) -> list[SurveyResponse]:
    t = datetime(2026, 10, 5, tzinfo=UTC)
    return [
        SurveyResponse(line=i + 2, submitted_at=t, team="", answers={key: v})
        for i, v in enumerate(values)
    ]


def test_mann_whitney_equals_scipy_with_ties() -> None:
    u_after, p = mann_whitney(BEFORE, AFTER)
    ref = sps.mannwhitneyu(BEFORE, AFTER, alternative="two-sided", method="asymptotic")
    # scipy's U is the first sample's; ours is the later wave's: they sum to n1 * n2.
    assert u_after == pytest.approx(len(BEFORE) * len(AFTER) - ref.statistic)
    assert p == pytest.approx(ref.pvalue, rel=1e-12)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_mann_whitney_equals_scipy_on_random_likert(seed: int) -> None:
    rng = np.random.default_rng(seed)
    a = rng.integers(1, 6, size=37).astype(float)
    b = rng.integers(1, 6, size=41).astype(float)
    u, p = mann_whitney(a, b)
    ref = sps.mannwhitneyu(a, b, alternative="two-sided", method="asymptotic")
    assert u == pytest.approx(len(a) * len(b) - ref.statistic)
    assert p == pytest.approx(ref.pvalue, rel=1e-12)


def test_rank_biserial_is_the_pair_count_and_ranks_are_scipys() -> None:
    u, _ = mann_whitney(BEFORE, AFTER)
    wins = sum((y > x) + 0.5 * (y == x) for y in AFTER for x in BEFORE)
    assert u == pytest.approx(wins)
    assert rank_biserial(u, len(BEFORE), len(AFTER)) == pytest.approx(
        2 * wins / (len(BEFORE) * len(AFTER)) - 1
    )
    both = np.concatenate([BEFORE, AFTER])
    assert np.allclose(ranks(both), sps.rankdata(both))


def test_identical_waves_have_p_one() -> None:
    same = np.full(10, 3.0)
    assert mann_whitney(same, same) == (50.0, 1.0)


def test_bootstrap_equals_numpy_with_the_same_seed() -> None:
    rng = np.random.default_rng(SEED)
    idx = rng.integers(0, len(AFTER), size=(RESAMPLES, len(AFTER)))
    means = AFTER[idx].mean(axis=1)
    expected = np.percentile(means, [2.5, 97.5])
    assert bootstrap(AFTER, mean_rows) == (pytest.approx(expected[0]), pytest.approx(expected[1]))


def test_bootstrap_is_close_to_scipys_percentile_bootstrap() -> None:
    ours = bootstrap(AFTER, mean_rows)
    assert ours is not None
    ref = sps.bootstrap(
        (AFTER,),
        np.mean,
        n_resamples=20_000,
        method="percentile",
        rng=np.random.default_rng(0),
    ).confidence_interval
    assert ours[0] == pytest.approx(ref.low, abs=0.1)
    assert ours[1] == pytest.approx(ref.high, abs=0.1)


def test_rank_biserial_ci_equals_numpy_with_the_same_seed() -> None:
    rng = np.random.default_rng(SEED)
    b = BEFORE[rng.integers(0, len(BEFORE), size=(RESAMPLES, len(BEFORE)))]
    a = AFTER[rng.integers(0, len(AFTER), size=(RESAMPLES, len(AFTER)))]
    r = np.array(
        [
            2
            * sps.mannwhitneyu(a[i], b[i], method="asymptotic").statistic
            / (len(AFTER) * len(BEFORE))
            - 1
            for i in range(RESAMPLES)
        ]
    )
    lo, hi = np.percentile(r, [2.5, 97.5])
    assert rank_biserial_ci(BEFORE, AFTER) == (pytest.approx(lo), pytest.approx(hi))


def test_top2_and_enps_by_hand() -> None:
    x = np.array([[5, 4, 3, 2, 1, 4, 5, 5]], dtype=float)
    assert top2_of("likert5")(x)[0] == pytest.approx(5 / 8)
    nps = np.array([[10, 9, 9, 8, 7, 6, 0, 3, 10, 5]], dtype=float)
    # promoters 4 (40%), detractors 4 (40%): eNPS 0; then one more promoter.
    assert enps_rows(nps)[0] == pytest.approx(0.0)
    assert enps_rows(np.array([[9, 9, 6]], dtype=float))[0] == pytest.approx(100 / 3)


def test_item_stats_rate_mean_top2_and_ci() -> None:
    item = MapItem(question="Q", key="q", scale="likert5")
    s = item_stats(item, _responses("q", list(AFTER)), team_size=20)
    assert s.n == 16 and s.response_rate == pytest.approx(0.8)
    assert s.mean is not None and s.mean.value == pytest.approx(AFTER.mean())
    assert s.mean.low is not None and s.mean.high is not None
    assert s.mean.low <= s.mean.value <= s.mean.high
    assert s.top2 is not None and s.top2.value == pytest.approx((AFTER >= 4).mean())
    assert s.enps is None


def test_enps_item_has_its_ci() -> None:
    item = MapItem(question="NPS", key="n", scale="nps0-10")
    values = [10, 9, 9, 8, 7, 6, 0, 3, 10, 5, 9, 9]
    s = item_stats(item, _responses("n", [float(v) for v in values]), team_size=None)
    assert s.response_rate is None
    assert s.enps is not None and s.enps.value == pytest.approx(100 * (6 - 4) / 12)
    assert s.enps.low is not None and s.enps.high is not None
    assert -100 <= s.enps.low <= s.enps.value <= s.enps.high <= 100


def test_construct_score_is_pomp_with_reverse_items() -> None:
    a = MapItem(question="A", key="a", scale="likert5", construct="c")
    b = MapItem(question="B", key="b", scale="likert7", construct="c", reverse=True)
    t = datetime(2026, 10, 5, tzinfo=UTC)
    rs = [
        SurveyResponse(line=2, submitted_at=t, team="", answers={"a": 5.0, "b": 1.0}),
        SurveyResponse(line=3, submitted_at=t, team="", answers={"a": 1.0}),
        SurveyResponse(line=4, submitted_at=t, team="", answers={"b": 4.0}),
        SurveyResponse(line=5, submitted_at=t, team="", answers={}),
    ]
    scores, tops = construct_scores([a, b], rs)
    # 5 of 5 = 100, reverse 1 of 7 = 100; 1 of 5 = 0; reverse 4 of 7 = 50.
    assert list(scores) == pytest.approx([100.0, 0.0, 50.0])
    assert list(tops) == pytest.approx([1.0, 0.0, 0.0])


def test_holm_by_hand() -> None:
    assert holm([0.01, 0.04, 0.03, 0.5]) == pytest.approx([0.04, 0.09, 0.09, 0.5])


def test_compare_waves_says_no_detectable_change_plainly() -> None:
    item = MapItem(question="Q", key="q", scale="likert5", construct="c")
    flat = [3.0, 2.0, 4.0, 3.0, 3.0, 2.0, 4.0, 3.0]
    up = [5.0, 4.0, 5.0, 4.0, 5.0, 5.0, 4.0, 5.0]
    same = compare_waves(
        ("w1", "w2"), ([item], [item]), (_responses("q", flat), _responses("q", flat))
    )
    assert [c.verdict for c in same] == [NO_CHANGE, NO_CHANGE]
    moved = compare_waves(
        ("w1", "w2"), ([item], [item]), (_responses("q", flat), _responses("q", up))
    )
    first = moved[0]
    assert first.subject == "item" and first.p < 0.05 and first.effect > 0
    assert first.verdict == "higher in w2"  # r and its CI are reported beside it
    assert first.effect_low is not None and first.effect_low > 0


def test_wave_stats_groups_items_into_constructs() -> None:
    a = MapItem(question="A", key="a", scale="likert5", construct="flow")
    txt = MapItem(question="T", key="t", scale="text")
    t = datetime(2026, 10, 5, tzinfo=UTC)
    rs = [
        SurveyResponse(line=2, submitted_at=t, team="x", answers={"a": 4.0, "t": "slow CI"}),
        SurveyResponse(line=3, submitted_at=t, team="y", answers={"a": 2.0}),
    ]
    w = wave_stats("w", "google-forms", "f.csv", [a, txt], rs, 4)
    assert w.respondents == 2 and w.response_rate == pytest.approx(0.5)
    assert [c.name for c in w.constructs] == ["flow"]
    assert w.constructs[0].score is not None
    assert w.constructs[0].score.value == pytest.approx(50.0)
    assert w.items[1].texts == ["slow CI"]
