"""Properties of the DCGM parser: any valid samples, in the text exposition and the CSV
shape, give the same series; utilization is SM_ACTIVE's mean per time when present, else
GPU_UTIL's; a value out of its range is an InputError naming the line."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fleetwise.collect.importers import dcgm
from fleetwise.collect.importers.telemetry import import_telemetry
from fleetwise.errors import InputError

T0 = 1709280000

ratio = st.floats(min_value=0, max_value=1, allow_nan=False).map(lambda v: round(v, 4))
percent = st.integers(min_value=0, max_value=100)


@st.composite
def grids(draw: st.DrawFn) -> tuple[int, int, list[list[tuple[float, int]]], bool]:
    times = draw(st.integers(min_value=1, max_value=6))
    gpus = draw(st.integers(min_value=1, max_value=5))
    values = [[(draw(ratio), draw(percent)) for _ in range(gpus)] for _ in range(times)]
    return times, gpus, values, draw(st.booleans())


_FOLDERS = itertools.count()


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("dcgm")


def _write(root: Path, text: str, suffix: str) -> Path:
    where = root / str(next(_FOLDERS))
    where.mkdir()
    path = where / f"t{suffix}"
    path.write_text(text)
    return path


def _prom(values: list[list[tuple[float, int]]], with_sm: bool) -> str:
    lines = []
    for i, row in enumerate(values):
        for g, (sm, util) in enumerate(row):
            labels = f'gpu="{g}",Hostname="n{g // 4}"'
            ts = (T0 + 60 * i) * 1000
            lines.append(f"{dcgm.UTIL}{{{labels}}} {util} {ts}")
            if with_sm:
                lines.append(f"{dcgm.SM_ACTIVE}{{{labels}}} {sm} {ts}")
    return "\n".join(lines) + "\n"


def _csv(values: list[list[tuple[float, int]]], with_sm: bool) -> str:
    head = ["timestamp", "Hostname", "gpu", dcgm.UTIL] + ([dcgm.SM_ACTIVE] if with_sm else [])
    rows = [",".join(head)]
    for i, row in enumerate(values):
        for g, (sm, util) in enumerate(row):
            cells = [str(T0 + 60 * i), f"n{g // 4}", str(g), str(util)]
            rows.append(",".join(cells + ([str(sm)] if with_sm else [])))
    return "\n".join(rows) + "\n"


@settings(max_examples=60, deadline=None)
@given(grids())
def test_utilization_is_the_mean_of_the_basis_field(
    folder: Path, grid: tuple[int, int, list[list[tuple[float, int]]], bool]
) -> None:
    times, gpus, values, with_sm = grid
    prom = import_telemetry(_write(folder, _prom(values, with_sm), ".prom"))
    table = import_telemetry(_write(folder, _csv(values, with_sm), ".csv"))
    expected = [
        float(np.mean([sm if with_sm else util / 100 for sm, util in row])) for row in values
    ]
    for s in (prom, table):
        assert s.basis == ("SM_ACTIVE" if with_sm else "GPU_UTIL")
        assert s.utilization.tolist() == pytest.approx(expected)
        assert s.total.tolist() == [float(gpus)] * times
        assert np.all((s.utilization >= 0) & (s.utilization <= 1))
    assert prom.times.tolist() == table.times.tolist()


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from([dcgm.UTIL, *dcgm.RATIOS]),
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6),
)
def test_a_value_out_of_range_names_its_line(folder: Path, field: str, value: float) -> None:
    top = 100 if field == dcgm.UTIL else 1
    text = f'{field}{{gpu="0"}} 0 {T0}000\n{field}{{gpu="1"}} {value!r} {T0}000\n'
    path = _write(folder, text, ".prom")
    if 0 <= value <= top:
        assert import_telemetry(path).total.tolist() == [2.0]
    else:
        with pytest.raises(InputError, match=rf"t.prom:2: {field} .* is not 0-{top}"):
            import_telemetry(path)
