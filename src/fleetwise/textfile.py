"""Reading a user's text file: one clear ``InputError`` for every way it can be unreadable."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

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


def read_yaml(path: Path, error: type[InputError] = InputError) -> tuple[yaml.Node | None, Any]:
    """The file's YAML node tree (for line numbers of keys) and its value; a syntax error is
    ``error`` naming the file and the line."""
    text = read_text(path)
    try:
        return yaml.compose(text), yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise error(f"{where}: not valid YAML: {problem}") from exc
