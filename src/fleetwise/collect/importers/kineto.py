"""Stream PyTorch profiler (Kineto) traces into columnar arrays.

A Kineto trace is one JSON document per rank: metadata keys (``distributedInfo``,
``deviceProperties``...) around a ``traceEvents`` array that can hold millions of events.
The whole document is never held in memory: the decompressed bytes are read in chunks, each
chunk is cut after the last ``},{`` that closes a top-level event, and the batch before the
cut is parsed (see ``_BatchParser``: by default msgspec decodes only the fields the
analyses read, skipping every other key and argument in C, without a Python object for
them). A cut inside a string or a nested object cannot parse (its brackets do not
balance), so a failed batch just waits for more bytes. Only the fields the analyses need
are kept, in NumPy arrays, one row per:

* GPU activity (events with a ``stream`` argument), CUDA/HIP/MTIA runtime calls (events with
  a ``correlation`` argument), ``ProfilerStep#N`` annotations and device-wide syncs;
* with ``cpu_ops=True``, every other complete event (CPU operators, annotations) is kept
  only as per-name count and total duration, which is what the trace diff compares.

Timestamps follow HTA 0.5.0 (``hta/common/trace_parser.py``, ``round_down_time_stamps``): a
trace whose timestamps carry fractions of a microsecond (nanosecond resolution) has each
event's start rounded up and its end rounded down to whole microseconds, so that events which
touch in nanoseconds do not overlap after rounding (pytorch/pytorch#122425).
"""

from __future__ import annotations

import math
import re
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol, cast

import msgspec
import numpy as np
import numpy.typing as npt
from isal import igzip, isal_zlib

from fleetwise.collect.executors.fanout import local_map
from fleetwise.errors import InputError

if TYPE_CHECKING:
    from json import JSONDecodeError

#: ISA-L's gzip reader and its error (the package has no type hints).
_gzip_open = cast(Callable[[Path, str], IO[bytes]], igzip.open)
_ISAL_ERROR = cast(type[Exception], isal_zlib.error)
#: Name under which this importer is known.
FORMAT = "kineto"
#: Decompressed bytes read per batch. Measured on the shared trace sets, 512 KiB parses as
#: fast as 8 MiB or faster (the batch stays in cache; fewer copies of a large buffer) and
#: holds a rank's working memory to about 10 MB instead of about 90 MB.
CHUNK_BYTES = 512 * 1024
#: A batch that has not parsed after growing this large is not a trace we can read.
_MAX_PENDING_BYTES = 256 * 1024 * 1024
_EVENT_BOUNDARY = re.compile(rb"\}\s*,\s*\{")
#: What ``\s`` matches in a bytes pattern.
_BLANKS = b" \t\n\r\x0b\x0c"
_EMPTY_REST = re.compile(rb"\s*\]")
_TRACE_EVENTS_KEY = b'"traceEvents"'
#: Blanks allowed between ``},`` and the next ``{`` (Kineto writes a newline and indent).
_MAX_GAP = 16
#: What marks an event the analyses keep (bytes.find, a fast C substring search, per needle
#: is an order of magnitude faster than one regex alternation over the batch).
_WANTED = (b'"correlation"', b'"stream"', b"ProfilerStep", b'Sync"')
_FLOAT_TS = re.compile(rb'"ts"\s*:\s*-?\d+\.\d')
#: Device-wide synchronisation events run on the GPU although they carry no stream
#: (HTA ``trace_filter._filter_gpu_kernels_with_cuda_sync``).
SYNC_EVENT_NAMES = frozenset({"Event Sync", "Context Sync"})
_BANDWIDTH_ARG = "memory bandwidth (GB/s)"

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]


class RankTrace(msgspec.Struct):
    """The events of one rank's trace file that the analyses use, as columns.

    ``names`` is the symbol table of ``name_id`` and ``cat_id``. Times are microseconds,
    integers (rounded as HTA does for nanosecond traces).
    """

    path: Path
    rank: int
    metadata: dict[str, Any]
    names: list[str]
    #: Position of each kept event in ``traceEvents`` (HTA's ``index``).
    index: I64
    name_id: I64
    cat_id: I64
    ts: I64
    dur: I64
    #: ``args.stream``; -1 where absent (CPU events).
    stream: I64
    #: ``args.correlation``: links a runtime launch to its GPU activity; -1 where absent.
    correlation: I64
    #: ``args["memory bandwidth (GB/s)"]`` of memcpy/memset activity; NaN elsewhere.
    bandwidth_gbps: F64
    #: Every other complete event: name -> (count, total duration in us); filled only when
    #: read with ``cpu_ops=True``.
    cpu_op_totals: dict[str, tuple[int, int]] = msgspec.field(default_factory=dict)
    #: All entries of ``traceEvents``.
    total_events: int = 0
    nanosecond_timestamps: bool = False
    #: Start of the event at index 0 when it is a complete event (HTA's unmatched-launch
    #: join reads it; see ``analyze/traces.py``).
    first_event_ts: int | None = None

    def symbol(self, value: str) -> int:
        """The id of ``value`` in this trace's symbol table, -1 when it never occurs."""
        try:
            return self.names.index(value)
        except ValueError:
            return -1

    @property
    def world_size(self) -> int | None:
        info = self.metadata.get("distributedInfo")
        size = info.get("world_size") if isinstance(info, dict) else None
        return int(size) if isinstance(size, int) else None


#: Column order of a kept row; all but ``ts``, ``dur`` and ``bandwidth`` are integers
#: (exact in float64: ids and indices stay far below 2**53).
_COLUMNS = ("index", "name_id", "cat_id", "ts", "dur", "stream", "correlation", "bandwidth")
_FLOAT_COLUMNS = frozenset({"ts", "dur", "bandwidth"})


class _Columns:
    """Kept events: one batch as Python tuples, earlier batches as NumPy blocks.

    Each batch's rows become one float64 block as soon as the batch is read, so Python
    objects exist for one batch of events at a time, however long the trace.
    """

    def __init__(self) -> None:
        self.rows: list[tuple[int, int, int, float, float, int, int, float]] = []
        self.blocks: list[npt.NDArray[np.float64]] = []

    def flush(self) -> None:
        if self.rows:
            self.blocks.append(np.array(self.rows, dtype=np.float64))
            self.rows = []

    def array(self, name: str) -> npt.NDArray[Any]:
        self.flush()
        col = _COLUMNS.index(name)
        values = np.concatenate([b[:, col] for b in self.blocks]) if self.blocks else np.zeros(0)
        return values if name in _FLOAT_COLUMNS else values.astype(np.int64)


class _Args(msgspec.Struct, gc=False):
    """The arguments of an event that the analyses read (any JSON type: checked as
    ``_EventSink.add`` checks a parsed dict's)."""

    stream: Any = None
    correlation: Any = None
    bandwidth: Any = msgspec.field(name=_BANDWIDTH_ARG, default=None)


class _Event(msgspec.Struct, gc=False):
    """The fields of a trace event that the analyses read; msgspec skips all others."""

    ts: Any = None
    dur: Any = None
    cat: Any = None
    name: Any = ""
    args: _Args | None = None


#: Decodes a batch of events into ``_Event`` records (a non-object ``args`` or event is a
#: ``ValidationError``: that batch is then parsed with orjson as dicts).
_DECODER = msgspec.json.Decoder(list[_Event])


def _stream_number(value: Any) -> int:
    # HTA normalises streams with int(); a value that is not a number is a CPU event.
    if value is None:
        return -1
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


class _EventSink:
    """Turns parsed event dicts into columns and per-name totals."""

    def __init__(self, cpu_ops: bool) -> None:
        self.cpu_ops = cpu_ops
        self.columns = _Columns()
        self.symbols: dict[str, int] = {}
        self.cpu_totals: dict[str, list[int]] = {}
        self.events = 0
        self.any_float_ts = False
        self.first_event_ts: float | None = None
        self.first_event_dur: float | None = None

    def add(self, events: list[Any], indices: Sequence[int]) -> None:
        """Take parsed events; ``indices`` are their positions in ``traceEvents``.

        The hot loop of the importer: one tuple per kept event, no helper calls.
        """
        rows = self.columns.rows
        symbols = self.symbols
        nan = math.nan
        for index, event in zip(indices, events, strict=True):
            if event.__class__ is not dict:
                continue
            get: Callable[..., Any] = event.get
            ts, dur, cat = get("ts"), get("dur"), get("cat")
            # HTA drops events without a duration or a category, and the "Trace" span.
            if not isinstance(ts, int | float) or not isinstance(dur, int | float):
                continue
            if cat is None or cat == "Trace":
                continue
            if index == 0:
                self.first_event_ts, self.first_event_dur = float(ts), float(dur)
            name = get("name", "")
            if name.__class__ is not str:
                name = str(name)
            args = get("args")
            stream = correlation = -1
            bandwidth = nan
            if args.__class__ is dict:
                value = args.get("stream")
                if value is not None:
                    stream = value if value.__class__ is int else _stream_number(value)
                value = args.get("correlation")
                if value.__class__ is int:
                    correlation = value
                value = args.get(_BANDWIDTH_ARG)
                if isinstance(value, int | float):
                    bandwidth = value
            if stream == -1 and correlation == -1 and not _wanted_name(name):
                if self.cpu_ops:
                    totals = self.cpu_totals.get(name)
                    if totals is None:
                        totals = self.cpu_totals[name] = [0, 0]
                    totals[0] += 1
                    totals[1] += int(dur)
                continue
            name_id = symbols.get(name)
            if name_id is None:
                name_id = symbols[name] = len(symbols)
            cat = cat if cat.__class__ is str else str(cat)
            cat_id = symbols.get(cat)
            if cat_id is None:
                cat_id = symbols[cat] = len(symbols)
            rows.append((index, name_id, cat_id, ts, dur, stream, correlation, bandwidth))
        self.columns.flush()

    def add_decoded(self, events: list[_Event], indices: Iterable[int]) -> None:
        """``add`` for the records of ``_DECODER`` (``indices``: their positions in
        ``traceEvents``): the same rules, read from attributes."""
        rows = self.columns.rows
        symbols = self.symbols
        nan = math.nan
        number = (int, float)
        for index, event in zip(indices, events, strict=True):
            args = event.args
            if index and (
                args is None or (args.stream is None and args.correlation.__class__ is not int)
            ):
                # Most events are CPU operators: no stream, no correlation. Skipped here on
                # their name alone (event 0 always goes on: its start is kept if it is valid).
                name = event.name
                if (
                    name.__class__ is str
                    and name not in SYNC_EVENT_NAMES
                    and "ProfilerStep" not in name
                ):
                    continue
            ts, dur, cat = event.ts, event.dur, event.cat
            if ts.__class__ not in number and not isinstance(ts, int | float):
                continue
            if dur.__class__ not in number and not isinstance(dur, int | float):
                continue
            if cat is None or cat == "Trace":
                continue
            if index == 0:
                self.first_event_ts, self.first_event_dur = float(ts), float(dur)
            name = event.name
            if name.__class__ is not str:
                name = str(name)
            stream = correlation = -1
            bandwidth = nan
            if args is not None:
                value = args.stream
                if value is not None:
                    stream = value if value.__class__ is int else _stream_number(value)
                value = args.correlation
                if value.__class__ is int:
                    correlation = value
                value = args.bandwidth
                if value is not None and isinstance(value, int | float):
                    bandwidth = value
            if (
                stream == -1
                and correlation == -1
                and name not in SYNC_EVENT_NAMES
                and "ProfilerStep" not in name
            ):
                continue
            name_id = symbols.get(name)
            if name_id is None:
                name_id = symbols[name] = len(symbols)
            cat = cat if cat.__class__ is str else str(cat)
            cat_id = symbols.get(cat)
            if cat_id is None:
                cat_id = symbols[cat] = len(symbols)
            rows.append((index, name_id, cat_id, ts, dur, stream, correlation, bandwidth))
        self.columns.flush()


def _wanted_name(name: Any) -> bool:
    return isinstance(name, str) and (name in SYNC_EVENT_NAMES or "ProfilerStep" in name)


def _open(path: Path) -> IO[bytes]:
    if path.suffix == ".gz":
        # ISA-L's gzip reader: the same format and checks as the standard library's, three
        # times as fast (decompression was a sixth of a dense rank's time).
        return _gzip_open(path, "rb")
    return path.open("rb")


def _read(stream: IO[bytes], path: Path, size: int) -> bytes:
    try:
        return stream.read(size)
    except EOFError as exc:
        raise InputError(f"{path}: the gzip stream is truncated ({exc})") from exc
    except (OSError, zlib.error, _ISAL_ERROR) as exc:
        raise InputError(f"{path}: cannot decompress: {exc}") from exc


def _json_error(path: Path, exc: JSONDecodeError, line_offset: int) -> InputError:
    line = line_offset + exc.lineno - 1
    return InputError(f"{path}: invalid JSON near line {line}, column {exc.colno}: {exc.msg}")


def _parse_object(text: bytes, path: Path, line_offset: int, what: str) -> dict[str, Any]:
    try:
        value = msgspec.json.decode(text)
    except msgspec.DecodeError:
        # orjson (imported only here and for batches that do not fit the records) parses it
        # again to name the line and column, or reads what msgspec would not.
        import orjson

        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise _json_error(path, exc, line_offset) from exc
    if not isinstance(value, dict):
        raise InputError(f"{path}: {what} is not a JSON object")
    return value


class _BatchParser:
    """Parse one batch of ``traceEvents`` (the text between two cuts, without brackets).

    By default msgspec decodes the batch into ``_Event`` records: only the fields the
    analyses read become Python objects. Where a batch does not fit those records (an
    event or its ``args`` that is not an object), only the events the analyses keep are
    parsed with orjson, as dicts: the batch is split at every
    ``},{`` (found with NumPy, not per event in Python) and the pieces that mention
    ``"correlation"``, ``"stream"``, ``ProfilerStep`` or a ``Sync"`` name are parsed
    together; CPU operators, flow and metadata events, the bulk of a trace, are never
    turned into Python objects. A ``},{`` inside a string or nested
    value makes a selected piece invalid JSON, and the batch is then parsed whole; inside
    an unselected piece it does no harm. ``everything=True`` parses every event (the trace
    diff needs CPU operator totals).
    """

    def __init__(self, everything: bool) -> None:
        self.everything = everything
        self.batches = 0
        self.float_ts = False

    def __call__(self, raw: bytes) -> Parsed | None:
        """(events, their positions in the batch, events in the batch), or None if invalid."""
        picked: Parsed | None = None
        if not self.everything:
            picked = self._pick(raw) if _sparse(raw) else self._decode_all(raw)
        if picked is None:
            events = _as_array(b"[" + raw + b"]")
            if events is None:
                return None
            picked = events, list(range(len(events))), len(events)
        if not self.float_ts and _FLOAT_TS.search(raw):
            # HTA rounds a trace whose timestamp column is float (any event's "ts" has a
            # fraction), so one such event anywhere decides for the whole file.
            self.float_ts = True
        self.batches += 1
        return picked

    def _pick(self, raw: bytes) -> Parsed | None:
        opens, closes = _event_bounds(raw)
        hits = np.asarray([i for needle in _WANTED for i in _find_all(raw, needle)], np.int64)
        # Event i spans [opens[i-1], closes[i]] (the first starts at 0, the last runs to the
        # end); a keyword at position p lies in the event whose start is the last one <= p.
        chosen = ints(np.unique(np.searchsorted(opens, hits, side="right")))
        if self.batches == 0 and (not chosen or chosen[0] != 0):
            chosen.insert(0, 0)  # the event at index 0 (see RankTrace.first_event_ts)
        last = len(opens)
        parts = [
            raw[0 if i == 0 else opens[i - 1] : len(raw) if i == last else closes[i] + 1]
            for i in chosen
        ]
        batch = b"[" + b",".join(parts) + b"]"
        try:
            events: list[Any] | None = _DECODER.decode(batch)
        except msgspec.ValidationError:
            events = _as_array(batch)
        except msgspec.DecodeError:
            return None
        if events is None or len(events) != len(chosen):
            return None
        return events, chosen, last + 1

    def _decode_all(self, raw: bytes) -> Parsed | None:
        """Every event of the batch as an ``_Event``: no bytes-level selection."""
        try:
            events = _DECODER.decode(b"[" + raw + b"]")
        except msgspec.ValidationError:
            return self._pick(raw)  # an event or its args is not an object
        except msgspec.DecodeError:
            return None  # cut inside a value: wait for more bytes
        return events, range(len(events)), len(events)


#: Below this share of events with a ``"correlation"`` (kernels, copies and runtime calls),
#: picking them out of the bytes first is cheaper than decoding every event.
_SPARSE_SHARE = 0.15


#: Bytes of a batch sampled to judge its share (a few dozen events), in ``_SPARSE_SPOTS``
#: windows spread over the batch: Kineto writes CPU operators first and GPU activity last,
#: so the first bytes alone take a mixed batch for a CPU-heavy one.
_SPARSE_SAMPLE = 32 * 1024
_SPARSE_SPOTS = 4


def _sparse(raw: bytes) -> bool:
    """Whether few of the batch's events are ones the analyses keep (a CPU-heavy trace),
    judged on ``_SPARSE_SAMPLE`` bytes of it (counting all of it costs a third of decoding)."""
    width = _SPARSE_SAMPLE // _SPARSE_SPOTS
    step = max(width, len(raw) // _SPARSE_SPOTS)
    events = wanted = 0
    for start in range(0, min(len(raw), step * _SPARSE_SPOTS), step):
        events += raw.count(b'"ts"', start, start + width)
        wanted += raw.count(b'"correlation"', start, start + width)
    return events > 0 and wanted < _SPARSE_SHARE * events


def ints(values: npt.NDArray[np.int64]) -> list[int]:
    """Python ints of an integer array (``tolist`` is typed too loosely for mypy)."""
    return cast(list[int], values.tolist())


def _find_all(raw: bytes, needle: bytes) -> Iterator[int]:
    at = raw.find(needle)
    while at >= 0:
        yield at
        at = raw.find(needle, at + 1)


def _event_bounds(raw: bytes) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Positions of every ``},{`` between events: the ``{`` that opens the next event and
    the ``}`` that closes the previous one.

    Vectorised over the closing braces: a ``}`` directly followed by a comma, then up to
    ``_MAX_GAP`` blanks and a ``{``. (Writers put no blank before the comma; a boundary
    missed for that reason only sends the batch down the whole-batch path.)
    """
    a = np.frombuffer(raw, dtype=np.uint8)
    n = len(a)
    comma = np.flatnonzero(a[:-1] == 125) + 1
    comma = comma[a[comma] == 44]
    opens = np.full(len(comma), -1, dtype=np.int64)
    pending = np.ones(len(comma), dtype=bool)
    for gap in range(1, _MAX_GAP + 1):
        pos = np.minimum(comma + gap, n - 1)
        ch = a[pos]
        hit = pending & (ch == 123) & (comma + gap < n)
        opens[hit] = pos[hit]
        pending &= (ch == 32) | (ch == 10) | (ch == 13) | (ch == 9)
        if not pending.any():
            break
    found = opens >= 0
    return opens[found], comma[found] - 1


#: A parsed batch: its events that were decoded (``_Event`` records, or dicts where a
#: batch does not fit them), their positions in the batch, the number of events in it.
Parsed = tuple[list[Any], Sequence[int], int]


def _batches(stream: IO[bytes], path: Path, parse: _BatchParser) -> Iterator[tuple[str, Any, int]]:
    """Yield ``("header", bytes, line)``, ``("events", Parsed, line)``..., ``("tail", ...)``.

    ``line`` is the line number where the piece starts, for error messages.
    """
    buf = b""
    while _TRACE_EVENTS_KEY not in buf:
        more = _read(stream, path, CHUNK_BYTES)
        if not more:
            if not buf.strip():
                raise InputError(f"{path}: the file is empty")
            raise InputError(f"{path}: no 'traceEvents' array: not a PyTorch profiler trace")
        buf += more
    key = buf.index(_TRACE_EVENTS_KEY)
    # Make sure what follows the key (":" and "[") is in the buffer, however small the chunk.
    while not buf[key + len(_TRACE_EVENTS_KEY) :].lstrip().lstrip(b":").strip():
        more = _read(stream, path, CHUNK_BYTES)
        if not more:
            break
        buf += more
    header = buf[:key].rstrip().rstrip(b",") + b"}"
    yield "header", header, 1
    line = 1 + buf.count(b"\n", 0, key)
    rest = buf[key + len(_TRACE_EVENTS_KEY) :].lstrip()
    if not rest.startswith(b":"):
        raise InputError(f"{path}: 'traceEvents' is not followed by ':' near line {line}")
    rest = rest[1:].lstrip()
    if not rest.startswith(b"["):
        raise InputError(f"{path}: 'traceEvents' is not an array near line {line}")
    buf = rest[1:]
    eof = False
    failed_at = -1
    while True:
        if not eof and (len(buf) < CHUNK_BYTES or failed_at >= 0):
            more = _read(stream, path, CHUNK_BYTES)
            eof = not more
            buf += more
        if eof:
            yield from _last_batch(buf, path, line, parse)
            return
        cut = _last_boundary(buf)
        if cut <= 0 or cut == failed_at:
            failed_at = max(cut, 0)
            if len(buf) > _MAX_PENDING_BYTES:
                _raise_for(b"[" + buf[:cut] + b"]", path, line)
            continue
        events = parse(buf[: cut + 1])
        if events is not None:
            yield "events", events, line
            if parse.everything:
                # Line numbers only name errors, and an error of the selective pass is
                # reported by the whole pass that reads the file again (read_rank_trace).
                line += buf.count(b"\n", 0, cut + 1)
            buf = buf[cut + 1 :].lstrip().lstrip(b",")
            failed_at = -1
        else:
            failed_at = cut


def _last_boundary(buf: bytes) -> int:
    """Offset of the ``}`` closing the last top-level-looking event, or -1."""
    window = 1 << 16
    while True:
        start = max(0, len(buf) - window)
        last = None
        for last in _EVENT_BOUNDARY.finditer(buf, start):  # noqa: B007 - keep the last match
            pass
        if last is not None:
            return last.start()
        if start == 0:
            return -1
        window *= 4


def _as_array(batch: bytes) -> list[Any] | None:
    import orjson  # the fallback for batches that do not fit the records

    try:
        value = orjson.loads(batch)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, list) else None


def _raise_for(text: bytes, path: Path, line: int) -> None:
    import orjson  # naming the error in a file that cannot be read

    try:
        orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise _json_error(path, exc, line) from exc
    raise InputError(f"{path}: cannot split 'traceEvents' near line {line}")


def _last_batch(
    buf: bytes, path: Path, line: int, parse: _BatchParser
) -> Iterator[tuple[str, Any, int]]:
    """The events left at end of file, then the keys after the array."""
    # The array usually closes near the end of the file: try the last candidates first, and
    # the (small) tail before the (large) events. A "]" first closes an empty remainder.
    for start, end, closed in _array_ends(buf):
        tail = buf[end:].strip()
        if not tail.endswith(b"}"):
            continue
        tail = b"{" + tail.lstrip(b",")
        try:
            msgspec.json.decode(tail)
        except msgspec.DecodeError:
            continue
        events = parse(buf[: start + 1] if closed else b"")
        if events is None:
            continue
        yield "events", events, line
        yield "tail", tail, line + buf.count(b"\n", 0, end)
        return
    # Nothing closes the array: report orjson's own error on the whole remainder.
    _raise_for(b"[" + buf, path, line)
    raise InputError(f"{path}: the 'traceEvents' array is not closed (truncated file?)")


def _array_ends(buf: bytes) -> Iterator[tuple[int, int, bool]]:
    """Where the events array may close, last first: ``(start, end, closes_an_event)`` of
    each ``]`` after blanks and a ``}`` (the last event's end) or a ``[`` (an empty array),
    then of a ``]`` that opens the batch (nothing left in the array).

    What the pattern ``\\}\\s*\\]|\\[\\s*\\]`` finds, searched from the end: the close is
    near the end of the file, and a regex over the whole batch cost a tenth of a small
    rank's reading.
    """
    at = len(buf)
    while (at := buf.rfind(b"]", 0, at)) >= 0:
        i = at - 1
        while i >= 0 and buf[i] in _BLANKS:
            i -= 1
        if i >= 0 and buf[i] in b"}[":
            yield i, at + 1, buf[i] == ord("}")
    empty = _EMPTY_REST.match(buf)
    if empty is not None:
        yield 0, empty.end(), False


def read_rank_trace(path: Path, cpu_ops: bool = False) -> RankTrace:
    """Stream one Kineto trace file (``.json`` or ``.json.gz``) into a :class:`RankTrace`.

    ``cpu_ops=True`` also totals every CPU operator by name (slower: every event is parsed).
    """
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    if cpu_ops:
        return _read_rank_trace(path, cpu_ops=True, everything=True)
    try:
        return _read_rank_trace(path, cpu_ops=False, everything=False)
    except InputError:
        # The selective parse met something it could not split (a "},{" inside nested
        # values of a selected event, or a broken file): read again parsing every batch
        # whole, which either succeeds or names the real error.
        return _read_rank_trace(path, cpu_ops=False, everything=True)


def _read_rank_trace(path: Path, cpu_ops: bool, everything: bool) -> RankTrace:
    sink = _EventSink(cpu_ops)
    parse = _BatchParser(everything=everything)
    metadata: dict[str, Any] = {}
    with _open(path) as stream:
        for kind, piece, line in _batches(stream, path, parse):
            if kind == "events":
                events, positions, count = piece
                first = sink.events
                if isinstance(positions, range):
                    indices: Sequence[int] = range(first, first + count)
                else:
                    indices = [first + i for i in positions]
                if events and events[0].__class__ is _Event:
                    sink.add_decoded(events, indices)
                else:
                    sink.add(events, indices)
                sink.events += count
            else:
                metadata.update(_parse_object(piece, path, line, f"the trace {kind}"))
    sink.any_float_ts = parse.float_ts
    return _finish(path, sink, metadata)


def _finish(path: Path, sink: _EventSink, metadata: dict[str, Any]) -> RankTrace:
    cols = sink.columns
    ts = cols.array("ts")
    dur = cols.array("dur")
    first_ts: int | None = None
    if sink.any_float_ts:
        # HTA: first find the end, then ceil the start and floor the end (float64 arithmetic).
        end = np.floor(ts + dur)
        ts = np.ceil(ts)
        dur = end - ts
        if sink.first_event_ts is not None and sink.first_event_dur is not None:
            first_ts = math.ceil(sink.first_event_ts)
    elif sink.first_event_ts is not None:
        first_ts = int(sink.first_event_ts)
    info = metadata.get("distributedInfo")
    rank_value = info.get("rank") if isinstance(info, dict) else None
    rank = int(rank_value) if isinstance(rank_value, int) else 0
    return RankTrace(
        path=path,
        rank=rank,
        metadata=metadata,
        names=list(sink.symbols),
        index=cols.array("index"),
        name_id=cols.array("name_id"),
        cat_id=cols.array("cat_id"),
        ts=ts.astype(np.int64),
        dur=dur.astype(np.int64),
        stream=cols.array("stream"),
        correlation=cols.array("correlation"),
        bandwidth_gbps=cols.array("bandwidth"),
        cpu_op_totals={k: (v[0], v[1]) for k, v in sink.cpu_totals.items()},
        total_events=sink.events,
        nanosecond_timestamps=sink.any_float_ts,
        first_event_ts=first_ts,
    )


def trace_files(folder: Path) -> list[Path]:
    """The trace files of a folder: ``*.json`` and ``*.json.gz``, sorted by name."""
    if not folder.is_dir():
        raise InputError(f"{folder}: not a directory of trace files")
    files = sorted(
        p for p in folder.iterdir() if p.is_file() and p.name.endswith((".json", ".json.gz"))
    )
    if not files:
        raise InputError(f"{folder}: no trace files (*.json, *.json.gz)")
    return files


#: Parse ranks in parallel processes only when there is enough to read to pay for starting
#: them: a forked child costs about 2 ms (``fanout.local_map``), 1 MiB of JSON about 5 ms of
#: parsing and analysis.
PARALLEL_MIN_BYTES = 1024 * 1024
#: How much JSON a gzip-compressed trace holds per byte, roughly (6-9 on the shared sets).
_GZIP_RATIO = 8


def json_bytes(files: Sequence[Path]) -> int:
    """About how many bytes of JSON ``files`` hold (compressed ones counted expanded)."""
    return sum(p.stat().st_size * (_GZIP_RATIO if p.suffix == ".gz" else 1) for p in files)


def _read_all(files: list[Path], cpu_ops: bool) -> list[RankTrace]:
    # One process per core (this one among them) from PARALLEL_MIN_BYTES of JSON.
    workers = 1 if json_bytes(files) < PARALLEL_MIN_BYTES else None
    return local_map(partial(read_rank_trace, cpu_ops=cpu_ops), files, workers)


def read_trace_dir(folder: Path, cpu_ops: bool = False) -> list[RankTrace]:
    """Read every rank of a trace set; the ranks must belong to one run (``check_one_run``)."""
    traces = _read_all(trace_files(folder), cpu_ops)
    check_one_run(traces)
    return sorted(traces, key=lambda t: t.rank)


class RankFile(Protocol):
    """What ``check_one_run`` reads of a rank: a ``RankTrace`` or a per-rank summary."""

    @property
    def path(self) -> Path: ...
    @property
    def rank(self) -> int: ...
    @property
    def world_size(self) -> int | None: ...


def check_one_run(ranks: Sequence[RankFile]) -> None:
    """Refuse ranks (in file order) that do not belong to one run.

    One run means: no two files claim the same rank, and every file that states a world
    size states the same one. (HTA silently keeps the last file of a duplicated rank.)
    """
    by_rank: dict[int, RankFile] = {}
    sizes: set[int] = set()
    for trace in ranks:
        path = trace.path
        if trace.rank in by_rank:
            other = by_rank[trace.rank].path.name
            raise InputError(
                f"{path}: rank {trace.rank} is also the rank of {other}: "
                "the folder mixes traces of different runs"
            )
        if trace.world_size is not None and sizes and trace.world_size not in sizes:
            raise InputError(
                f"{path}: world_size {trace.world_size} differs from {sorted(sizes)} of the "
                "other files: the folder mixes traces of different runs"
            )
        by_rank[trace.rank] = trace
        if trace.world_size is not None:
            sizes.add(trace.world_size)
