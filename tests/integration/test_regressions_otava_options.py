"""``regressions --otava-compatible`` honours ``--max-pvalue``, ``--min-magnitude`` and
``--window``: the change points it prints equal Apache Otava 0.8's ``analyze`` with the
same settings, on Otava's own sample files (issue 17, part 6)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from otava.analysis import compute_change_points
from otava.csv_options import CsvOptions
from otava.data_selector import DataSelector
from otava.importer import CsvImporter, HistoStatImporter
from otava.series import AnalysisOptions
from otava.test_config import CsvMetric, CsvTestConfig, HistoStatTestConfig

from fleetwise.models import ResultRecord, RunStatus
from fleetwise.present.cli import main
from fleetwise.stats import summarize
from fleetwise.store import Store

DATA = Path(__file__).parents[1] / "data" / "changepoints"
SAMPLES = DATA / "otava_samples"
FILES = ["sample.csv", "local_sample.csv", "sample-semicolons.csv", "sample-unix-time.csv"]
GRID = [(p, w) for p in (0.001, 0.01, 0.2) for w in (30, 50)]


def otava_analysis(name: str, options: AnalysisOptions) -> dict[str, list[Any]]:
    """What ``otava analyze`` finds in one sample file: change points by metric."""
    selector = DataSelector()  # its default keeps only the last 365 days
    selector.since_time = datetime(1970, 1, 2, tzinfo=UTC)
    if name == "histostat.csv":
        series = HistoStatImporter().fetch_data(
            HistoStatTestConfig("h", str(SAMPLES / name)), selector
        )
    else:
        csv_options = CsvOptions()
        csv_options.delimiter = ";" if "semicolons" in name else ","
        metrics = [CsvMetric(m, 1, 1.0, m) for m in ("metric1", "metric2")]
        attributes = [] if "unix" in name else ["commit"]
        config = CsvTestConfig("t", str(SAMPLES / name), csv_options, "time", metrics, attributes)
        series = CsvImporter().fetch_data(config, selector)
    found = series.analyze(options).change_points
    return {metric: found.get(metric, []) for metric in series.data}


def ours(
    capsys: pytest.CaptureFixture[str], path: Path, *options: str
) -> dict[str, list[dict[str, Any]]]:
    code = main(["regressions", "--csv", str(path), "--otava-compatible", "--json", *options])
    out = capsys.readouterr().out
    assert code == 0
    by_series: dict[str, list[dict[str, Any]]] = {}
    for cp in json.loads(out)["change_points"]:
        by_series.setdefault(cp["series"], []).append(cp)
    return by_series


def assert_same(mine: dict[str, list[dict[str, Any]]], theirs: dict[str, list[Any]]) -> int:
    for metric, cps in theirs.items():
        got = mine.get(metric, [])
        assert [c["index"] for c in got] == [int(c.index) for c in cps], metric
        for c, t in zip(got, cps, strict=True):
            assert c["pvalue"] == pytest.approx(t.stats.pvalue, rel=1e-9, abs=1e-300)
            assert c["mean_before"] == pytest.approx(t.stats.mean_1, rel=1e-12)
            assert c["mean_after"] == pytest.approx(t.stats.mean_2, rel=1e-12)
    assert set(mine) <= set(theirs)
    return sum(len(cps) for cps in theirs.values())


@pytest.mark.parametrize(("pvalue", "window"), GRID)
@pytest.mark.parametrize("name", [*FILES, "histostat.csv"])
def test_otava_samples_at_each_p_and_window(
    capsys: pytest.CaptureFixture[str], name: str, pvalue: float, window: int
) -> None:
    options = AnalysisOptions()
    options.max_pvalue, options.window_len = pvalue, window
    mine = ours(capsys, SAMPLES / name, "--max-pvalue", str(pvalue), "--window", str(window))
    assert_same(mine, otava_analysis(name, options))


def test_the_options_change_the_answer(capsys: pytest.CaptureFixture[str]) -> None:
    # On the histostat log a looser p finds more change points than Otava's default, and
    # a magnitude floor removes the small ones: the options are not ignored any more.
    counts = {}
    for pvalue in (0.001, 0.2):
        options = AnalysisOptions()
        options.max_pvalue = pvalue
        mine = ours(capsys, SAMPLES / "histostat.csv", "--max-pvalue", str(pvalue))
        counts[pvalue] = assert_same(mine, otava_analysis("histostat.csv", options))
    assert counts[0.2] > counts[0.001]
    options = AnalysisOptions()
    options.max_pvalue, options.min_magnitude = 0.2, 0.5
    mine = ours(capsys, SAMPLES / "histostat.csv", "--max-pvalue", "0.2", "--min-magnitude", "0.5")
    assert assert_same(mine, otava_analysis("histostat.csv", options)) < counts[0.2]


@pytest.mark.parametrize(("pvalue", "window"), GRID)
def test_a_long_series_at_each_p_and_window(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, pvalue: float, window: int
) -> None:
    # Otava's samples are short (10 and 46 rows), shorter than either window; 600 points
    # of a series with known steps make the window matter.
    values = np.loadtxt(DATA / "synthetic_5000.csv", delimiter=",", skiprows=1)[:600, 1]
    path = tmp_path / "long.csv"
    rows = [f"{1_700_000_000 + 3600 * i},{v!r}" for i, v in enumerate(values.tolist())]
    path.write_text("time,value\n" + "\n".join(rows) + "\n")
    theirs = compute_change_points(values.tolist(), window, pvalue)[0]
    mine = ours(capsys, path, "--max-pvalue", str(pvalue), "--window", str(window))
    assert assert_same(mine, {"value": theirs}) > 0


def test_a_bad_window_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["regressions", "--csv", str(SAMPLES / "sample.csv"), "--window", "1"])
    err = capsys.readouterr().err
    assert code == 2 and "--window" in err


def store_with_a_series(db: Path, medians: list[float]) -> None:
    """One gemm result per run, medians as given (3 samples each)."""
    store = Store(f"sqlite:///{db}")
    env = store.save_environment({"host": "h", "cpu": {"model": "Test", "cores": 2}}, "f" * 64)
    for m in medians:
        run = store.create_run("quick", {"cases": []}, environment_id=env)
        samples = [m, m, m]
        store.add_results(
            run.id,
            [
                ResultRecord(
                    case_key="000-a",
                    case_index=0,
                    benchmark="compute.gemm",
                    layer="compute",
                    params={"size": 256},
                    metric="tflops",
                    unit="TFLOP/s",
                    direction="higher",
                    samples=samples,
                    summary=summarize(samples),
                    environment_id=env,
                    started_at=datetime(2026, 1, 1, tzinfo=UTC),
                )
            ],
        )
        store.set_run_status(run.id, RunStatus.COMPLETED)
    store.close()


def test_bench_history_honours_them_too(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    values = np.loadtxt(DATA / "synthetic_5000.csv", delimiter=",", skiprows=1)[:120, 1]
    store_with_a_series(db, [float(v) for v in values])
    argv = ["bench", "history", "compute.gemm", "--db", str(db), "--json", "--otava-compatible"]
    assert main([*argv, "--max-pvalue", "0.2", "--window", "30"]) == 0
    doc = json.loads(capsys.readouterr().out)
    medians = [p["median"] for p in doc["points"]]
    theirs = compute_change_points(medians, 30, 0.2)[0]
    assert [c["index"] for c in doc["change_points"]] == [int(c.index) for c in theirs]
    assert theirs, "the 120 points hold steps"
    assert main(argv) == 0  # Otava's defaults: p 0.001, window 50
    doc = json.loads(capsys.readouterr().out)
    default = compute_change_points(medians)[0]
    assert [c["index"] for c in doc["change_points"]] == [int(c.index) for c in default]
