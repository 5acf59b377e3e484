"""Telemetry figures as SQL over streamed sample columns equal the per-sample code (the
oracle: ``telemetry.import_telemetry`` and ``node_health.gpu_health``) on every telemetry
fixture; the stream reads each of them itself (no fall-back), the record parser's staged
samples give the same figures, and storing a file again replaces its samples."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from fleetwise.analyze.cluster_telemetry_sql import health_sql, series_sql
from fleetwise.analyze.node_health import GpuHealth, gpu_health
from fleetwise.collect.importers import dcgm
from fleetwise.collect.importers.telemetry import ClusterSeries, import_telemetry
from fleetwise.collect.importers.telemetry_stream import (
    stage_records,
    stage_stream,
    telemetry_format,
)
from fleetwise.errors import InputError
from fleetwise.store import Store
from fleetwise.store.columnar import connect
from fleetwise.usecases.telemetry import (
    import_telemetry_file,
    read_telemetry,
    stored_sources,
    stored_telemetry,
)

CLUSTERS = Path(__file__).parents[1] / "data" / "clusters"


def _telemetry_fixtures() -> list[Path]:
    found = []
    for path in sorted(CLUSTERS.rglob("*")):
        if not path.is_file():
            continue
        try:
            telemetry_format(path)
        except InputError:
            continue
        found.append(path)
    return found


FIXTURES = _telemetry_fixtures()


def test_every_telemetry_shape_has_a_fixture() -> None:
    names = {p.name for p in FIXTURES}
    assert {"dcgm_health.prom", "dcgm_health.csv", "dcgm_health_query_range.json"} <= names
    assert {"dcgm.prom", "dcgm_query_range.json", "helios_vc6YE_3days.csv"} <= names
    assert "philly_node_sequence_10min.csv" in names


def assert_same_series(got: ClusterSeries, want: ClusterSeries) -> None:
    assert (got.source, got.unit, got.basis) == (want.source, want.unit, want.basis)
    assert np.array_equal(got.times, want.times)
    for name in ("total", "busy", "pending", "utilization"):
        a, b = getattr(got, name), getattr(want, name)
        assert np.array_equal(np.isnan(a), np.isnan(b)), name
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=0, err_msg=name)
    assert list(got.fields) == list(want.fields)
    for name, values in want.fields.items():
        np.testing.assert_allclose(got.fields[name], values, rtol=1e-9, atol=0, err_msg=name)


def assert_same_health(got: list[GpuHealth], want: list[GpuHealth]) -> None:
    assert [(g.host, g.gpu) for g in got] == [(g.host, g.gpu) for g in want]
    for a, b in zip(got, want, strict=True):
        assert (a.samples, a.xids, a.counters) == (b.samples, b.xids, b.counters)
        assert a.first_unhealthy == b.first_unhealthy
        assert math.isclose(a.unhealthy_hours, b.unhealthy_hours, rel_tol=1e-9)


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_sql_figures_equal_the_per_sample_code(path: Path) -> None:
    want = import_telemetry(path)
    got = read_telemetry(path)
    assert_same_series(got.series, want)
    assert_same_health(got.health, gpu_health(want.health))
    assert got.name == path.name


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_the_stream_reads_every_fixture_and_the_records_agree(path: Path, tmp_path: Path) -> None:
    fmt = telemetry_format(path)
    want = import_telemetry(path)
    con = connect()
    try:
        streamed = stage_stream(path, fmt, "s", tmp_path / "s.parquet", con)
        assert streamed is not None, "the stream gave the file to the record parser"
        parsed = stage_records(path, fmt, "r", tmp_path / "r.parquet")
        for staged in (streamed, parsed):
            con.execute(f"CREATE OR REPLACE TEMP VIEW samples AS {staged.select}")
            assert_same_series(series_sql(con, "samples", fmt, path.name), want)
            assert_same_health(health_sql(con, "samples"), gpu_health(want.health))
    finally:
        con.close()


def test_a_reimport_replaces_the_source_and_analyses_read_it(tmp_path: Path) -> None:
    path = tmp_path / "dcgm_health.csv"
    path.write_bytes((CLUSTERS / "dcgm_health" / "dcgm_health.csv").read_bytes())
    store = Store(f"sqlite:///{tmp_path / 'fw.db'}")
    try:
        first = import_telemetry_file(store, path)
        again = import_telemetry_file(store, path)
        assert (first.replaced, again.replaced) == (False, True)
        assert first.samples == again.samples == 768
        assert [(s.source, s.samples) for s in stored_sources(store)] == [
            (f"dcgm:{path.resolve()}", 768)
        ]
        stored = stored_telemetry(store, first.source)
        want = import_telemetry(path)
        assert_same_series(stored.series, want)
        assert_same_health(stored.health, gpu_health(want.health))
        # fewer rows in the file: the source's samples are the new file's, not a union
        lines = path.read_text().splitlines(keepends=True)
        path.write_text("".join(lines[:9]))
        fewer = len(dcgm.samples(path))
        assert 0 < fewer < 768
        assert import_telemetry_file(store, path).samples == fewer
        assert [s.samples for s in stored_sources(store)] == [fewer]
        with pytest.raises(InputError, match="no telemetry from 'dcgm:/nowhere'"):
            stored_telemetry(store, "dcgm:/nowhere")
    finally:
        store.close()


def test_bad_input_raises_the_record_parsers_message(tmp_path: Path) -> None:
    bad = tmp_path / "bad.prom"
    bad.write_text('DCGM_FI_PROF_SM_ACTIVE{gpu="0",Hostname="n1"} 42 1709280000000\n')
    with pytest.raises(InputError) as want:
        import_telemetry(bad)
    with pytest.raises(InputError) as got:
        read_telemetry(bad)
    assert str(got.value) == str(want.value)
    assert "bad.prom:1" in str(got.value)
