"""Reading REST API exports as the tools return them, paged or not.

An export is any of:

- one response: a JSON array of items, or an object holding them under a known key
  (``{"deployments": [...]}``, ``{"items": [...], "next_page_token": ...}``);
- a list of such responses (pages collected into one array);
- pages concatenated as they come (``gh api --paginate`` writes ``[...][...]``, a loop of
  ``curl`` calls writes one document after another, JSON Lines writes one per line);
- a DevLake raw-table dump (``_raw_<plugin>_api_<thing>`` exported as CSV): one row per
  collected record, the API's JSON in the ``data`` column. The other columns (``id``,
  ``params``, ``url``, ``input``, ``created_at``) are DevLake's own - ``created_at`` is when
  DevLake *collected* the row - so only ``data`` is read; a ``data`` cell that is not JSON
  is refused, never guessed at.

Each item comes with its place for messages: ``file:page[2].items[3]`` or
``file:14: column 'data'``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from fleetwise.collect.importers.incidents import Row, csv_rows, head_text
from fleetwise.errors import InputError
from fleetwise.textfile import read_text

#: Columns of a DevLake raw table (``_raw_*``): the API's JSON is in ``data``.
RAW_COLUMNS = ("data", "params", "url")
Item = tuple[str, Row]


def is_raw_dump(path: Path) -> bool:
    """A CSV whose header names DevLake's raw-table columns (``data``, ``params``, ``url``)."""
    header = head_text(path).split("\n", 1)[0]
    names = {h.strip().strip('"') for h in header.split(",")}
    return all(c in names for c in RAW_COLUMNS)


def sniff_text(path: Path) -> str:
    """The head of a file for sniffing, with a raw dump's doubled CSV quotes undone, so
    ``"urgency"`` is found in ``""urgency""`` too."""
    head = head_text(path)
    return head.replace('""', '"') if is_raw_dump(path) else head


def _documents(path: Path, text: str) -> list[Any]:
    """One JSON document, or several written one after another (pages, JSON Lines)."""
    decoder = json.JSONDecoder()
    docs: list[Any] = []
    i, n = 0, len(text)
    while True:
        while i < n and text[i] in " \t\r\n":
            i += 1
        if i >= n:
            break
        try:
            doc, i = decoder.raw_decode(text, i)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"{path}:{exc.lineno}: column {exc.colno}: not JSON: {exc.msg}"
            ) from exc
        except RecursionError as exc:
            raise InputError(f"{path}: JSON nested too deeply") from exc
        docs.append(doc)
    if not docs:
        raise InputError(f"{path}:1: empty file, expected JSON")
    return docs


def _unpack(doc: Any, keys: Sequence[str], at: str, out: list[Item]) -> bool:
    """Add the items of one response (``doc``) to ``out``; False when it holds none of
    ``keys`` and is not an item list."""
    if isinstance(doc, Mapping):
        for key in keys:
            if isinstance(doc.get(key), list):
                out.extend(
                    (f"{at}{key}[{i}]", r) for i, r in enumerate(doc[key]) if isinstance(r, Mapping)
                )
                return True
        return False
    if isinstance(doc, list):
        for i, item in enumerate(doc):
            if isinstance(item, Mapping) and any(isinstance(item.get(k), list) for k in keys):
                _unpack(item, keys, f"{at}[{i}].", out)  # a page among collected pages
            elif isinstance(item, list):
                _unpack(item, keys, f"{at}[{i}]", out)
            elif isinstance(item, Mapping):
                out.append((f"{at}[{i}]", item))
        return True
    return False


def api_documents(path: Path) -> list[tuple[str, Any]]:
    """The JSON documents of an export with their places: one per page, or one per row of
    a raw dump (``"14"``; its ``data`` cell)."""
    text = read_text(path)
    if not is_raw_dump(path):
        docs = _documents(path, text)
        return [(f"page[{n}]" if len(docs) > 1 else "", d) for n, d in enumerate(docs)]
    out: list[tuple[str, Any]] = []
    for line, row in csv_rows(path, text, RAW_COLUMNS):
        try:
            out.append((str(line), json.loads(str(row.get("data") or ""))))
        except (json.JSONDecodeError, RecursionError) as exc:
            raise InputError(
                f"{path}:{line}: column 'data': not JSON; a DevLake raw table holds the API's "
                "JSON in 'data'"
            ) from exc
    if not out:
        raise InputError(f"{path}: no rows in this raw table")
    return out


def _prefix(at: str, is_list: bool) -> str:
    """How an item's place starts: ``deployments[3]``, ``page[1].items[3]``, ``page[1][3]``,
    ``14:incidents[0]`` (row 14 of a raw dump)."""
    if not at:
        return ""
    if at[0].isdigit():
        return f"{at}:"
    return at if is_list else f"{at}."


def api_items(path: Path, keys: Sequence[str], what: str) -> list[Item]:
    """Every item of an API export (see the module docstring). ``keys`` are the names a
    response holds its items under; ``what`` names the export in the refusal."""
    out: list[Item] = []
    for at, doc in api_documents(path):
        if isinstance(doc, Mapping) and not any(isinstance(doc.get(k), list) for k in keys):
            out.append((at or "[0]", doc))  # one item: a JSON Lines record, a raw row
            continue
        prefix = _prefix(at, isinstance(doc, list))
        if not _unpack(doc, keys, prefix, out):
            raise InputError(f"{path}:{at or 1}: expected {what}")
    if not out:
        raise InputError(f"{path}: no items: expected {what}")
    return out


def text_of(row: Row, *names: str) -> str:
    """The first non-empty value among dotted ``names`` as text ("" when none)."""
    for name in names:
        value: Any = row
        for part in name.split("."):
            value = value.get(part) if isinstance(value, Mapping) else None
        if value not in (None, "", [], {}):
            return str(value)
    return ""


# How CI results count, as DevLake's converters map them (``devops.GetResult``): a run that
# was cancelled, timed out or failed to start did not deliver, so it is a failure; a skipped
# job did not run. The tool's own word is kept in the payload (``conclusion``).
_RESULTS = {
    "success": "success",
    "succeeded": "success",
    "successful": "success",
    "passed": "success",
    "fixed": "success",
    "failure": "failure",
    "failed": "failure",
    "error": "failure",
    "errored": "failure",
    "failing": "failure",
    "infrastructure_fail": "failure",
    "timedout": "failure",
    "timed_out": "failure",
    "startup_failure": "failure",
    "cancelled": "failure",
    "canceled": "failure",
    "aborted": "failure",
    "unstable": "failure",
    "unauthorized": "failure",
    "skipped": "skipped",
    "not_run": "skipped",
    "not_built": "skipped",
    "neutral": "skipped",
    "manual": "skipped",
}


def ci_result(raw: str) -> str:
    """A CI result as ``success``, ``failure``, ``skipped`` or the tool's word lowered."""
    word = raw.strip().lower()
    return _RESULTS.get(word, word)
