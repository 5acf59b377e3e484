"""``otava_compatible`` against Apache Otava 0.8 itself, run in-process on the same inputs."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from otava.analysis import compute_change_points, compute_change_points_orig
from otava.change_point_divisive.calculator import PairDistanceCalculator
from otava.csv_options import CsvOptions
from otava.data_selector import DataSelector
from otava.importer import CsvImporter, HistoStatImporter
from otava.series import AnalysisOptions, Series
from otava.test_config import CsvMetric, CsvTestConfig, HistoStatTestConfig
from scipy.stats import ttest_ind_from_stats

from fleetwise.analyze import edivisive as ed
from fleetwise.analyze.changepoints import ChangePoint, ChangePointConfig, detect
from fleetwise.collect.importers import otava_csv
from fleetwise.errors import InputError

SAMPLES = Path(__file__).parents[1] / "data" / "changepoints" / "otava_samples"
SYNTHETIC = Path(__file__).parents[1] / "data" / "changepoints" / "synthetic_5000.csv"
OTAVA = ChangePointConfig(otava_compatible=True)


def everything() -> DataSelector:
    selector = DataSelector()  # its default keeps only the last 365 days
    selector.since_time = datetime(1970, 1, 2, tzinfo=UTC)
    return selector


def same(mine: list[ChangePoint], theirs: list[object]) -> None:
    """Indices equal; p-values, means and stds equal (to rounding; they are in practice
    bit-identical)."""
    assert [cp.index for cp in mine] == [int(c.index) for c in theirs]  # type: ignore[attr-defined]
    for cp, c in zip(mine, theirs, strict=True):
        s = c.stats  # type: ignore[attr-defined]
        got = (cp.pvalue, cp.mean_before, cp.mean_after, cp.std_before, cp.std_after)
        want = (s.pvalue, s.mean_1, s.mean_2, s.std_1, s.std_2)
        assert got == pytest.approx(want, rel=1e-12, abs=1e-300)
        assert cp.change == pytest.approx(s.forward_rel_change(), rel=1e-12)


@pytest.mark.parametrize(
    "name", ["sample.csv", "local_sample.csv", "sample-semicolons.csv", "sample-unix-time.csv"]
)
def test_otava_sample_csvs(name: str) -> None:
    options = CsvOptions()
    options.delimiter = ";" if "semicolons" in name else ","
    attributes = [] if "unix" in name else ["commit"]
    metrics = [CsvMetric(m, 1, 1.0, m) for m in ("metric1", "metric2")]
    config = CsvTestConfig("t", str(SAMPLES / name), options, "time", metrics, attributes)
    theirs = CsvImporter().fetch_data(config, everything())
    analysed = theirs.analyze(AnalysisOptions())
    mine = otava_csv.parse(SAMPLES / name)
    assert [s.name for s in mine] == ["metric1", "metric2"]
    for s in mine:
        assert [int(t.timestamp()) for t in s.times] == theirs.time
        assert s.values == theirs.data[s.name]
        assert s.attributes == {a: theirs.attributes[a] for a in attributes}
        same(detect(s.values, OTAVA), analysed.change_points[s.name])
    # the step of metric2 at row 6 is the one change Otava reports
    assert [cp.index for cp in detect(mine[1].values, OTAVA)] == [6]


def test_otava_histostat_log() -> None:
    theirs = HistoStatImporter().fetch_data(
        HistoStatTestConfig("h", str(SAMPLES / "histostat.csv")), everything()
    )
    analysed = theirs.analyze(AnalysisOptions())
    mine = {s.name: s for s in otava_csv.parse(SAMPLES / "histostat.csv")}
    assert set(mine) == set(theirs.data)
    for name, s in mine.items():
        assert s.values == theirs.data[name]
        same(detect(s.values, OTAVA), analysed.change_points[name])
    # Otava keeps whole seconds on one time axis shared by all tags; we keep each tag's own.
    times = [int(t.timestamp()) for t in mine["initialize.tokenfiller.p50"].times]
    assert times == theirs.time


def random_series(seed: int) -> list[float]:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 300))
    kind = seed % 4
    if kind == 0:
        x = rng.normal(size=n)
    elif kind == 1:  # integers: many exact ties in the statistic
        x = rng.integers(0, 10, n).astype(float)
    elif kind == 2:  # two decimals, one step
        x = np.round(rng.normal(100, 5, n) + 20 * (np.arange(n) > n // 2), 2)
    else:  # a new level every 30 points
        x = rng.normal(size=n) + np.repeat(rng.normal(0, 3, n // 30 + 1), 30)[:n]
    return [float(v) for v in x]


@pytest.mark.parametrize("seed", range(40))
def test_random_series_match_otava(seed: int) -> None:
    values = random_series(seed)
    theirs = compute_change_points(values)[0]
    same(detect(values, OTAVA), theirs)
    assert [c for c, _ in ed.otava_change_points(values)] == [c.index for c in theirs]


def test_synthetic_5000_matches_otava() -> None:
    values = np.loadtxt(SYNTHETIC, delimiter=",", skiprows=1)[:, 1].tolist()
    theirs = compute_change_points(values)[0]
    assert len(theirs) == 17
    same(detect(values, OTAVA), theirs)


@pytest.mark.parametrize(("window", "pvalue", "magnitude"), [(10, 0.01, 0.0), (80, 0.05, 0.02)])
def test_non_default_options_match_otava(window: int, pvalue: float, magnitude: float) -> None:
    values = np.loadtxt(SYNTHETIC, delimiter=",", skiprows=1)[:600, 1].tolist()
    config = ChangePointConfig(
        otava_compatible=True, window=window, max_pvalue=pvalue, min_magnitude=magnitude
    )
    same(detect(values, config), compute_change_points(values, window, pvalue, magnitude)[0])


def test_analyze_path_matches_too() -> None:
    # Otava's Series.analyze (what `otava analyze` runs) on a series built by hand.
    values = random_series(3)
    series = Series("t", None, list(range(len(values))), {}, {"m": values}, {})
    same(detect(values, OTAVA), series.analyze(AnalysisOptions()).change_points["m"])


@pytest.mark.parametrize("seed", range(6))
def test_orig_edivisive_with_the_same_seed_matches_otava(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    n = int(rng.integers(15, 70))
    level = 6.0 * (np.arange(n) > n // 3) - 4.0 * (np.arange(n) > 2 * n // 3)
    values = (rng.normal(size=n) + level).tolist()
    config = ChangePointConfig(otava_compatible=True, orig_edivisive=True, seed=seed)
    mine = detect(values, config)
    theirs = compute_change_points_orig(values, max_pvalue=0.001, seed=seed)[0]
    assert [(cp.index, cp.pvalue) for cp in mine] == [(c.index, c.stats.pvalue) for c in theirs]
    assert mine, "steps of 4 and 6 sigma are found"


def test_statistic_equals_otavas_bit_for_bit_on_integers() -> None:
    rng = np.random.default_rng(1)
    for _ in range(100):
        size = int(rng.integers(2, 60))
        y = rng.integers(0, 1000, size).astype(float)
        lo = int(rng.integers(0, size - 1))
        hi = int(rng.integers(lo + 2, size + 1))
        theirs = PairDistanceCalculator(y).get_candidate_change_point(slice(lo, hi))
        assert ed.best_split_any_end(ed.within_table(y), lo, hi) == (theirs.index, theirs.qhat)


def brute_q(x: np.ndarray, start: int, tau: int, end: int, alpha: float) -> float:
    """Matteson & James's Q of ``x[start:tau]`` against ``x[tau:end]``, pair by pair."""
    a, b = x[start:tau], x[tau:end]
    n, m = len(a), len(b)

    def dist(u: np.ndarray, v: np.ndarray) -> np.ndarray:
        return np.abs(u[:, None] - v[None, :]) ** alpha

    within_a = dist(a, a).sum() / (n * (n - 1)) if n > 1 else 0.0
    within_b = dist(b, b).sum() / (m * (m - 1)) if m > 1 else 0.0
    energy = 2 * dist(a, b).mean() - within_a - within_b
    return float(n * m / (n + m) * energy)


def test_statistics_match_their_definition() -> None:
    rng = np.random.default_rng(4)
    x = rng.normal(size=120) + (np.arange(120) >= 70)
    lo, hi = 10, 110
    taus = range(lo, hi + 1)
    energy = [brute_q(x, 0, t, 120, 1.0) for t in taus]
    means = [brute_q(x, 0, t, 120, 2.0) for t in taus]
    s1 = np.concatenate(([0.0], np.cumsum(x)))
    s2 = np.concatenate(([0.0], np.cumsum(x**2)))
    assert ed.qhat_to_end(ed.within_table(x), 0, 120, lo, hi) == pytest.approx(energy)
    assert ed.qhat_means(s1, s2, 0, 120, lo, hi) == pytest.approx(means)
    # refine_split: exact argmax of Q between fixed neighbours, over a sub-range
    assert ed.refine_split(x, 0, 60, 120, 40, 90) == 40 + int(np.argmax(energy[30:81]))


def test_ttest_is_scipys_student_test_on_population_stds() -> None:
    rng = np.random.default_rng(2)
    for _ in range(50):
        a, b = rng.normal(size=int(rng.integers(1, 20))), rng.normal(size=int(rng.integers(2, 20)))
        s = ed.otava_ttest(a, b)
        p = ttest_ind_from_stats(a.mean(), a.std(), len(a), b.mean(), b.std(), len(b)).pvalue
        assert s.pvalue == pytest.approx(p, rel=1e-12)


def test_otava_quirks_are_reproduced() -> None:
    # 1. Equal values whose numpy means differ by one ulp: a zero-variance t-test says p = 0.
    flat = [6.619934567537504e-228] * 255
    assert [c.index for c in compute_change_points(flat)[0]] == [226, 227]
    same(detect(flat, OTAVA), compute_change_points(flat)[0])
    assert detect(flat) == []  # the default mode treats sub-resolution differences as none
    # 2. After removing a point, Otava's merge re-tests its right neighbour and the one after
    #    that, not its left neighbour, whose statistics stay those of the old split. Here
    #    the point at 30 is reported with p = 1.3e-4, where its final neighbours give 1.1e-3.
    rng = np.random.default_rng(3)
    n = int(rng.integers(30, 200))
    values = (rng.normal(size=n) + np.repeat(rng.normal(0, 2, n // 15 + 1), 15)[:n]).round(1)
    theirs = compute_change_points(values.tolist())[0]
    mine = detect(values, OTAVA)
    same(mine, theirs)
    k = [cp.index for cp in mine].index(30)
    bounds = [0, *(cp.index for cp in mine), n]
    fresh = ed.otava_ttest(values[bounds[k] : 30], values[30 : bounds[k + 2]])
    assert mine[k].pvalue == pytest.approx(1.3485e-4, rel=1e-3)
    assert fresh.pvalue == pytest.approx(1.0825e-3, rel=1e-3)


def test_config_is_checked() -> None:
    with pytest.raises(InputError, match="max_pvalue"):
        ChangePointConfig(max_pvalue=0.0)
    with pytest.raises(InputError, match="min_segment"):
        ChangePointConfig(min_segment=0)
    with pytest.raises(InputError, match="window"):
        ChangePointConfig(window=1)
    with pytest.raises(InputError, match="otava_compatible"):
        ChangePointConfig(orig_edivisive=True)
    with pytest.raises(InputError, match="position 2"):
        detect([1.0, 2.0, float("nan")])
    with pytest.raises(InputError, match="at most"):
        detect(np.zeros(3000), ChangePointConfig(otava_compatible=True, orig_edivisive=True))
