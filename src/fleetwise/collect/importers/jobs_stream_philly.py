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
#: The values the rules read, each a JSON path: a job's type and fields, its first
#: attempt's start, its last attempt's end and hosts. One DuckDB call reads a list of
#: paths with one parse of the job.
_PATHS = {
    "job": "$",
    "jobid": "$.jobid",
    "user": "$.user",
    "vc": "$.vc",
    "status": "$.status",
    "submitted_time": "$.submitted_time",
    "attempts": "$.attempts",
    "start_time": "$.attempts[0].start_time",
    "end_time": "$.attempts[#-1].end_time",
    "detail": "$.attempts[#-1].detail",
}
_TEXTS = ("jobid", "user", "vc", "status", "submitted_time", "start_time", "end_time")
#: The objects whose keys are read (a key given twice is not vouched for).
_OBJECTS = ("$", "$.attempts[0]", "$.attempts[#-1]")


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


def _paths(names: tuple[str, ...] | list[str]) -> str:
    return "[" + ", ".join(_lit(_PATHS[n]) for n in names) + "]"


def _kind(name: str, *kinds: str) -> str:
    """True when the value at ``name`` is absent, null or one of ``kinds`` (JSON types)."""
    listed = ", ".join(_lit(k) for k in ("NULL", *kinds))
    return f"coalesce(t[{list(_PATHS).index(name) + 1}], 'NULL') IN ({listed})"


def _text(name: str) -> str:
    """A JSON string's text; '' for null or absent (``str(x or "")``)."""
    return f"coalesce(s[{_TEXTS.index(name) + 1}], '')"


def _all(items: str, test: str) -> str:
    """True when ``test`` (a lambda of ``x``) holds for every item (none: true)."""
    return f"coalesce(list_bool_and(list_transform({items}, lambda x: {test})), true)"


_UNIQUE = "x IS NULL OR list_unique(x) = len(x)"

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
    objects = "[" + ", ".join(_lit(o) for o in _OBJECTS) + "]"
    ok = " AND ".join(
        [
            "t[1] = 'OBJECT'",
            f"t[{list(_PATHS).index('jobid') + 1}] = 'VARCHAR'",
            f"t[{list(_PATHS).index('submitted_time') + 1}] = 'VARCHAR'",
            *(_kind(n, "VARCHAR") for n in ("user", "vc", "status", "start_time", "end_time")),
            _kind("attempts", "ARRAY"),
            _kind("detail", "ARRAY"),
            _all("attempt_kinds", "x = 'OBJECT'"),
            _all("detail_kinds", "x = 'OBJECT'"),
            _all("keys", _UNIQUE),
            f"NOT regexp_matches(j, {_lit(_LENIENT)})",
            # as many opening brackets take as many closing ones: a short job is never deep
            f"(strlen(j) < {2 * _BRACKETS} OR strlen(j) - strlen(replace(replace(j, '[', ''), "
            f"'{{', '')) < {_BRACKETS})",
        ]
    )
    # each host of the last attempt: its keys, the types of ip and gpus, ip, GPUs listed
    host = (
        "struct_pack(keys := json_keys(x), kinds := json_type(x, ['$.ip', '$.gpus']), "
        "ip := coalesce(json_extract_string(x, '$.ip'), ''), "
        "gpus := coalesce(json_array_length(x, '$.gpus'), 0))"
    )
    host_ok = (
        "list_unique(x.keys) = len(x.keys) AND coalesce(x.kinds[1], 'NULL') IN ('NULL', "
        "'VARCHAR') AND coalesce(x.kinds[2], 'NULL') IN ('NULL', 'ARRAY')"
    )
    return f"""
SELECT
  job_id, user, team, submit_time, start_time, end_time,
  coalesce(list_sum(used), 0)::INTEGER AS gpus,
  nullif(len(hosts), 0)::INTEGER AS nodes,
  state,
  CASE WHEN len(placed) = 0 THEN NULL
       WHEN list_unique(placed_hosts) = len(placed) THEN to_json(map(placed_hosts, placed_used))
       ELSE to_json(map({_merged_hosts}, {_merged_gpus})) END::VARCHAR AS placement,
  NULL::VARCHAR AS nodelist,
  coalesce(NOT ok OR submit_time IS NULL
    OR {_unreadable("start_raw", "start_time")} OR {_unreadable("end_raw", "end_time")}
    OR NOT {_all("hosts", host_ok)}, true) AS bad
FROM (
  SELECT *, list_transform(placed, lambda i: hosts[i].ip) AS placed_hosts,
    list_transform(placed, lambda i: hosts[i].gpus) AS placed_used
  FROM (
    SELECT *, list_transform(hosts, lambda x: x.gpus) AS used,
      list_filter(range(1, len(hosts) + 1), lambda i: hosts[i].ip <> '' AND hosts[i].gpus > 0)
        AS placed
    FROM (
      SELECT
        {_text("jobid")} AS job_id,
        {_text("user")} AS user,
        {_text("vc")} AS team,
        {_state(_text("status"))} AS state,
        {_time(_text("submitted_time"))} AS submit_time,
        {_text("start_time")} AS start_raw,
        {_text("end_time")} AS end_raw,
        {_time(_text("start_time"))} AS start_time,
        {_time(_text("end_time"))} AS end_time,
        coalesce(list_transform(json_extract(j, '$.attempts[#-1].detail[*]'), lambda x: {host}),
                 []) AS hosts,
        {ok} AS ok
      FROM (
        SELECT j,
          json_type(j, {_paths(list(_PATHS))}) AS t,
          json_extract_string(j, {_paths(_TEXTS)}) AS s,
          json_keys(j, {objects}) AS keys,
          json_type(j, '$.attempts[*]') AS attempt_kinds,
          json_type(j, '$.attempts[#-1].detail[*]') AS detail_kinds
        FROM (SELECT json AS j FROM {read})
      )
    )
  )
)
"""
