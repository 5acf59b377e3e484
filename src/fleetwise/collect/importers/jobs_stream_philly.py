"""Streaming import of Philly's ``cluster_job_log``: DuckDB reads the JSON array one job at
a time (``read_json_objects``, bounded memory) and one SQL projection applies the rules of
``jobs.parse_philly``: team from ``vc``, states by their first word, the job running from
its first attempt's start to its last attempt's end on the GPUs of its last attempt,
listed per host (``detail``), which is its placement (a host listed twice, its GPUs
added up).

A job this path does not vouch for flags its row ``bad`` and the caller runs the record
parser, whose message (``file: job k (id): ...``, or orjson's ``file:line:col``) or
records stand: a value of another JSON type than the strings, lists and objects the rules
read (the record parser reads ``0`` or ``{}`` as "none", or refuses it), a key given twice
in an object read (orjson keeps the last, DuckDB the first), an unreadable time, or text
orjson refuses and DuckDB's reader accepts (``NaN``, ``Infinity``, a comma before a
closing bracket, a number past a double, nesting past orjson's depth). The file must
open with ``[`` (DuckDB skips a byte-order mark orjson refuses).
"""

from __future__ import annotations

from pathlib import Path

from fleetwise.collect.importers.jobs_stream import _lit, _state, _time, _unreadable

#: What DuckDB's JSON reader accepts and orjson refuses, or may (a comma before a closing
#: bracket, NaN and infinities, exponents and numbers past a double), outside strings or
#: in them: the latter only sends a job to the record parser.
_LENIENT = (
    r"(?i)[:,\[]\s*[+-]?(nan|inf)|,\s*[}\]]"
    r"|[:,\[]\s*-?[0-9.]+e[+-]?[0-9]{3,}|[:,\[]\s*-?[0-9]{300,}"
)
#: orjson refuses nesting deeper than 1,024; a job with this many brackets is not vouched for.
_BRACKETS = 1000
_JOB = (
    '{"jobid":"JSON","user":"JSON","vc":"JSON","status":"JSON","submitted_time":"JSON",'
    '"attempts":"JSON"}'
)
_ATTEMPTS = '[{"start_time":"JSON","end_time":"JSON","detail":"JSON"}]'
_DETAIL = '[{"ip":"JSON","gpus":"JSON"}]'


def opens_as_array(path: Path) -> bool:
    """True when the first byte past JSON whitespace is ``[``."""
    try:
        with path.open("rb") as f:
            while chunk := f.read(4096):
                text = chunk.lstrip(b" \t\r\n")
                if text:
                    return text.startswith(b"[")
    except OSError:
        return False
    return False


def _text(value: str) -> str:
    """A JSON string's text; '' for null or absent (``str(x or "")``)."""
    return f"coalesce(json_extract_string({value}, '$'), '')"


def _kind(value: str, *kinds: str) -> str:
    """True when ``value`` is absent, null or one of ``kinds`` (JSON types)."""
    listed = ", ".join(_lit(k) for k in ("NULL", *kinds))
    return f"coalesce(json_type({value}), 'NULL') IN ({listed})"


def _objects(value: str) -> str:
    """True when every element of a JSON array is an object (an empty one: true)."""
    kinds = f"json_type({value}, '$[*]')"
    return f"coalesce(list_bool_and(list_transform({kinds}, lambda k: k = 'OBJECT')), true)"


def _unique_keys(value: str) -> str:
    """True when no key of a JSON object is given twice (orjson keeps the last value,
    DuckDB's JSON functions read the first)."""
    return f"coalesce(list_unique(json_keys({value})) = len(json_keys({value})), true)"


def _field(value: str, key: str) -> str:
    return f"json_extract({value}, {_lit('$.' + key)})"


#: A host listed twice in one attempt: its GPUs added up, in the order hosts first appear
#: (the record parser's dict).
_FIRSTS = (
    "list_filter(range(1, len(placed_hosts) + 1), "
    "lambda k: list_position(placed_hosts, placed_hosts[k]) = k)"
)
_merged_hosts = f"list_transform({_FIRSTS}, lambda k: placed_hosts[k])"
_merged_gpus = (
    f"list_transform({_FIRSTS}, lambda k: list_sum(list_transform(list_filter("
    "range(1, len(placed_hosts) + 1), lambda q: placed_hosts[q] = placed_hosts[k]), "
    "lambda q: placed_used[q])))"
)


def philly_select(path: Path) -> str | None:
    """The SQL reading a ``cluster_job_log`` as staged job rows, with a ``bad`` flag per
    row; None for a file that does not open with ``[`` (the record parser's to refuse)."""
    if not opens_as_array(path):
        return None
    read = f"read_json_objects({_lit(str(path))}, format = 'array')"
    first, last = "json_extract(f.attempts, '$[0]')", "json_extract(f.attempts, '$[#-1]')"
    ok = " AND ".join(
        [
            "json_type(j) = 'OBJECT'",
            "json_type(f.jobid) = 'VARCHAR'",
            "json_type(f.submitted_time) = 'VARCHAR'",
            _kind("f.user", "VARCHAR"),
            _kind("f.vc", "VARCHAR"),
            _kind("f.status", "VARCHAR"),
            _kind("f.attempts", "ARRAY"),
            _objects("f.attempts"),
            _kind("attempts[1].start_time", "VARCHAR"),
            _kind("attempts[-1].end_time", "VARCHAR"),
            _kind("attempts[-1].detail", "ARRAY"),
            _objects("attempts[-1].detail"),
            _unique_keys("j"),
            _unique_keys(first),
            _unique_keys(last),
            f"NOT regexp_matches(j, {_lit(_LENIENT)})",
            f"(length(j) < {_BRACKETS} OR length(j) - length(replace(replace(j, '[', ''), "
            f"'{{', '')) < {_BRACKETS})",
        ]
    )
    detail_ok = (
        "coalesce(list_bool_and(list_transform(json_extract(last_detail, '$[*]'), lambda d: "
        f"{_unique_keys('d')} AND {_kind(_field('d', 'ip'), 'VARCHAR')} "
        f"AND {_kind(_field('d', 'gpus'), 'ARRAY')})), true)"
    )
    return f"""
SELECT
  job_id, user, team, submit_time, start_time, end_time,
  coalesce(list_sum(used), 0)::INTEGER AS gpus,
  nullif(coalesce(len(detail), 0), 0)::INTEGER AS nodes,
  state,
  CASE WHEN len(placed) = 0 THEN NULL
       WHEN list_unique(placed_hosts) = len(placed) THEN to_json(map(placed_hosts, placed_used))
       ELSE to_json(map({_merged_hosts}, {_merged_gpus})) END::VARCHAR AS placement,
  NULL::VARCHAR AS nodelist,
  coalesce(NOT ok OR submit_time IS NULL
    OR {_unreadable("start_raw", "start_time")} OR {_unreadable("end_raw", "end_time")}
    OR NOT detail_ok, true) AS bad
FROM (
  SELECT *, list_transform(placed, lambda i: hosts[i]) AS placed_hosts,
    list_transform(placed, lambda i: used[i]) AS placed_used
  FROM (
    SELECT *,
      list_filter(range(1, len(hosts) + 1), lambda i: hosts[i] <> '' AND used[i] > 0) AS placed
    FROM (
      SELECT *,
        list_transform(detail, lambda d: {_text("d.ip")}) AS hosts,
        list_transform(detail, lambda d: coalesce(json_array_length(d.gpus), 0)) AS used
      FROM (
        SELECT
          job_id, user, team, ok, start_raw, end_raw,
          {_state("status_raw")} AS state,
          {_time("submit_raw")} AS submit_time,
          {_time("start_raw")} AS start_time,
          {_time("end_raw")} AS end_time,
          CASE WHEN json_type(last_detail) = 'ARRAY'
               THEN json_transform(last_detail, {_lit(_DETAIL)}) END AS detail,
          {detail_ok} AS detail_ok
        FROM (
          SELECT
            {_text("f.jobid")} AS job_id,
            {_text("f.user")} AS user,
            {_text("f.vc")} AS team,
            {_text("f.status")} AS status_raw,
            {_text("f.submitted_time")} AS submit_raw,
            {_text("attempts[1].start_time")} AS start_raw,
            {_text("attempts[-1].end_time")} AS end_raw,
            attempts[-1].detail AS last_detail,
            {ok} AS ok
          FROM (
            SELECT j, f, CASE WHEN json_type(f.attempts) = 'ARRAY'
                              THEN json_transform(f.attempts, {_lit(_ATTEMPTS)}) END AS attempts
            FROM (SELECT json AS j, json_transform(json, {_lit(_JOB)}) AS f FROM {read})
          )
        )
      )
    )
  )
)
"""
