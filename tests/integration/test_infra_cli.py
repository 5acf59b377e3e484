"""Platform changes end to end: a driver upgrade seen in run fingerprints annotates the
regression after it, fails as a deployment, and the change log imports beside it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from fleetwise.models import ResultRecord, RunStatus
from fleetwise.present.cli import main
from fleetwise.stats import summarize
from fleetwise.store import Store

DATA = Path(__file__).parents[1] / "data" / "process"


def _fp(driver: str) -> dict[str, object]:
    return {
        "host": "gpu-a07",
        "cpu": {"model": "Intel Xeon Platinum 8480+", "cores": 112},
        "gpus": [{"name": "NVIDIA H100 80GB HBM3", "driver": driver}],
        "cuda_driver_version": "12.4",
        "os": {"name": "Debian GNU/Linux 12 (bookworm)", "kernel": "6.1.0-26-amd64"},
        "libraries": {"torch": "2.13.0"},
    }


def fill(db: Path) -> None:
    """Ten runs on driver 550, then ten on 560 that are 12% slower."""
    store = Store(f"sqlite:///{db}")
    rng = np.random.default_rng(7)
    envs = {
        d: store.save_environment(_fp(d), h * 64)
        for d, h in (("550.54.15", "a"), ("560.35.03", "b"))
    }
    for i in range(20):
        driver = "550.54.15" if i < 10 else "560.35.03"
        env = envs[driver]
        run = store.create_run("gpu", {"cases": []}, environment_id=env)
        samples = list((700.0 if i < 10 else 616.0) * (1 + rng.normal(0, 0.003, 5)))
        store.add_results(
            run.id,
            [
                ResultRecord(
                    case_key="000-a",
                    case_index=0,
                    benchmark="compute.gemm",
                    layer="compute",
                    params={"size": 8192, "dtype": "bf16", "device": "cuda"},
                    metric="tflops",
                    unit="TFLOP/s",
                    direction="higher",
                    samples=samples,
                    summary=summarize(samples),
                    environment_id=env,
                    started_at=run.started_at,
                )
            ],
        )
        store.set_run_status(run.id, RunStatus.COMPLETED)
    store.close()


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_a_driver_upgrade_annotates_the_regression_and_fails_as_a_deployment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "f.db")
    fill(tmp_path / "f.db")
    code, out, _ = cli(capsys, "regressions", "--db", db, "--json")
    assert code == 0
    (cp,) = json.loads(out)["change_points"]
    assert cp["kind"] == "regression" and cp["index"] == 10
    assert cp["infra"] == [f"driver 550.54.15 -> 560.35.03 (gpu-a07, {cp['time'][:10]})"]
    assert cp["infra_keys"] == ["gpu-a07:gpus.driver:run11"]
    code, out, _ = cli(capsys, "regressions", "--db", db)
    assert "platform change driver 550.54.15 -> 560.35.03" in out
    code, out, _ = cli(capsys, "regressions", "--db", db, "--format", "csv")
    assert out.splitlines()[0].endswith(",changed,infra") and "560.35.03" in out
    series = cp["series"]
    code, out, _ = cli(capsys, "bench", "history", series, "--db", db)
    assert code == 0 and "after driver 550.54.15 -> 560.35.03" in out

    code, out, _ = cli(capsys, "process", "infra", "--db", db, "--json")
    assert code == 0
    doc = json.loads(out)["infra"]
    (verdict,) = doc["verdicts"]
    assert verdict["failed"] and verdict["origin"] == "fingerprints"
    assert verdict["reasons"] == [f"benchmark regression: {series}"]
    assert doc["change_failure_rate"] == 1.0

    # The change log adds its seven changes; re-importing it adds nothing.
    log = str(DATA / "infra_changes.yaml")
    code, out, _ = cli(capsys, "process", "import", log, "--db", db)
    assert code == 0 and "as infra-changes: 7 infra_change; 7 added" in out
    code, out, _ = cli(capsys, "process", "import", log, "--db", db)
    assert "0 added, 7 already stored" in out
    code, out, _ = cli(capsys, "process", "infra", "--db", db)
    assert code == 0
    assert "platform changes as deployments" in out and "driver" in out
    # Software DORA is not diluted by platform changes.
    code, _, err = cli(capsys, "process", "dora", "--db", db)
    assert code == 2 and "no deployments in the store" in err


def test_the_dashboard_shows_the_platform_change_beside_the_change_point(
    tmp_path: Path,
) -> None:
    import warnings

    from fleetwise.present.web.app import create_app

    with warnings.catch_warnings():
        # Starlette deprecates its httpx-based client for a package not installed here.
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    fill(tmp_path / "f.db")
    with TestClient(create_app(f"sqlite:///{tmp_path / 'f.db'}")) as client:
        page = client.get("/benchmarks.json").json()
        (cp,) = page["history"]["change_points"]
        assert cp["infra"][0].startswith("driver 550.54.15 -> 560.35.03 (gpu-a07")
        html = client.get("/benchmarks").text
        assert "platform changes just before" in html and "560.35.03" in html


def test_an_empty_store_says_how_to_get_platform_changes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "e.db")
    Store(f"sqlite:///{db}").close()
    code, _, err = cli(capsys, "process", "infra", "--db", db)
    assert code == 2 and "no platform changes" in err and err.count("\n") == 1
