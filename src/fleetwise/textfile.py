"""Reading a user's text file: one clear ``InputError`` for every way it can be unreadable."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from fleetwise.errors import InputError


def read_text(path: Path) -> str:
    """The file's text (UTF-8, a BOM allowed); ``InputError`` naming the file, and the line
    for bytes that are not UTF-8, instead of ``OSError`` or ``UnicodeDecodeError``."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(f"{path}:{line}: not UTF-8 text") from exc


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, except that a date-shaped scalar that is no date (``2026-13-45``)
    is a YAML error with its line instead of a ``ValueError`` from ``datetime``."""


def _timestamp(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
    try:
        return loader.construct_yaml_timestamp(node)
    except (ValueError, OverflowError) as exc:
        raise yaml.constructor.ConstructorError(
            None, None, f"{node.value!r} is not a valid date ({exc})", node.start_mark
        ) from exc


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)


def load_yaml(text: str) -> Any:
    """``yaml.safe_load`` with dates that fail as YAML errors (see ``_Loader``)."""
    return yaml.load(text, Loader=_Loader)


def read_yaml(path: Path, error: type[InputError] = InputError) -> tuple[yaml.Node | None, Any]:
    """The file's YAML node tree (for line numbers of keys) and its value; a syntax error or
    an impossible date is ``error`` naming the file and the line."""
    text = read_text(path)
    try:
        return yaml.compose(text), load_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise error(f"{where}: not valid YAML: {problem}") from exc


def first_problem(exc: ValidationError) -> tuple[tuple[int | str, ...], str]:
    """The error to show of a pydantic ``ValidationError``: an unknown key first (a typo
    such as ``benchmrk`` also makes ``benchmark`` missing; the typo is the news), with the
    known key it is closest to."""
    errors = exc.errors()
    unknown = [e for e in errors if e["type"] == "extra_forbidden"]
    first = unknown[0] if unknown else errors[0]
    if first["type"] == "missing":
        return first["loc"], "required key missing"
    if first["type"] != "extra_forbidden":
        return first["loc"], first["msg"]
    missing = [str(e["loc"][-1]) for e in errors if e["type"] == "missing"]
    typo = str(first["loc"][-1])
    close = difflib.get_close_matches(typo, missing, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return first["loc"], f"unknown key{hint}"
