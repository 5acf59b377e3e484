"""Streaming import of large job logs: ``sacct --parsable2``, Helios and mapped CSVs read by
DuckDB into Parquet.

The parser of ``importers/jobs.py`` builds one record per job; this path never does. DuckDB
reads the file in parallel chunks and a SQL projection applies the same rules (steps
skipped, team from ``Account`` else ``Partition``, GPUs from ``AllocTRES`` else
``ReqTRES``, times as UTC, states by their first word), writing the columns the columnar
store keeps (``store/columnar.py``) to a staged Parquet file in bounded memory. The host
list (``NodeList``) is kept as text: the job's GPUs are spread over it when records are
read, as the record parser does.

Rows this path cannot vouch for (a time it cannot read, a node count that is not whole,
a host list beyond the plain ``name[lo-hi,...]`` forms, a row DuckDB rejects) make it give
up: :func:`stage_slurm` returns None and the caller runs the record parser, whose
``file:line: column`` message is the one the user sees, or whose records are stored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb
import numpy as np

from fleetwise.collect.importers.hostlist import MAX_DIGITS, MAX_HOSTS, NO_HOSTS
from fleetwise.collect.importers.jobs import (
    _HELIOS,
    _NO_TIME,
    _STATES,
    HELIOS_MAPPING,
    _resolve_mapping,
    detect_format,
)
from fleetwise.collect.importers.tabular import header


@dataclass(frozen=True)
class Staged:
    jobs: int
    gpu_jobs: int
    #: Rows left out, by reason (a select's ``skip`` column; as ``jobs.JobImport.skipped``).
    skipped: dict[str, int] = field(default_factory=dict)


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _in(values: set[str]) -> str:
    return ", ".join(_lit(v) for v in sorted(values))


#: The ISO 8601 forms DuckDB and Python's ``datetime.fromisoformat`` read alike (others,
#: such as ``2024-1-2`` or hour 24, DuckDB reads and Python refuses: the record parser's).
_ISO = (
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}([T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?)?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})?"
)


def _time(col: str) -> str:
    """ISO 8601 (no zone: UTC) or epoch seconds, as a UTC TIMESTAMP; NULL when unreadable.
    The common ``YYYY-MM-DDTHH:MM:SS`` takes a fast path."""
    text = f"trim({col})"
    return (
        f"coalesce(CASE WHEN length({text}) = 19 THEN try_strptime({text}, "
        "['%Y-%m-%dT%H:%M:%S', '%Y-%m-%d %H:%M:%S']) END, "
        f"CASE WHEN lower({text}) IN ({_in(_NO_TIME)}) THEN NULL "
        f"WHEN regexp_full_match({text}, '[+-]?[0-9]+(\\.[0-9]*)?([eE][+-]?[0-9]+)?') "
        f"THEN try(make_timestamp(round(try_cast({text} AS DOUBLE) * 1e6)::BIGINT)) "
        f"WHEN regexp_full_match({text}, {_lit(_ISO)}) "
        f"THEN try_cast(try_cast({text} AS TIMESTAMPTZ) AS TIMESTAMP) END)"
    )


def _unreadable(col: str, parsed: str) -> str:
    return f"(lower(trim({col})) NOT IN ({_in(_NO_TIME)}) AND {parsed} IS NULL)"


#: One host-list item: a name with at most one bracket group of ranges.
_ITEM = r"[^\[\],]*(\[[0-9]+(-[0-9]+)?(,[0-9]+(-[0-9]+)?)*\][^\[\],]*)?"
_HOSTS_FORM = rf"\s*{_ITEM}(,{_ITEM})*\s*"


def _hosts_ok(col: str) -> str:
    """True when the record parser would expand the host list without an error (a list
    without brackets always does, to its length in hosts)."""
    ranges = (
        f"flatten(list_transform(regexp_extract_all({col}, '\\[([^\\]]*)\\]', 1), "
        "lambda b: regexp_extract_all(b, '[0-9]+(-[0-9]+)?', 0)))"
    )
    lo = "split_part(r, '-', 1)"
    hi = "coalesce(nullif(split_part(r, '-', 2), ''), split_part(r, '-', 1))"
    ordered = (
        f"lambda r: length({lo}) <= {MAX_DIGITS} AND length({hi}) <= {MAX_DIGITS} "
        f"AND {lo}::HUGEINT <= {hi}::HUGEINT"
    )
    size = f"lambda r: {hi}::HUGEINT - {lo}::HUGEINT + 1"
    plain = f"NOT contains({col}, '[') AND NOT contains({col}, ']')"
    # CASE, not OR: DuckDB evaluates a CASE branch only for the rows that reach it
    return (
        f"CASE WHEN {plain} THEN length({col}) <= {MAX_HOSTS} "
        f"WHEN lower(trim({col})) IN ({_in(NO_HOSTS)}) THEN true "
        f"ELSE regexp_full_match({col}, {_lit(_HOSTS_FORM)}) "
        f"AND coalesce(list_bool_and(list_transform({ranges}, {ordered})), true) "
        f"AND coalesce(list_sum(list_transform({ranges}, {size})), 0)"
        f" + length({col}) <= {MAX_HOSTS} END"
    )


def _state(col: str) -> str:
    word = f"lower(rtrim(split_part(trim({col}), ' ', 1), '+'))"
    pairs = ", ".join(f"{_lit(k)}: {_lit(v.value)}" for k, v in _STATES.items())
    return f"coalesce(MAP {{{pairs}}}[{word}], 'unknown')"


#: A quoted cell (quotes inside doubled), as Python's ``csv`` and DuckDB read one.
_QUOTED = re.compile(rb'"(?:[^"]|"")*"')
#: Bytes read at a time by :func:`csv_differs`; a line longer than ``_LONGEST`` is not
#: vouched for.
_CHUNK = 8 << 20
_LONGEST = 64 << 20


def csv_differs(path: Path, width: int, delim: str = ",") -> bool:
    """True when DuckDB's CSV reader may read a line past the header otherwise than
    Python's ``csv`` rows do (the file then goes to the record parser):

    - a line with more than ``width`` cells, the extra ones empty (``a,b,c,`` under three
      names): DuckDB drops them, the record parser refuses the line. Only lines ending in
      ``delim`` or a quote can; their delimiters outside quotes are counted (a line that
      is part of a quoted cell may be miscounted, which hands the file over);
    - a space beside a quote (``a, "b"``: DuckDB skips the space and reads ``b``, Python
      keeps `` "b"``);
    - a carriage return alone as a line end (Python's ``csv`` ends a line there), or a
      line past 64 MB.

    Read a chunk at a time with NumPy: about 0.1 s for a 1M-line log."""
    mark = ord(delim)
    with path.open("rb") as f:
        f.readline()  # the header
        tail = b""
        while True:
            block = f.read(_CHUNK)
            data = tail + block
            if not block and data and not data.endswith(b"\n"):
                data += b"\n"
            cut = data.rfind(b"\n") + 1
            if cut == 0:
                if not block:
                    return False
                if len(data) > _LONGEST:
                    return True
                tail = data
                continue
            buf = np.frombuffer(data, dtype=np.uint8, count=cut)
            tail = data[cut:]
            returns = np.flatnonzero(buf == 13)
            if returns.size and np.any(buf[np.minimum(returns + 1, cut - 1)] != 10):
                return True
            quotes = np.flatnonzero(buf == 34)
            if quotes.size and (
                np.any(buf[np.maximum(quotes - 1, 0)] == 32)
                or np.any(buf[np.minimum(quotes + 1, cut - 1)] == 32)
            ):
                return True
            ends = np.flatnonzero(buf == 10)
            starts = np.concatenate(([0], ends[:-1] + 1))
            ends = ends - (buf[np.maximum(ends - 1, 0)] == 13)
            last = buf[np.maximum(ends - 1, 0)]
            lines = np.flatnonzero((ends > starts) & ((last == mark) | (last == 34)))
            if lines.size:
                found = np.flatnonzero(buf == mark)
                cells = np.searchsorted(found, ends[lines]) - np.searchsorted(found, starts[lines])
                for k in lines[cells >= width]:
                    line = bytes(buf[starts[k] : ends[k]])
                    if _QUOTED.sub(b"", line).count(delim.encode()) >= width:
                        return True
            if not block:
                return False


def ragged(path: Path, names: list[str], delim: str = ",") -> str:
    """A one-row select of ``ragged``: whether DuckDB may read a line otherwise than the
    record parser (:func:`csv_differs`), which sends the file to the record parser."""
    return f"(SELECT {str(csv_differs(path, len(names), delim)).lower()} AS ragged)"


def slurm_select(path: Path) -> str:
    """The SQL reading ``path`` as staged job rows, with a ``bad`` flag per row."""
    names = header(path, "|")
    columns = ", ".join(f"{_lit(n)}: 'VARCHAR'" for n in names)

    def c(name: str) -> str:
        return f"coalesce(\"{name}\", '')" if name in names else "''"

    tres = f"coalesce(nullif({c('AllocTRES')}, ''), {c('ReqTRES')})"
    gpus = (
        f"CASE WHEN regexp_matches({tres}, 'gres/gpu=[0-9]+') "
        f"THEN regexp_extract({tres}, 'gres/gpu=([0-9]+)', 1)::INTEGER "
        f"ELSE coalesce(list_sum(list_transform(regexp_extract_all({tres}, "
        "'gres/gpu(:[^=,]+)?=([0-9]+)', 2), lambda x: x::INTEGER)), 0)::INTEGER END"
    )
    nnodes = f"trim({c('NNodes')})"
    nodes_num = f"try_cast({nnodes} AS DOUBLE)"
    read = (
        f"read_csv({_lit(str(path))}, delim = '|', header = true, auto_detect = false, "
        f"columns = {{{columns}}}, quote = '\"', escape = '\"', strict_mode = true)"
    )
    return f"""
SELECT
  job_id, user, team, submit_time, start_time, end_time, gpus, nodes, state,
  NULL::VARCHAR AS placement,
  CASE WHEN lower(trim(nodelist)) IN ({_in(NO_HOSTS)}) THEN NULL ELSE nodelist END AS nodelist,
  coalesce(ragged OR submit_time IS NULL OR {_unreadable("start_raw", "start_time")}
    OR {_unreadable("end_raw", "end_time")}
    OR ({nnodes} <> '' AND NOT coalesce({nodes_num} >= 0 AND {nodes_num} = floor({nodes_num})
        AND {nodes_num} < 2147483648, false))
    OR NOT coalesce({_hosts_ok("nodelist")}, false), true) AS bad
FROM (
  SELECT
    trim({c("JobID")}) AS job_id,
    trim({c("User")}) AS user,
    coalesce(nullif(trim({c("Account")}), ''), trim({c("Partition")})) AS team,
    {_time(c("Submit"))} AS submit_time,
    {_time(c("Start"))} AS start_time,
    {_time(c("End"))} AS end_time,
    {c("Start")} AS start_raw,
    {c("End")} AS end_raw,
    {gpus} AS gpus,
    CASE WHEN {nnodes} = '' THEN NULL ELSE try_cast({nodes_num} AS INTEGER) END AS nodes,
    {_state(c("State"))} AS state,
    {c("NodeList")} AS nodelist,
    {c("NNodes")} AS "NNodes"
  FROM {read}
) CROSS JOIN {ragged(path, names, "|")}
WHERE NOT contains(job_id, '.')
"""


def _whole(text: str) -> str:
    """True when ``text`` is empty or a whole number >= 0 that fits an INTEGER."""
    num = f"try_cast({text} AS DOUBLE)"
    return (
        f"({text} = '' OR coalesce({num} >= 0 AND {num} = floor({num}) "
        f"AND {num} < 2147483648, false))"
    )


def mapped_select(path: Path, mapping: Mapping[str, str]) -> str:
    """The SQL reading a CSV whose columns ``mapping`` names (Helios, a generic CSV; the
    rules of ``jobs._parse_mapped``) as staged job rows, with a ``bad`` flag per row."""
    names = header(path)
    columns = ", ".join(f"{_lit(n)}: 'VARCHAR'" for n in names)

    def c(field: str) -> str:
        col = mapping.get(field)
        if col is None or col not in names:
            return "''"
        return 'coalesce("' + col.replace('"', '""') + "\", '')"

    gpus, nodes, dur = f"trim({c('gpus')})", f"trim({c('nodes')})", f"trim({c('duration')})"
    seconds = f"try_cast({dur} AS DOUBLE)"
    read = (
        f"read_csv({_lit(str(path))}, delim = ',', header = true, auto_detect = false, "
        f"columns = {{{columns}}}, quote = '\"', escape = '\"', strict_mode = true)"
    )
    return f"""
SELECT
  job_id, user, team, submit_time, start_time,
  CASE WHEN end_given IS NULL AND start_time IS NOT NULL AND dur <> ''
       THEN start_time + to_microseconds(round(secs * 1e6)::BIGINT) ELSE end_given
       END AS end_time,
  coalesce(try_cast(try_cast(gpus_raw AS DOUBLE) AS INTEGER), 0) AS gpus,
  CASE WHEN nodes_raw = '' THEN NULL ELSE try_cast(try_cast(nodes_raw AS DOUBLE) AS INTEGER)
       END AS nodes,
  state, NULL::VARCHAR AS placement, NULL::VARCHAR AS nodelist,
  coalesce(ragged OR job_id = '' OR submit_time IS NULL
    OR {_unreadable("start_raw", "start_time")} OR {_unreadable("end_raw", "end_given")}
    OR (end_given IS NULL AND start_time IS NOT NULL AND dur <> ''
        AND (secs IS NULL OR isnan(secs) OR isinf(secs) OR abs(secs) > 1e11))
    OR coalesce(end_time < start_time, false)
    OR NOT {_whole("gpus_raw")} OR NOT {_whole("nodes_raw")}, true) AS bad
FROM (
  SELECT
    trim({c("job_id")}) AS job_id,
    trim({c("user")}) AS user,
    trim({c("team")}) AS team,
    {_time(c("submit"))} AS submit_time,
    {_time(c("start"))} AS start_time,
    {_time(c("end"))} AS end_given,
    {c("start")} AS start_raw,
    {c("end")} AS end_raw,
    {dur} AS dur,
    {seconds} AS secs,
    {gpus} AS gpus_raw,
    {nodes} AS nodes_raw,
    {_state(c("state"))} AS state
  FROM {read}
) CROSS JOIN {ragged(path, names)}
"""


def stage_slurm(path: Path, staged: Path, con: duckdb.DuckDBPyConnection) -> Staged | None:
    """Write ``path``'s jobs to ``staged`` (Parquet); None when a row needs the record
    parser (its error, or its reading of a form this path does not vouch for)."""
    return stage(slurm_select(path), staged, con)


def streaming_plan(
    path: Path, fmt: str, mapping: Mapping[str, str], epoch: datetime | None = None
) -> tuple[str, str] | None:
    """The format of a job log (``fmt``, ``epoch`` as ``jobs.read_jobs`` takes them;
    ``auto`` is sniffed) and the SQL that stages it; None where only the record parser
    reads it (host lists in a CSV, an ``epoch`` for a log without offsets, a file the
    other checks refuse). Raises what ``read_jobs`` would for an unknown format or a bad
    mapping. Alibaba's and Philly's selects are ``jobs_stream_alibaba``'s and
    ``jobs_stream_philly``'s."""
    from fleetwise.collect.importers import jobs_stream_alibaba, jobs_stream_philly

    if mapping and fmt == "auto":
        fmt = "csv"
    if fmt == "auto":
        fmt = detect_format(path)
    if fmt in ("alibaba", "alibaba2025") and not mapping:
        epoch_us = jobs_stream_alibaba.epoch_micros(epoch)
        if epoch_us is None:
            return None
        read = (
            jobs_stream_alibaba.alibaba_select
            if fmt == "alibaba"
            else jobs_stream_alibaba.alibaba2025_select
        )
        select = read(path, epoch_us)
        return (fmt, select) if select is not None else None
    if epoch is not None:
        return None
    if fmt == "philly" and not mapping:
        select = jobs_stream_philly.philly_select(path)
        return (fmt, select) if select is not None else None
    if fmt == "slurm" and not mapping:
        return fmt, slurm_select(path)
    if fmt == "helios" and not mapping and set(header(path)) >= _HELIOS:
        return fmt, mapped_select(path, HELIOS_MAPPING)
    if fmt == "csv":
        resolved = _resolve_mapping(path, header(path), mapping)
        return (fmt, mapped_select(path, resolved)) if "hosts" not in resolved else None
    return None


def stage(select: str, staged: Path, con: duckdb.DuckDBPyConnection) -> Staged | None:
    """Run a staging ``select`` into ``staged`` (Parquet), rows in the log's order; None
    (and no file) when a row is flagged ``bad`` or DuckDB cannot read the file. A select
    with a ``skip`` column (a reason, NULL for a row kept) has the rows it names left
    out of ``staged`` and counted.

    The copy runs on one thread: DuckDB's parallel CSV reader does not keep the rows in
    the file's order, and a job's place in the log decides which of two rows of one job
    is kept and the order of jobs submitted at the same instant (as the record parser)."""
    threads = int(con.execute("SELECT current_setting('threads')").fetchall()[0][0])
    rows = f"read_parquet({_lit(str(staged))}, file_row_number = true)"
    try:
        con.execute("SET threads = 1")
        try:
            con.execute(f"COPY ({select}) TO {_lit(str(staged))} (FORMAT parquet)")
            names = {
                n
                for (n,) in con.execute(
                    f"SELECT column_name FROM (DESCRIBE FROM {rows})"
                ).fetchall()
            }
            kept = "skip IS NULL" if "skip" in names else "true"
            row = con.execute(
                f"SELECT count(*) FILTER (WHERE {kept}), "
                f"count(*) FILTER (WHERE {kept} AND gpus > 0), count(*) FILTER (WHERE bad) "
                f"FROM {rows}"
            ).fetchall()[0]
            skipped = _skip(staged, con) if "skip" in names and row and not row[2] else {}
        finally:
            con.execute(f"SET threads = {threads}")
    except duckdb.Error:
        staged.unlink(missing_ok=True)
        return None
    if row is None or row[2]:
        staged.unlink(missing_ok=True)
        return None
    return Staged(int(row[0]), int(row[1]), skipped)


def _skip(staged: Path, con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """The rows of ``staged`` its ``skip`` column names, counted by reason (in the order
    each reason first appears) and left out of the file, rewritten in its order."""
    rows = f"read_parquet({_lit(str(staged))}, file_row_number = true)"
    found = con.execute(
        f"SELECT skip, count(*) FROM {rows} WHERE skip IS NOT NULL GROUP BY skip "
        "ORDER BY min(file_row_number)"
    ).fetchall()
    if found:
        kept = staged.with_name(f"{staged.stem}-kept.parquet")
        try:
            con.execute(
                f"COPY (SELECT * EXCLUDE (file_row_number) FROM {rows} WHERE skip IS NULL) "
                f"TO {_lit(str(kept))} (FORMAT parquet)"
            )
            kept.replace(staged)
        finally:
            kept.unlink(missing_ok=True)
    return {str(why): int(n) for why, n in found}
