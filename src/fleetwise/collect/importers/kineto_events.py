"""Every complete event of one Kineto trace file, as columns (for the critical path).

``kineto.read_rank_trace`` keeps only what the breakdowns need and folds CPU operators into
per-name totals. The critical path needs each CPU operator and runtime call with its thread
(nesting builds the CPU side of the graph) and the CUDA event arguments that tie
``cudaEventRecord`` to ``cudaStreamWaitEvent`` and ``cudaEventSynchronize``
(``wait_on_stream``, ``wait_on_cuda_event_record_corr_id``). The file is streamed in
batches as the main importer does, one row of numbers per event; names, categories,
process and thread ids are symbols. Timestamps are rounded as HTA 0.5.0 rounds them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fleetwise.collect.importers.kineto import (
    F64,
    I64,
    _batches,
    _BatchParser,
    _open,
    _parse_object,
)

_COLUMNS = (
    "index",
    "name_id",
    "cat_id",
    "pid",
    "tid",
    "ts",
    "dur",
    "stream",
    "correlation",
    "wait_stream",
    "wait_corr",
)


@dataclass(frozen=True)
class TraceEvents:
    """One rank's complete events; ``names`` is the symbol table of the ``*_id`` columns
    and of ``pid``/``tid`` (which may be strings in a trace)."""

    path: Path
    rank: int
    names: list[str]
    index: I64
    name_id: I64
    cat_id: I64
    pid: I64
    tid: I64
    ts: I64
    dur: I64
    #: ``args.stream`` (-1 for CPU events), ``args.correlation`` (-1 where absent).
    stream: I64
    correlation: I64
    #: ``args.wait_on_stream`` and ``args.wait_on_cuda_event_record_corr_id`` (-1 absent).
    wait_stream: I64
    wait_corr: I64

    @property
    def end(self) -> I64:
        return self.ts + self.dur

    def symbol(self, value: str) -> int:
        try:
            return self.names.index(value)
        except ValueError:
            return -1

    def ids(self, values: Sequence[str]) -> I64:
        wanted = set(values)
        return np.asarray([i for i, n in enumerate(self.names) if n in wanted], np.int64)


def _int_arg(args: dict[str, Any], key: str) -> int:
    value = args.get(key)
    if value.__class__ is int:
        return int(value)
    try:
        return int(value) if value is not None else -1
    except (TypeError, ValueError):
        return -1


class _Sink:
    def __init__(self) -> None:
        self.symbols: dict[str, int] = {}
        self.rows: list[tuple[float, ...]] = []
        self.blocks: list[F64] = []
        self.events = 0

    def symbol(self, value: Any) -> int:
        key = value if value.__class__ is str else str(value)
        found = self.symbols.get(key)
        if found is None:
            found = self.symbols[key] = len(self.symbols)
        return found

    def add(self, events: list[Any], first: int) -> None:
        for offset, event in enumerate(events):
            if event.__class__ is not dict:
                continue
            ts, dur, cat = event.get("ts"), event.get("dur"), event.get("cat")
            if not isinstance(ts, int | float) or not isinstance(dur, int | float):
                continue
            if cat is None or cat == "Trace":
                continue
            args = event.get("args")
            if args.__class__ is not dict:
                args = {}
            self.rows.append(
                (
                    first + offset,
                    self.symbol(event.get("name", "")),
                    self.symbol(cat),
                    self.symbol(event.get("pid", "")),
                    self.symbol(event.get("tid", "")),
                    ts,
                    dur,
                    _int_arg(args, "stream"),
                    _int_arg(args, "correlation"),
                    _int_arg(args, "wait_on_stream"),
                    _int_arg(args, "wait_on_cuda_event_record_corr_id"),
                )
            )
        if self.rows:
            self.blocks.append(np.asarray(self.rows, dtype=np.float64))
            self.rows = []


def read_trace_events(path: Path) -> TraceEvents:
    """All complete events of one rank's trace file (``.json`` or ``.json.gz``)."""
    sink = _Sink()
    parse = _BatchParser(everything=True)
    metadata: dict[str, Any] = {}
    with _open(path) as stream:
        for kind, piece, line in _batches(stream, path, parse):
            if kind == "events":
                events, _, count = piece
                sink.add(events, sink.events)
                sink.events += count
            else:
                metadata.update(_parse_object(piece, path, line, f"the trace {kind}"))
    table = np.concatenate(sink.blocks) if sink.blocks else np.zeros((0, len(_COLUMNS)))
    col = {name: table[:, i] for i, name in enumerate(_COLUMNS)}
    ts, dur = col["ts"], col["dur"]
    if parse.float_ts:  # HTA: ceil the start, floor the end (pytorch/pytorch#122425)
        end = np.floor(ts + dur)
        ts = np.ceil(ts)
        dur = end - ts
    info = metadata.get("distributedInfo")
    rank_value = info.get("rank") if isinstance(info, dict) else None
    ints = {k: v.astype(np.int64) for k, v in col.items() if k not in ("ts", "dur")}
    return TraceEvents(
        path=path,
        rank=int(rank_value) if isinstance(rank_value, int) else 0,
        names=list(sink.symbols),
        ts=ts.astype(np.int64),
        dur=dur.astype(np.int64),
        **ints,
    )
