"""The msgspec decoding of Kineto events keeps exactly what the dict path keeps.

``kineto._EventSink.add`` (orjson dicts) is the reference: for any mix of events, including
values of the wrong JSON type where the analyses read (a string stream, a float
correlation, a boolean time, ``args`` that is not an object), whether a batch is decoded
whole, picked out of the bytes first (a CPU-heavy trace), or falls back to orjson, the
columns ``read_rank_trace`` returns are the reference's."""

from __future__ import annotations

import json
import math
import re
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fleetwise.collect.importers import kineto

odd = st.sampled_from([None, True, "7", 3.0, -1, 2, [1], {"a": 1}, 1.5])
names = st.sampled_from(["k", "ProfilerStep#3", "Event Sync", "aten::mm", "é", ""]) | odd


@st.composite
def events(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["kernel", "runtime", "cpu", "cpu", "cpu", "odd", "bare"]))
    if kind == "bare":  # an object without what is read
        return draw(st.sampled_from([{}, {"ph": "M"}, {"name": "ProfilerStep#1"}]))
    event: dict[str, Any] = {
        "ph": "X",
        "cat": draw(st.sampled_from(["kernel", "cpu_op", "Trace", None, 5])),
        "name": draw(names),
        "ts": draw(st.integers(0, 10**6) | st.sampled_from([1.5, None, "3", True])),
        "dur": draw(st.integers(0, 1000)),
    }
    if kind == "kernel":
        event["args"] = {
            "stream": draw(st.integers(0, 3) | odd),
            "correlation": draw(st.integers(0, 50)),
            "memory bandwidth (GB/s)": draw(st.floats(0, 100) | odd),
        }
    elif kind == "runtime":
        event["args"] = {"correlation": draw(st.integers(0, 50) | odd), "cbid": 1}
    elif kind == "odd":
        event["args"] = draw(odd)
    else:
        event["args"] = {"Input Dims": [[1, 2]], "name": "x"}
    return event


def reference(evs: list[dict[str, Any]]) -> kineto._EventSink:
    sink = kineto._EventSink(cpu_ops=False)
    sink.add(evs, range(len(evs)))
    return sink


@settings(max_examples=80, deadline=None)
@given(st.lists(events(), max_size=40), st.sampled_from([64, 300, 1 << 20]))
def test_decoded_events_are_the_dict_path_events(evs: list[dict[str, Any]], chunk: int) -> None:
    # The array ends with an object, as Kineto writes it (a trailing bare value is refused,
    # by both paths, as an array that does not close).
    evs = [*evs, {"ph": "X", "cat": "kernel", "name": "k", "ts": 9, "dur": 1, "args": {}}]
    doc = {"traceEvents": evs, "distributedInfo": {"rank": 1}}
    with tempfile.TemporaryDirectory() as tmp, pytest.MonkeyPatch.context() as mp:
        path = Path(tmp) / "t.json"
        path.write_text(json.dumps(doc))
        mp.setattr(kineto, "CHUNK_BYTES", chunk)
        trace = kineto.read_rank_trace(path)
    ref = reference(evs)
    assert trace.names == list(ref.symbols)
    for column in ("index", "name_id", "cat_id", "stream", "correlation"):
        assert getattr(trace, column).tolist() == ref.columns.array(column).tolist(), column
    assert np.array_equal(trace.bandwidth_gbps, ref.columns.array("bandwidth"), equal_nan=True)
    any_float = any(isinstance(e.get("ts"), float) for e in evs)
    expected_ts = [math.ceil(t) if any_float else int(t) for t in ref.columns.array("ts")]
    assert trace.ts.tolist() == expected_ts
    assert trace.total_events == len(evs)


def test_a_cpu_heavy_batch_is_picked_before_it_is_decoded() -> None:
    cpu = b'{"ph": "X", "cat": "cpu_op", "name": "aten::add", "ts": 1, "dur": 1}'
    kernel = (
        b'{"ph": "X", "cat": "kernel", "name": "k", "ts": 2, "dur": 1, "args": {"correlation": 4}}'
    )
    assert kineto._sparse(b",".join([cpu] * 20 + [kernel]))
    assert not kineto._sparse(b",".join([cpu, kernel]))
    parsed = kineto._BatchParser(everything=False)(b",".join([cpu] * 20 + [kernel]))
    assert parsed is not None
    decoded, positions, count = parsed
    assert [e.name for e in decoded] == ["aten::add", "k"] and positions == [0, 20]
    assert count == 21


@given(st.binary(max_size=40) | st.text(alphabet="{}[] ,\n\t\x0bx", max_size=40).map(str.encode))
def test_array_ends_are_the_patterns_matches_from_the_end(buf: bytes) -> None:
    # The reference: every match of the pattern, last first, then a "]" opening the batch.
    pattern = re.compile(rb"\}\s*\]|\[\s*\]")
    expected = [(m.start(), m.end(), buf[m.start()] == ord("}")) for m in pattern.finditer(buf)]
    expected.reverse()
    empty = re.match(rb"\s*\]", buf)
    if empty is not None:
        expected.append((0, empty.end(), False))
    assert list(kineto._array_ends(buf)) == expected
