"""Fuzzing the DevLake importer: one table of the CSV dumps mutated at a time (bytes
flipped, inserted, lines dropped or repeated, separators swapped, non-UTF-8 text); the
import either returns events or raises a ``FleetwiseError`` naming the table, never a
traceback. ``FUZZ_EXAMPLES`` sets the budget (default 120, derandomised)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fleetwise.collect.importers.devlake import parse_devlake
from fleetwise.errors import FleetwiseError

DUMPS = Path(__file__).parents[1] / "data" / "process" / "devlake"
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "120"))
TABLES = sorted(p.name for p in DUMPS.glob("*.csv"))


@st.composite
def mutated(draw: st.DrawFn, seed: bytes) -> bytes:
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["truncate", "flip", "insert", "lines", "sep", "bad"]))
        n = len(data)
        if op == "truncate" and n:
            del data[draw(st.integers(0, n - 1)) :]
        elif op == "flip" and n:
            data[draw(st.integers(0, n - 1))] = draw(st.integers(0, 255))
        elif op == "insert":
            i = draw(st.integers(0, n))
            data[i:i] = draw(st.binary(min_size=1, max_size=8))
        elif op == "lines":
            lines = bytes(data).splitlines(keepends=True)
            if lines:
                i = draw(st.integers(0, len(lines) - 1))
                if draw(st.booleans()):
                    del lines[i]
                else:
                    lines.insert(i, lines[i])
                data = bytearray(b"".join(lines))
        elif op == "sep":
            a, b = draw(st.sampled_from([(b",", b";"), (b":", b""), (b"-", b"/"), (b'"', b"")]))
            data = bytearray(bytes(data).replace(a, b, draw(st.integers(1, 3))))
        else:
            i = draw(st.integers(0, n))
            data[i:i] = draw(st.sampled_from([b"\xff\xfe", b"\x00", b"nan", b"-1", b"1e999"]))
    return bytes(data)


def test_only_fleetwise_errors_escape(tmp_path: Path) -> None:
    folder = tmp_path / "dump"
    shutil.copytree(DUMPS, folder)
    seeds = {name: (DUMPS / name).read_bytes() for name in TABLES}

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(st.sampled_from(TABLES), st.data())
    def fuzz(victim: str, data: st.DataObject) -> None:
        for name, seed in seeds.items():
            (folder / name).write_bytes(seed)
        (folder / victim).write_bytes(data.draw(mutated(seeds[victim])))
        try:
            parse_devlake(folder)
        except FleetwiseError as exc:
            assert victim.removesuffix(".csv") in str(exc), str(exc)

    fuzz()
