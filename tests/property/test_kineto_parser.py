"""Properties of the streaming Kineto parser: however the JSON is laid out and wherever the
chunks fall, it keeps exactly the events a whole-document parse says it should, and bad
bytes only ever raise InputError."""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fleetwise.collect.importers import kineto
from fleetwise.errors import InputError

tricky_text = st.text(alphabet='ab{}[],:" \\\n#<>é', max_size=12)
times = st.integers(0, 10**6) | st.floats(0, 10**6, allow_nan=False).map(lambda x: round(x, 3))


@st.composite
def events(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["kernel", "cuda_runtime", "cpu_op", "M", "nested"]))
    name = draw(tricky_text)
    if kind == "M":
        return {"ph": "M", "name": "thread_name", "pid": 1, "args": {"name": name}}
    event: dict[str, Any] = {
        "ph": "X",
        "cat": kind,
        "name": name,
        "ts": draw(times),
        "dur": draw(st.integers(0, 1000)),
    }
    corr = draw(st.integers(0, 50))
    if kind == "kernel":
        event["args"] = {"correlation": corr, "stream": draw(st.integers(0, 3))}
    elif kind == "cuda_runtime":
        event["args"] = {"correlation": corr, "cbid": 1}
    elif kind == "nested":
        # objects inside lists: "},{" inside an event that must be kept
        event["cat"] = "kernel"
        event["args"] = {"correlation": corr, "stream": 1, "l": [{"a": name}, {"b": 1}]}
    else:
        event["args"] = {"Input Dims": [[1, 2], []], "Concrete Inputs": [name]}
    return event


def expected_rows(evs: list[dict[str, Any]]) -> list[tuple[str, int, int, int]]:
    any_float = any(isinstance(e.get("ts"), float) for e in evs)
    rows = []
    for e in evs:
        if e.get("ph") != "X" or e.get("cat") == "Trace":
            continue
        args = e.get("args", {})
        corr, stream = args.get("correlation", -1), args.get("stream", -1)
        if corr == -1 and stream == -1 and "ProfilerStep" not in e["name"]:
            continue
        ts = math.ceil(e["ts"]) if any_float else int(e["ts"])
        rows.append((e["name"], ts, corr, stream))
    return rows


@settings(max_examples=60, deadline=None)
@given(
    st.lists(events(), max_size=30),
    st.sampled_from([None, 0, 1, 2]),
    st.sampled_from([7, 31, 200, 1 << 20]),
    st.booleans(),
)
def test_streaming_keeps_what_a_whole_parse_keeps(
    evs: list[dict[str, Any]], indent: int | None, chunk: int, cpu_ops: bool
) -> None:
    doc = {"schemaVersion": 1, "traceEvents": evs, "distributedInfo": {"rank": 2}}
    with tempfile.TemporaryDirectory() as tmp, pytest.MonkeyPatch.context() as mp:
        path = Path(tmp) / "t.json"
        path.write_text(json.dumps(doc, indent=indent, ensure_ascii=False))
        mp.setattr(kineto, "CHUNK_BYTES", chunk)
        trace = kineto.read_rank_trace(path, cpu_ops=cpu_ops)
    got = [
        (trace.names[n], t, c, s)
        for n, t, c, s in zip(trace.name_id, trace.ts, trace.correlation, trace.stream, strict=True)
    ]
    assert got == expected_rows(evs)
    assert trace.rank == 2
    assert trace.total_events == len(evs) or not cpu_ops  # counted exactly when all parsed


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=300), st.sampled_from([".json", ".json.gz"]))
def test_garbage_only_raises_input_error(data: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"t{suffix}"
        path.write_bytes(b'{"traceEvents": [' + data)
        try:
            kineto.read_rank_trace(path)
        except InputError as exc:
            assert str(path) in str(exc)
