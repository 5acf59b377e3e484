"""Properties of the fio JSON importer: bad input only ever raises InputError, and whatever
parses has monotone, finite, non-negative latency percentiles."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fleetwise.collect.importers import fio as fio_json
from fleetwise.errors import InputError

FIO_DATA = Path(__file__).resolve().parents[1] / "data" / "fio"
FIXTURES = sorted(FIO_DATA.glob("*"))
RAW = {p.name: p.read_bytes() for p in FIXTURES}
fixture_names = st.sampled_from(sorted(RAW))

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=10,
)


def check_report(report: fio_json.FioReport) -> None:
    """What every successfully parsed report promises."""
    assert report.jobs
    for job in report.jobs:
        for direction in job.directions.values():
            numbers = [direction.bw_bytes_per_s, direction.iops, direction.runtime_s]
            numbers += [direction.clat_mean_us, *direction.clat_percentiles_us.values()]
            assert all(math.isfinite(x) and x >= 0 for x in numbers)
            pcts = sorted(direction.clat_percentiles_us.items())
            values = [v for _, v in pcts]
            assert values == sorted(values), "percentiles must be monotone"
            assert all(0 < p <= 100 for p, _ in pcts)
            named = [direction.clat_p50_us, direction.clat_p90_us, direction.clat_p99_us]
            named.append(direction.clat_p999_us)
            present = [v for v in named if v is not None]
            assert present == sorted(present)


def parse_or_input_error(data: bytes | str) -> fio_json.FioReport | None:
    try:
        report = fio_json.parse_text(data, source="hypothesis")
    except InputError as exc:
        assert "hypothesis" in str(exc)
        return None
    check_report(report)
    return report


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_real_fixtures_parse_with_monotone_percentiles(path: Path) -> None:
    report = fio_json.parse(path)
    check_report(report)
    assert any(job.directions for job in report.jobs)
    for job in report.jobs:
        for direction in job.directions.values():
            assert len(direction.clat_percentiles_us) == 17  # fio's default percentile list


@given(st.binary(max_size=4096))
def test_arbitrary_bytes_raise_only_input_error(data: bytes) -> None:
    parse_or_input_error(data)


@given(st.text(max_size=2048))
def test_arbitrary_text_raises_only_input_error(text: str) -> None:
    parse_or_input_error(text)


@given(fixture_names, st.data())
def test_truncations_of_a_real_output(name: str, data: st.DataObject) -> None:
    raw = RAW[name]
    cut = data.draw(st.integers(min_value=0, max_value=len(raw)))
    report = parse_or_input_error(raw[:cut])
    end = raw.rstrip().rfind(b"}") + 1
    # Only a cut that keeps the whole JSON document can parse.
    assert (report is not None) == (cut >= end)


@given(fixture_names, st.data())
@settings(max_examples=200)
def test_byte_corruptions_of_a_real_output(name: str, data: st.DataObject) -> None:
    raw = bytearray(RAW[name])
    edits = data.draw(
        st.lists(st.tuples(st.integers(0, len(raw) - 1), st.integers(0, 255)), max_size=6)
    )
    for pos, byte in edits:
        raw[pos] = byte
    parse_or_input_error(bytes(raw))


def _document(name: str) -> dict[str, Any]:
    text = RAW[name].decode()
    doc: dict[str, Any] = json.loads(text[text.index("{") :])
    return doc


def _busy_direction(doc: dict[str, Any]) -> dict[str, Any]:
    job = doc["jobs"][0]
    busy: dict[str, Any] = max((job[d] for d in ("read", "write")), key=lambda x: x["total_ios"])
    return busy


PERCENTILE_KEYS = ["1.000000", "50.000000", "90.000000", "99.000000", "99.900000", "99.990000"]


@given(
    fixture_names,
    st.dictionaries(st.sampled_from(PERCENTILE_KEYS), st.integers(0, 10**9), min_size=1),
)
def test_percentile_table_is_accepted_exactly_when_monotone(
    name: str, table: dict[str, int]
) -> None:
    doc = _document(name)
    _busy_direction(doc)["clat_ns"]["percentile"] = table
    values = [v for _, v in sorted(table.items(), key=lambda kv: float(kv[0]))]
    report = parse_or_input_error(json.dumps(doc))
    assert (report is not None) == (values == sorted(values))


@given(
    fixture_names,
    st.dictionaries(
        st.sampled_from([*PERCENTILE_KEYS, "0.00"])
        | st.floats(allow_nan=True).map(lambda f: f"{f:f}"),
        st.integers(min_value=-5, max_value=10**30) | st.floats(allow_nan=True),
        max_size=8,
    ),
)
def test_any_percentile_table_parses_monotone_or_is_rejected(
    name: str, table: dict[str, Any]
) -> None:
    doc = _document(name)
    _busy_direction(doc)["clat_ns"]["percentile"] = table
    parse_or_input_error(json.dumps(doc))


@given(
    fixture_names,
    st.sampled_from(["bw_bytes", "bw", "iops", "io_bytes", "runtime", "total_ios", "clat_ns"]),
    json_values,
)
def test_any_value_in_a_field_parses_or_is_rejected(name: str, key: str, value: Any) -> None:
    doc = _document(name)
    _busy_direction(doc)[key] = value
    parse_or_input_error(json.dumps(doc))


@given(fixture_names, st.sampled_from(["jobs", "fio version"]), json_values)
def test_any_top_level_value_parses_or_is_rejected(name: str, key: str, value: Any) -> None:
    doc = _document(name)
    doc[key] = value
    parse_or_input_error(json.dumps(doc))
