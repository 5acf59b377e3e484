"""Acceptance: `fleetwise experiment run` on the shipped data-loader example (workers 0 vs 2)
measures a speedup with its CI and a $ figure, stored and listable; bad files write nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from fleetwise.models import Action
from fleetwise.plan.experiments import load_experiment
from fleetwise.present.cli import main
from fleetwise.store import Store

EXAMPLE = Path(__file__).parents[2] / "examples" / "experiment-dataloader-workers.yaml"


def _small_example(tmp_path: Path) -> Path:
    text = EXAMPLE.read_text()
    shipped = "params: {files: 48, file_kb: 64, batch_size: 16, cache: cold}"
    assert shipped in text
    path = tmp_path / "exp.yaml"
    path.write_text(
        text.replace(shipped, "params: {files: 16, file_kb: 16, batch_size: 8, cache: cold}")
    )
    return path


def _json(args: list[str], capsys: pytest.CaptureFixture[str]) -> Any:
    assert main(args) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


@pytest.mark.slow
def test_shipped_example_measures_and_prices_a_speedup(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = f"sqlite:///{tmp_path / 'fleetwise.db'}"
    store = Store(db)
    (action,) = store.add_actions([Action(title="workers=2", savings_usd_per_year=10_000)])
    doc = _json(
        [
            "experiment",
            "run",
            str(_small_example(tmp_path)),
            "--action",
            str(action),
            "--db",
            db,
            "--json",
            "--no-progress",
        ],
        capsys,
    )
    assert doc["status"] == "completed"
    # interleaved: 0, 2, 0, 2, 0, 2
    assert doc["runs"] == {"workers-0": [1, 3, 5], "workers-2": [2, 4, 6]}
    (o,) = doc["outcomes"]
    assert o["variant"] == "workers-2" and o["metric"] == "samples_per_s"
    assert o["speedup"] == pytest.approx(o["variant_value"] / o["baseline_value"])
    assert o["speedup_low"] <= o["speedup"] <= o["speedup_high"]
    assert "3 + 3 runs" in o["method"]
    # 64 GPUs x 8,760 h x 70% busy x 20% affected x (1 - 1/speedup) at $2.50
    hours = 64 * 8760 * 0.7 * 0.2 * (1 - 1 / o["speedup"])
    assert o["gpu_hours_per_year"] == pytest.approx(hours, abs=0.1)
    assert o["usd_per_year"] == pytest.approx(hours * 2.5, abs=0.5)
    assert o["usd_per_year_low"] <= o["usd_per_year"] <= o["usd_per_year_high"]
    (row,) = doc["predicted_vs_measured"]
    assert row["predicted_usd_per_year"] == 10_000
    listed = _json(["experiment", "list", "--db", db, "--json"], capsys)["experiments"]
    assert [e["outcomes"][0]["speedup"] for e in listed] == [o["speedup"]]
    shown = _json(["experiment", "show", str(doc["id"]), "--db", db, "--json"], capsys)
    assert shown["outcomes"] == doc["outcomes"]
    assert {t for r in store.list_runs() for t in r.tags} >= {
        "experiment:1",
        "experiment:1:workers-2",
    }
    store.close()


BAD = {
    "unknown parameter": (
        "variants:\n  - name: workers-2\n    params: {num_workers: 2}",
        "variants:\n  - name: workers-2\n    params: {num_wrkers: 2}",
        "variants.0.params.num_wrkers: unknown parameter",
    ),
    "wrong type": ("runs: 3", "runs: many", "runs: Input should be a valid integer"),
    "unknown metric": ("metric: samples_per_s", "metric: tokens", "has no metric 'tokens'"),
    "missing fleet": ("fleet:\n", "fleeet:\n", "fleeet: unknown key (did you mean 'fleet'?)"),
    "no workers": (
        "sampling: {warmup: 1,",
        "sampling: {processes: 0, warmup: 1,",
        "sampling.processes: Input should be greater than or equal to 1",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_experiment_file_writes_nothing(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old, new, message = BAD[case]
    text = EXAMPLE.read_text()
    assert old in text
    path = tmp_path / "exp.yaml"
    path.write_text(text.replace(old, new))
    db = tmp_path / "fleetwise.db"
    assert main(["experiment", "run", str(path), "--db", str(db)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(path) in err and message in err, err
    assert not db.exists()


def test_unknown_action_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = f"sqlite:///{tmp_path / 'fleetwise.db'}"
    assert main(["experiment", "run", str(EXAMPLE), "--action", "7", "--db", db]) == 2
    assert "no action 7" in capsys.readouterr().err
    store = Store(db)
    assert store.experiments() == [] and store.list_runs() == []
    store.close()


def test_sampling_sets_the_worker_processes_of_every_run(tmp_path: Path) -> None:
    """One worker per run unless the file says otherwise (a suite's ``processes``)."""
    _, suites = load_experiment(EXAMPLE)
    assert {c.processes for s in suites.values() for c in s.cases} == {1}
    path = tmp_path / "exp.yaml"
    path.write_text(EXAMPLE.read_text().replace("sampling: {", "sampling: {processes: 4, "))
    _, suites = load_experiment(path)
    assert {n: [c.processes for c in s.cases] for n, s in suites.items()} == {
        "workers-0": [4],
        "workers-2": [4],
    }
