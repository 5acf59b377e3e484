"""A property-based fuzzer of the whole command line: every numeric and date option of every
command, found by introspecting the Typer app (a new command or option is covered without
touching this file).

For each command hypothesis draws a value for each of its int, float, date and datetime
parameters (options and arguments): NaN, infinities, negative, zero, huge (past 64 bits),
tiny, ordinary values, impossible and far-away dates. The command runs in-process
(``fleetwise.present.cli.main``) against a copy of a seeded store (benchmark runs with a
series, KPIs, a backlog, retrospectives, process events, 800 Alibaba jobs, node state). It
must:

- exit 0, 2 (bad input) or 3 (``regressions --fail-on`` found something);
- never print a traceback; a refusal (exit 2) is exactly one line on stderr;
- never store a non-finite number: every cell of every table of the store, JSON columns
  included, is scanned after each run.

Not fuzzed, because they run benchmarks for real or never return: ``bench run``,
``bench verify`` and ``experiment run`` (they measure this machine for seconds to
minutes per example; their inputs are files, checked by ``test_fuzz_inputs.py``) and
``serve`` (it serves until stopped). ``capacity size`` always gets ``--jobs`` from the
draw, never its 50,000-job default, so an example stays well under a second.

The budget is ``FUZZ_EXAMPLES`` examples per command (default 6, derandomised so that
``make test`` is repeatable and stays under a minute). A longer campaign:
``FUZZ_EXAMPLES=200 pytest tests/property/test_cli_fuzz.py``.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import shutil
import sqlite3
import sys
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.main import get_command

from fleetwise.present.cli import app, main

ROOT = Path(__file__).parents[2]
DATA = ROOT / "tests" / "data"
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "6"))

sys.path.insert(0, str(ROOT / "tests" / "integration"))
from web_seed import seed  # noqa: E402

#: Commands not fuzzed, and why (see the module docstring).
SKIPPED = {
    "bench run": "runs a suite for real",
    "bench verify": "re-runs a suite for real",
    "experiment run": "runs benchmarks for real",
    "serve": "serves until stopped",
}

#: Values for the parameters that are neither numbers nor dates but that a command needs,
#: so that the fuzzed numbers reach the code behind them.
FIXED: dict[str, list[str]] = {
    "decide": ["approve", "--by", "fuzz"],
    "bench compare": ["baseline", "after:action-1"],
    "bench history": ["storage.dataloader"],
    "plan add": ["--title", "fuzzed action"],
    "cluster import": [str(DATA / "clusters" / "alibaba_pods_head800.csv")],
    "cluster nodes": [str(DATA / "clusters" / "nodes" / "scontrol_show_node.txt")],
    "capacity size": ["--slo", "p95 wait < 1h"],
    "trace diff": [str(DATA / "kineto" / "amd_mi250_minitoy")] * 2,
    "kpi show": ["loader-throughput"],
}
#: Options always passed (drawn, never their default) to keep an example short.
ALWAYS = {"capacity size": {"--jobs"}}

NUMBER_TYPES = (int, float, date, datetime)
#: Commands that read back every kind of stored record after each fuzzed command.
READ_BACK = (["plan", "list", "--json"], ["kpi", "list", "--json"], ["analysis", "list"])


def _commands() -> Iterator[tuple[str, Any]]:
    def walk(cmd: Any, path: list[str]) -> Iterator[tuple[str, Any]]:
        if hasattr(cmd, "list_commands"):
            for name in cmd.list_commands(None):
                yield from walk(cmd.get_command(None, name), [*path, name])
        else:
            yield " ".join(path), cmd

    yield from walk(get_command(app), [])


def _kind(param: Any) -> type | None:
    """int, float, date or datetime when the parameter takes one (or a list of them)."""
    annotation = param.type_descriptor.annotation
    inner = getattr(annotation, "__args__", None)
    if inner and len(inner) == 1:  # list[int]
        annotation = inner[0]
    if annotation in NUMBER_TYPES:
        return annotation  # type: ignore[no-any-return]
    return None


def _fuzzed(cmd: Any) -> list[tuple[Any, type]]:
    return [(p, k) for p in cmd.params if (k := _kind(p)) is not None]


ALL = dict(_commands())
TARGETS = sorted(name for name, cmd in ALL.items() if _fuzzed(cmd) and name not in SKIPPED)

EDGE_FLOATS = ["nan", "-nan", "inf", "-inf", "1e308", "-1e308", "1e-320", "-0.0", "1e20", "-1"]
EDGE_INTS = ["0", "-1", "-5", str(2**31), str(2**63), str(2**64), "99999999999999999999"]
EDGE_DATES = ["2026-13-45", "2026-02-30", "0001-01-01", "9999-12-31", "1969-12-31", "20260101"]
EDGE_TIMES = ["2026-01-01T25:00", "0001-01-01T00:00:00", "9999-12-31T23:59:59", "1e10"]


def _value(kind: type) -> st.SearchStrategy[str]:
    if kind is float:
        ordinary = st.floats(-1e6, 1e6, allow_nan=False).map(repr)
        return st.one_of(ordinary, st.floats(0, 2).map(repr), st.sampled_from(EDGE_FLOATS))
    if kind is int:
        ordinary = st.integers(-3, 400).map(str)
        return st.one_of(ordinary, ordinary, st.sampled_from(EDGE_INTS))
    days = st.dates(date(1900, 1, 1), date(2300, 12, 31)).map(date.isoformat)
    if kind is date:
        return st.one_of(days, days, st.sampled_from(EDGE_DATES))
    moments = st.datetimes(datetime(1900, 1, 1), datetime(2300, 1, 1)).map(datetime.isoformat)
    return st.one_of(moments, moments, st.sampled_from([*EDGE_TIMES, *EDGE_DATES]))


def _argv(name: str, cmd: Any, data: st.DataObject) -> list[str]:
    argv = [*name.split(), *FIXED.get(name, [])]
    for param, kind in _fuzzed(cmd):
        always = param.required or param.opts[0] in ALWAYS.get(name, set())
        if not always and not data.draw(st.booleans(), label=f"give {param.name}"):
            continue
        value = data.draw(_value(kind), label=param.name)
        if param.param_type_name == "argument":
            argv.insert(len(name.split()), value)
        else:
            argv += [param.opts[0], value]
    return argv


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("fuzz-seed")
    db = folder / "seed.db"
    seed(db)
    nodes = str(DATA / "clusters" / "nodes" / "scontrol_show_node.txt")
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["cluster", "nodes", nodes, "--db", str(db)]) == 0
    return db


def _not_finite(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(_not_finite(v) for v in value.values())
    if isinstance(value, list):
        return any(_not_finite(v) for v in value)
    return False


def non_finite_cells(db: Path) -> list[str]:
    """``table.column`` of every stored NaN or infinity, JSON text included."""
    found = []
    with contextlib.closing(sqlite3.connect(db)) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            cur = conn.execute(f'SELECT * FROM "{table}"')
            columns = [d[0] for d in cur.description]
            for row in cur:
                for column, cell in zip(columns, row, strict=True):
                    if isinstance(cell, str) and cell[:1] in "[{":
                        with contextlib.suppress(ValueError):
                            cell = json.loads(cell)
                    if _not_finite(cell):
                        found.append(f"{table}.{column}")
    return found


@pytest.mark.parametrize("name", TARGETS)
def test_every_number_and_date_option(
    name: str,
    seeded: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)  # reports write ./briefing.html and the like
    cmd = ALL[name]
    counter = iter(range(10**9))

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        db = tmp_path / f"fuzz-{next(counter)}.db"
        shutil.copyfile(seeded, db)
        argv = [*_argv(name, cmd, data), "--db", str(db)]
        if "--db" not in {o for p in cmd.params for o in p.opts}:
            argv = argv[:-2]
        capsys.readouterr()
        code = main(argv)
        out, err = capsys.readouterr()
        shown = " ".join(argv)
        assert "Traceback" not in out + err, shown
        assert code in (0, 2, 3), f"{shown}: exit {code}\n{err}"
        if code == 2:
            lines = err.strip().splitlines()
            assert len(lines) == 1 or "Usage:" in err, f"{shown}:\n{err}"
        _check_stored(db, shown, code, capsys)
        db.unlink()

    run()


def _check_stored(db: Path, shown: str, code: int, capsys: pytest.CaptureFixture[str]) -> None:
    assert non_finite_cells(db) == [], shown
    if code != 0:
        return
    # What was stored must read back: a value refused on the way out (an impossible date,
    # a number out of a record's range) is a bug of the way in.
    for reader in READ_BACK:
        capsys.readouterr()
        back = main([*reader, "--db", str(db)])
        out, err = capsys.readouterr()
        assert back == 0 and "Traceback" not in out + err, f"{shown}, then {reader}:\n{err}"


def _edges(kind: type) -> list[str]:
    if kind is float:
        return EDGE_FLOATS
    if kind is int:
        return EDGE_INTS
    return EDGE_DATES if kind is date else [*EDGE_TIMES, *EDGE_DATES]


@pytest.mark.parametrize("name", TARGETS)
def test_every_edge_value_of_every_option(
    name: str,
    seeded: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each numeric and date option alone, with each edge value once (NaN, infinities,
    huge, negative, impossible dates): the sweep the drawn examples may miss."""
    monkeypatch.chdir(tmp_path)
    cmd = ALL[name]
    fuzzed = _fuzzed(cmd)
    for param, kind in fuzzed:
        for value in _edges(kind):
            db = tmp_path / "edge.db"
            shutil.copyfile(seeded, db)
            argv = [*name.split(), *FIXED.get(name, [])]
            for other, other_kind in fuzzed:  # required ones and ALWAYS get an ordinary value
                if other is param:
                    continue
                if other.required or other.opts[0] in ALWAYS.get(name, set()):
                    ordinary = {int: "2", float: "1.5", date: "2026-06-01"}.get(
                        other_kind, "2026-06-01T00:00:00"
                    )
                    argv += (
                        [ordinary]
                        if other.param_type_name == "argument"
                        else [
                            other.opts[0],
                            ordinary,
                        ]
                    )
            if param.param_type_name == "argument":
                argv.insert(len(name.split()), value)
            else:
                argv += [param.opts[0], value]
            if "--db" in {o for p in cmd.params for o in p.opts}:
                argv += ["--db", str(db)]
            capsys.readouterr()
            code = main(argv)
            out, err = capsys.readouterr()
            shown = " ".join(argv)
            assert "Traceback" not in out + err, shown
            assert code in (0, 2, 3), f"{shown}: exit {code}\n{err}"
            _check_stored(db, shown, code, capsys)
            db.unlink()


def test_the_fuzzer_finds_the_options() -> None:
    """The introspection sees the commands and options this file was written against."""
    assert {"plan add", "capacity forecast", "cluster analyze", "bench list"} <= set(TARGETS)
    names = {p.opts[0] for p, _ in _fuzzed(ALL["plan add"])}
    assert {"--savings", "--confidence", "--effort", "--depends-on"} <= names
    assert {k for _, k in _fuzzed(ALL["plan update"])} >= {int, date}
    assert datetime in {k for _, k in _fuzzed(ALL["regressions"])}
