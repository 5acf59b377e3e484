"""Fuzzing the critical path: a damaged trace gives an answer or one error naming the file."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from fleetwise.analyze.critical_path import critical_paths
from fleetwise.errors import FleetwiseError

DATA = Path(__file__).parents[1] / "data" / "kineto"
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "60"))
ANNOTATION = "[param|pytorch.model.alex_net|0|0|0|measure|forward]"


def seed() -> bytes:
    """The alexnet trace (CPU ops, launches, kernels, CUDA syncs), one event per line."""
    (path,) = sorted((DATA / "critical_path_alexnet").glob("*.gz"))
    doc = json.loads(gzip.decompress(path.read_bytes()))
    head = {k: v for k, v in doc.items() if k != "traceEvents"}
    body = ",\n".join(json.dumps(e) for e in doc["traceEvents"])
    return (json.dumps(head)[:-1] + ', "traceEvents": [\n' + body + "\n]}\n").encode()


OPS = st.lists(
    st.tuples(
        st.sampled_from(["drop", "duplicate", "swap", "edit", "truncate"]),
        st.integers(0, 10**6),
        st.integers(0, 10**6),
        st.sampled_from(list(b'0123456789-,:{}[]"x ')),
    ),
    min_size=1,
    max_size=4,
)


def damage(original: bytes, ops: list[tuple[str, int, int, int]]) -> bytes:
    """Apply line-level damage (drawn as small tuples, so a failure prints short)."""
    lines = original.splitlines(keepends=True)
    for op, i_, j_, char in ops:
        if not lines:
            break
        i, j = i_ % len(lines), j_ % len(lines)
        if op == "drop":
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, lines[i])
        elif op == "swap":
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "edit" and lines[i]:
            line = bytearray(lines[i])
            line[j % len(line)] = char
            lines[i] = bytes(line)
        elif op == "truncate":
            lines = lines[:i]
    return b"".join(lines)


def test_damaged_traces_answer_or_fail_cleanly(tmp_path: Path) -> None:
    folder = tmp_path / "trace"
    folder.mkdir()
    path = folder / "rank0.json"
    original = seed()
    path.write_bytes(original)
    assert critical_paths(folder, annotation=ANNOTATION)  # the seed itself works

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True)
    @given(OPS)
    def fuzz(ops: list[tuple[str, int, int, int]]) -> None:
        path.write_bytes(damage(original, ops))
        try:
            paths = critical_paths(folder, annotation=ANNOTATION)
        except FleetwiseError as exc:
            assert "rank0.json" in str(exc) or str(folder) in str(exc), str(exc)
            return
        for p in paths:
            assert p.length_us >= -1
            assert sum(p.bound_by_us.values()) == p.length_us

    fuzz()
