"""Streaming import of Alibaba's GPU traces: the pods of ``cluster-trace-gpu-v2023`` and the
instances of ``cluster-trace-gpu-v2025`` read by DuckDB into Parquet, as ``jobs_stream``
reads sacct.

One SQL projection per trace applies the record parser's rules (``jobs.parse_alibaba``,
``jobs.read_alibaba2025``): times are seconds from the trace start placed at ``epoch``
(rounded to the microsecond as ``datetime.timedelta`` rounds a float), the team is the QoS
class (2023) or the application (2025), GPUs the whole ``num_gpu`` / ``gpu_request`` (a
fraction is the record parser's error), one node, states from the pod phase (2023) or from
which times are set (2025). A 2025 instance without a creation time is skipped and counted
(the ``skip`` column, its reason), never dated.

A cell this path does not vouch for (a number outside the plain decimal forms, a time out
of range, a tab or line break around a name, a scheduled or deletion time out of order)
flags its row ``bad``: the caller then runs the record parser, whose
``file:line: column`` message or records stand.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from fleetwise.collect.importers.jobs import (
    _ALIBABA,
    _ALIBABA2025,
    _NO_TIME,
    NO_CREATION_TIME,
)
from fleetwise.collect.importers.jobs_stream import _in, _lit, _state, ragged
from fleetwise.collect.importers.tabular import header

_EPOCH = datetime.fromtimestamp(0, UTC)
#: The characters Python's ``str.strip`` removes (DuckDB's ``trim`` removes the space
#: separators among them, not tabs or line breaks).
_SPACE = "[" + "".join(f"\\x{{{c:x}}}" for c in range(0x110000) if chr(c).isspace()) + "]"
#: The numbers both Python's ``float`` and DuckDB's cast read, and read alike.
_DECIMAL = r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?"
#: Offsets past this many seconds (about 3,000 years) go to the record parser.
_MAX_SECONDS = 1e11
#: Times outside these years go to the record parser (Python's limit is years 1-9999 in
#: the epoch's own offset).
_LOW = (datetime(2, 1, 1, tzinfo=UTC) - _EPOCH) // timedelta(microseconds=1)
_HIGH = (datetime(9998, 12, 31, tzinfo=UTC) - _EPOCH) // timedelta(microseconds=1)


def epoch_micros(epoch: datetime | None) -> int | None:
    """Microseconds from 1970 UTC to ``epoch`` (naive: UTC; default 1970), or None for a
    zone whose offset changes (its arithmetic is wall-clock: the record parser's)."""
    base = epoch if epoch is not None else _EPOCH
    if base.tzinfo is None:
        base = base.replace(tzinfo=UTC)
    if not isinstance(base.tzinfo, timezone):
        return None
    return (base - _EPOCH) // timedelta(microseconds=1)


def _read(path: Path, names: list[str]) -> str:
    columns = ", ".join(f"{_lit(n)}: 'VARCHAR'" for n in names)
    return (
        f"read_csv({_lit(str(path))}, delim = ',', header = true, auto_detect = false, "
        f"columns = {{{columns}}}, quote = '\"', escape = '\"', strict_mode = true)"
    )


def _col(names: list[str], name: str) -> str:
    if name not in names:
        return "''"
    return 'coalesce("' + name.replace('"', '""') + "\", '')"


def _offset(cell: str, epoch_us: int) -> tuple[str, str]:
    """The SQL of a cell's time (seconds from ``epoch``; NULL when empty or unreadable)
    and of "it says no time" (``jobs._offset``'s empty/``nan``/``None`` cells)."""
    text = f"trim({cell})"
    x = (
        f"(CASE WHEN regexp_full_match({text}, {_lit(_DECIMAL)}) "
        f"THEN try_cast({text} AS DOUBLE) END)"
    )
    # timedelta(seconds=x): whole seconds exact, the fraction's microseconds rounded half
    # to even
    us = (
        f"({epoch_us}::BIGINT + trunc({x})::BIGINT * 1000000 "
        f"+ round_even(({x} - trunc({x})) * 1e6, 0)::BIGINT)"
    )
    when = (
        f"CASE WHEN abs({x}) <= {_MAX_SECONDS} AND {us} BETWEEN {_LOW} AND {_HIGH} "
        f"THEN make_timestamp({us}) END"
    )
    return when, f"(lower({text}) IN ({_in(_NO_TIME)}))"


def _loose(cells: list[str]) -> str:
    """True when a name cell starts or ends with whitespace other than spaces (which
    Python's ``strip`` removes and DuckDB's ``trim`` keeps)."""
    joined = " || chr(1) || ".join(f"trim({c})" for c in cells)
    edge = r"(^|\x{1})" + _SPACE + "|" + _SPACE + r"(\x{1}|$)"
    return f"regexp_matches({joined}, {_lit(edge)})"


def _blank(names: list[str], first: str) -> str:
    """True for a row every cell of which is blank (Python's CSV rows skip it). Only a
    row whose ``first`` cell trims to nothing is checked."""
    every = ", ".join(_col(names, n) for n in names)
    return (
        f"(CASE WHEN trim({first}) <> '' THEN false "
        f"ELSE regexp_full_match(concat({every}), {_lit(_SPACE + '*')}) END)"
    )


def _gpus(cell: str) -> str:
    """A whole number of GPUs >= 0 (empty: 0), NULL when the record parser would refuse
    it (a fraction, a negative or unreadable count) or this path does not vouch for it."""
    text = f"trim({cell})"
    x = f"try_cast({text} AS DOUBLE)"
    return (
        f"CASE WHEN {text} = '' THEN 0 WHEN regexp_full_match({text}, {_lit(_DECIMAL)}) "
        f"AND {x} >= 0 AND {x} = floor({x}) AND {x} < 2147483648 THEN {x}::INTEGER END"
    )


def alibaba_select(path: Path, epoch_us: int) -> str | None:
    """The SQL reading a ``cluster-trace-gpu-v2023`` pod list as staged job rows (the
    rules of ``jobs.parse_alibaba``), with a ``bad`` flag per row; None without its
    columns (the record parser's error)."""
    names = header(path)
    if not set(names) >= _ALIBABA:
        return None

    def c(name: str) -> str:
        return _col(names, name)

    submit, _ = _offset(c("creation_time"), epoch_us)
    start, start_none = _offset(c("scheduled_time"), epoch_us)
    end, end_none = _offset(c("deletion_time"), epoch_us)
    return f"""
SELECT
  job_id, '' AS user, team, submit_time,
  CASE WHEN lower(phase) <> 'pending' THEN start_time END AS start_time,
  end_time, gpus, 1 AS nodes, state,
  NULL::VARCHAR AS placement, NULL::VARCHAR AS nodelist,
  coalesce(ragged OR submit_time IS NULL OR (start_time IS NULL AND NOT start_none)
    OR (end_time IS NULL AND NOT end_none) OR gpus IS NULL OR loose, true) AS bad
FROM (
  SELECT
    trim({c("name")}) AS job_id,
    trim({c("qos")}) AS team,
    trim({c("pod_phase")}) AS phase,
    {_state(c("pod_phase"))} AS state,
    {submit} AS submit_time,
    {start} AS start_time,
    {start_none} AS start_none,
    {end} AS end_time,
    {end_none} AS end_none,
    {_gpus(c("num_gpu"))} AS gpus,
    {_loose([c("name"), c("qos"), c("pod_phase")])} AS loose,
    {_blank(names, c("creation_time"))} AS blank
  FROM {_read(path, names)}
) CROSS JOIN {ragged(path, names)}
WHERE NOT blank
"""


def alibaba2025_select(path: Path, epoch_us: int) -> str | None:
    """The SQL reading ``cluster-trace-gpu-v2025`` instances as staged job rows (the rules
    of ``jobs.read_alibaba2025``), with ``bad`` and ``skip`` (the reason a row is left
    out: no creation time) per row; None without its columns."""
    names = header(path)
    if not set(names) >= _ALIBABA2025 | {"scheduled_time"}:
        return None

    def c(name: str) -> str:
        return _col(names, name)

    submit, submit_none = _offset(c("creation_time"), epoch_us)
    start, start_none = _offset(c("scheduled_time"), epoch_us)
    end, end_none = _offset(c("deletion_time"), epoch_us)
    return f"""
SELECT
  job_id, '' AS user, team, submit_time, start_time, end_time, gpus, 1 AS nodes,
  CASE WHEN end_time IS NOT NULL THEN 'unknown' WHEN start_time IS NOT NULL THEN 'running'
       ELSE 'pending' END AS state,
  NULL::VARCHAR AS placement, NULL::VARCHAR AS nodelist,
  CASE WHEN submit_none THEN {_lit(NO_CREATION_TIME)} END AS skip,
  ragged OR (NOT submit_none AND coalesce(submit_time IS NULL
    OR (start_time IS NULL AND NOT start_none)
    OR (end_time IS NULL AND NOT end_none) OR gpus IS NULL OR loose
    OR coalesce(start_time < submit_time, false)
    OR coalesce(end_time < coalesce(start_time, submit_time), false), true)) AS bad
FROM (
  SELECT
    trim({c("instance_sn")}) AS job_id,
    trim({c("app_name")}) AS team,
    {submit} AS submit_time,
    {submit_none} AS submit_none,
    {start} AS start_time,
    {start_none} AS start_none,
    {end} AS end_time,
    {end_none} AS end_none,
    {_gpus(c("gpu_request"))} AS gpus,
    {_loose([c("instance_sn"), c("app_name")])} AS loose,
    {_blank(names, c("creation_time"))} AS blank
  FROM {_read(path, names)}
) CROSS JOIN {ragged(path, names)}
WHERE NOT blank
"""
