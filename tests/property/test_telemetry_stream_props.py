"""The streaming telemetry reader agrees with the record parser: on generated DCGM files in
the three shapes (labels with and without host, GPU and pod, duplicate samples, epoch
seconds and milliseconds, ISO times with zones, padding) it reads every sample itself,
the same as ``dcgm.samples`` in the same order; on mutated fixtures (hypothesis flips,
inserts, deletes and repeats ASCII) it gives the same samples or the same one-line error."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fleetwise.analyze.cluster_telemetry_sql import series_sql
from fleetwise.collect.importers import dcgm
from fleetwise.collect.importers.telemetry import import_telemetry
from fleetwise.collect.importers.telemetry_stream import stage_stream, stage_telemetry
from fleetwise.errors import InputError
from fleetwise.store.columnar import connect

DATA = Path(__file__).parents[1] / "data" / "clusters"
T0 = 1709280000
FIELDS = [dcgm.UTIL, dcgm.SM_ACTIVE, dcgm.RATIOS[2], dcgm.XID, dcgm.ECC_DBE, dcgm.ECC_SBE]
_COUNTER = itertools.count()

Row = tuple[datetime, str, str, str, float, bool | None]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("telemetry_stream")


def _fresh(root: Path, name: str) -> Path:
    where = root / str(next(_COUNTER))
    where.mkdir()
    return where / name


def _record_rows(path: Path) -> list[Row]:
    return [
        (s.time.astimezone(UTC).replace(tzinfo=None), s.field, s.host, s.gpu, s.value, s.allocated)
        for s in dcgm.samples(path)
    ]


def _stream_rows(con: Any, select: str) -> list[Row]:
    rows = con.execute(
        f"SELECT time, field, host, gpu, value, allocated FROM ({select}) ORDER BY seq"
    ).fetchall()
    return [tuple(r) for r in rows]


def _value(draw: st.DrawFn, field: str) -> str:
    if field == dcgm.UTIL:
        return draw(st.sampled_from(["0", "100", "42", "7.5", "99.25"]))
    if field in dcgm.RATIOS:
        return draw(st.sampled_from(["0", "1", "0.5", "0.123456", "1e-3", ".25"]))
    if field == dcgm.XID:
        return draw(st.sampled_from(["0", "13", "79", "48", "999"]))
    return draw(st.sampled_from(["0", "1", "2", "17"]))


@st.composite
def samples(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Samples: a time step, field, labels and value text (duplicates allowed)."""
    out = []
    for _ in range(draw(st.integers(1, 24))):
        field = draw(st.sampled_from(FIELDS))
        labels: dict[str, str] = {}
        host = draw(st.sampled_from(["n1", "gpu-node-02", "", None]))
        gpu = draw(st.sampled_from(["0", "1", "", None]))
        if host is not None:
            labels[draw(st.sampled_from(["Hostname", "instance", "node"]))] = host
        if gpu is not None:
            labels[draw(st.sampled_from(["gpu", "UUID", "device"]))] = gpu
        pod = draw(st.sampled_from([None, "", " ", "train-1"]))
        if pod is not None:
            labels["pod"] = pod
        if draw(st.booleans()):
            labels["modelName"] = draw(st.sampled_from(["H100", "A100 80GB"]))
        if draw(st.booleans()):
            labels["a0"] = "x"  # sorts before 'a=' by code point, after it by name
        step = draw(st.integers(0, 5))
        out.append({"step": step, "field": field, "labels": labels, "value": _value(draw, field)})
    return out


def _ms(step: int, jitter: int) -> int:
    return (T0 + 600 * step) * 1000 + jitter


@given(samples(), st.integers(0, 999), st.booleans())
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_text_exposition(folder: Path, found: list[dict[str, Any]], jitter: int, pad: bool) -> None:
    root = folder
    lines = ["# HELP DCGM_FI_DEV_GPU_UTIL GPU utilization (in %).", ""]
    for i, s in enumerate(found):
        tags = dict(s["labels"], **({"note": 'a \\"b\\", c='} if i % 3 == 0 else {}))
        labels = ",".join(f'{k}="{v}"' for k, v in tags.items())
        body = f"{s['field']}{{{labels}}}" if labels or pad else s["field"]
        line = f"{body} {s['value']} {_ms(s['step'], jitter)}"
        lines.append(f"  {line}\t" if pad else line)
    lines.append("DCGM_FI_DRIVER_VERSION 550 1709280000000")  # not a field read: skipped
    path = _fresh(root, "t.prom")
    path.write_text("\n".join(lines) + "\n")
    _agree(path)


_ZONES = ["Z", "+02:00", "-05:30", ""]


@given(samples(), st.sampled_from(["s", "s.frac", "ms", "iso", "iso.frac"]), st.booleans())
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_csv(folder: Path, found: list[dict[str, Any]], clock: str, spaces: bool) -> None:
    root = folder
    labels = sorted({k for s in found for k in s["labels"]})
    fields = sorted({s["field"] for s in found})
    header = ["timestamp", *labels, *fields]
    rows = []
    for k, s in enumerate(found):
        t = T0 + 600 * s["step"]
        stamp = {
            "s": str(t),
            "s.frac": f"{t}.{k % 7}25",
            "ms": str(t * 1000 + k),
            "iso": datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S") + _ZONES[k % 4],
            "iso.frac": datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%S") + ".5Z",
        }[clock]
        pad = " " if spaces else ""
        cells = [stamp] + [pad + s["labels"].get(c, "") for c in labels]
        cells += [s["value"] + pad if f == s["field"] else "" for f in fields]
        rows.append(",".join(cells))
    path = _fresh(root, "t.csv")
    path.write_text(",".join(header) + "\n" + "\n".join(rows) + "\n")
    _agree(path)


@given(samples(), st.sampled_from(["int", "float", "text", "iso"]))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_query_range_json(folder: Path, found: list[dict[str, Any]], clock: str) -> None:
    root = folder
    result = []
    for k, s in enumerate(found):
        t = T0 + 600 * s["step"]
        ts: Any = {
            "int": t,
            "float": t + 0.25,
            "text": str(t),
            "iso": (datetime.fromtimestamp(t, UTC) + timedelta(seconds=k)).isoformat(),
        }[clock]
        metric = dict(s["labels"])
        if s["field"] != dcgm.UTIL or k % 2:
            metric["__name__"] = s["field"]
        result.append(
            {
                "metric": metric,
                "values": [
                    [ts, s["value"]],
                    [ts + 60 if clock in ("int", "float") else ts, s["value"]],
                ],
            }
        )
    path = _fresh(root, "t.json")
    path.write_text(json.dumps({"status": "success", "data": {"result": result}}))
    _agree(path)


def _agree(path: Path) -> None:
    con = connect()
    try:
        work = path.with_name("staged.parquet")
        staged = stage_stream(path, "dcgm", "s", work, con)
        assert staged is not None, "the stream did not vouch for a well-formed file"
        assert _stream_rows(con, staged.select) == _record_rows(path)
    finally:
        con.close()


# -- mutated fixtures: the same samples, or the same error --------------------------------
SEEDS = {
    "dcgm.prom": (DATA / "formats" / "dcgm.prom", "dcgm"),
    "dcgm_query_range.json": (DATA / "formats" / "dcgm_query_range.json", "dcgm"),
    "dcgm_health.csv": (DATA / "dcgm_health" / "dcgm_health.csv", "dcgm"),
    "helios.csv": (DATA / "helios_vc6YE_3days.csv", "helios"),
    "philly.csv": (DATA / "philly_node_sequence_10min.csv", "philly"),
}
_ASCII = [b",", b'"', b" ", b"\t", b"\r\n", b"\n", b"{", b"}", b"=", b"1e5", b"-1", b"nan", b"Z"]
_ASCII += [b"+02:00", b".", b"0", b"9", b"inf", b"\xc3\xa9", b"__name__", b"pod", b"\x00"]


def _seed(path: Path) -> bytes:
    lines = path.read_bytes().splitlines(keepends=True)
    return b"".join(lines[:25]) if path.suffix != ".json" else b"".join(lines)


@st.composite
def mutated(draw: st.DrawFn, seed: bytes) -> bytes:
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "repeat", "truncate"]))
        n = len(data)
        if op == "flip" and n:
            data[draw(st.integers(0, n - 1))] = draw(st.integers(0x20, 0x7E))
        elif op == "insert":
            i = draw(st.integers(0, n))
            data[i:i] = draw(st.sampled_from(_ASCII))
        elif op == "delete" and n:
            i = draw(st.integers(0, n - 1))
            del data[i : i + draw(st.integers(1, 4))]
        elif op in ("repeat", "truncate"):
            lines = bytes(data).splitlines(keepends=True)
            if lines:
                i = draw(st.integers(0, len(lines) - 1))
                lines[i:i] = [lines[i]] if op == "repeat" else []
                data = bytearray(b"".join(lines if op == "repeat" else lines[:i]))
    return bytes(data)


def _outcome_records(path: Path, fmt: str) -> Any:
    try:
        series = import_telemetry(path, fmt)
    except InputError as exc:
        return ("error", str(exc))
    return ("ok", _record_rows(path) if fmt == "dcgm" else series)


def _outcome_stream(path: Path, fmt: str) -> Any:
    con = connect()
    try:
        staged = stage_telemetry(path, fmt, "s", path.with_name("staged.parquet"), con)
        if fmt == "dcgm":
            return ("ok", _stream_rows(con, staged.select))
        con.execute(f"CREATE OR REPLACE TEMP VIEW samples AS {staged.select}")
        return ("ok", series_sql(con, "samples", fmt, path.name))
    except InputError as exc:
        return ("error", str(exc))
    finally:
        con.close()


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_mutated_fixtures_agree(name: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    source, fmt = SEEDS[name]
    seed = _seed(source)
    root = tmp_path_factory.mktemp(name.replace(".", "_"))

    @settings(max_examples=80, deadline=None, derandomize=True)
    @given(mutated(seed))
    def check(blob: bytes) -> None:
        path = _fresh(root, name)
        path.write_bytes(blob)
        want, got = _outcome_records(path, fmt), _outcome_stream(path, fmt)
        assert got[0] == want[0], (got, want)
        if want[0] == "error" or fmt == "dcgm":
            assert got == want
            return
        a, b = got[1], want[1]
        assert np.array_equal(a.times, b.times)
        for col in ("total", "busy", "pending"):
            np.testing.assert_array_equal(getattr(a, col), getattr(b, col))

    check()
