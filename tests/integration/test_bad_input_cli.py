"""Every bad input of issue 14, through the CLI against a seeded store: exit 2, one line on
stderr naming the option or the file, and the store exactly as it was."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from web_seed import seed

from fleetwise.present.cli import main

HUGE = "99999999999999999999"


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("bad-input") / "seed.db"
    seed(db)
    return db


def _dump(db: Path) -> list[str]:
    conn = sqlite3.connect(db)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def _files(tmp: Path) -> dict[str, str]:
    (tmp / "retro.yaml").write_text("schema_version: 1\ndate: 2026-13-45\nteam: infra\n")
    (tmp / "kpis.yaml").write_text(
        "kpis:\n  - name: nan-goal\n    source: analysis:cluster:x\n    baseline_value: 1\n"
        "    goal_value: .nan\n    goal_date: 2027-01-01\n"
    )
    (tmp / "suite.yaml").write_text("name: typo\ncases:\n  - benchmrk: compute.gemm\n")
    (tmp / "out").mkdir()
    return {name: str(tmp / name) for name in ("retro.yaml", "kpis.yaml", "suite.yaml", "out")}


CASES: list[tuple[list[str], str]] = [
    (["cluster", "analyze", "--gpus", HUGE], "--gpus"),
    (["cluster", "analyze", "--gpus", "-5"], "--gpus"),
    (["plan", "add", "--title", "x", "--savings", "inf"], "--savings"),
    (["plan", "add", "--title", "x", "--savings", "1e308"], "--savings"),
    (["kpi", "add", "@kpis.yaml"], "kpis.yaml:5: kpis.0.goal_value"),
    (["process", "pipeline", "--blocked-fraction", "inf"], "--blocked-fraction"),
    (["process", "dora", "--window-hours", "inf"], "--window-hours"),
    (["capacity", "forecast", "--growth", "nan"], "--growth"),
    (["capacity", "forecast", "--horizon", "100000000"], "--horizon"),
    (["plan", "update", "1", "--start", "2026-05-01", "--end", "2026-01-01"], "--end"),
    (["bench", "export", "1", "--format", "json", "-o", "@out"], "out: cannot write"),
    (["bench", "export", "1", "-o", "/nonexistent/x.csv"], "/nonexistent/x.csv"),
    (["bench", "list", "--limit", HUGE], "--limit"),
    (["bench", "show", HUGE], "RUN"),
    (["capacity", "size", "--slo", "p95 wait < 1h", "--demand", "nan"], "--demand"),
    (["retro", "add", "@retro.yaml"], "retro.yaml:2"),
    (["bench", "run", "@suite.yaml"], "cases.0.benchmrk: unknown key (did you mean 'benchmark'?)"),
    (["kpi", "list", "--today", "2026-13-45"], "--today"),
]


@pytest.mark.parametrize(("argv", "names"), CASES, ids=[" ".join(a) for a, _ in CASES])
def test_bad_input_is_one_line_exit_2_and_stores_nothing(
    argv: list[str],
    names: str,
    seeded: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    files = _files(tmp_path)
    argv = [files[a[1:]] if a.startswith("@") else a for a in argv]
    before = _dump(seeded)
    assert main([*argv, "--db", str(seeded)]) == 2
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("fleetwise: error: "), err
    assert names in lines[0]
    assert out == ""
    assert _dump(seeded) == before


def test_a_store_that_does_not_exist_is_an_error_for_reading(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.db"
    for argv in (["bench", "list"], ["plan", "list"], ["kpi", "list"], ["ledger"]):
        assert main([*argv, "--db", str(missing)]) == 2
        assert f"{missing}: no store there" in capsys.readouterr().err
    assert not missing.exists()
    folder = tmp_path / "no-such-folder" / "x.db"
    assert main(["plan", "add", "--title", "x", "--db", str(folder)]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert not folder.parent.exists()
