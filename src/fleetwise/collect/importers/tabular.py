"""What the cluster importers share: a file's head for sniffing, a CSV's header and rows
with line numbers, and the (name, sniff, parse) triple each format registers."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from fleetwise.errors import InputError

T = TypeVar("T")

#: How much of a file sniffing reads.
SNIFF_BYTES = 64 * 1024


def head(path: Path) -> str:
    """The first ``SNIFF_BYTES`` of a file as text (undecodable bytes replaced)."""
    try:
        with path.open("rb") as f:
            return f.read(SNIFF_BYTES).decode("utf-8", errors="replace")
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from exc


def header(path: Path, sep: str = ",") -> list[str]:
    """The first line split on ``sep``, names stripped (a BOM dropped); [] when empty."""
    first = head(path).lstrip("\ufeff").splitlines()[:1]
    return [c.strip() for c in first[0].split(sep)] if first else []


def rows(path: Path, delimiter: str = ",") -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row) of a CSV with a header; the header itself is line 1. Blank
    lines are skipped; a row with the wrong number of columns is an ``InputError``."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f, delimiter=delimiter)
            names = [h.strip() for h in next(reader, [])]
            if not names:
                raise InputError(f"{path}: empty file")
            for row in reader:
                if not row or not any(c.strip() for c in row):
                    continue
                if len(row) != len(names):
                    raise InputError(
                        f"{path}:{reader.line_num}: expected {len(names)} columns, got {len(row)}"
                    )
                yield reader.line_num, dict(zip(names, row, strict=True))
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({exc.reason})") from exc
    except csv.Error as exc:
        raise InputError(f"{path}: not valid CSV: {exc}") from exc
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from exc


@dataclass(frozen=True)
class Importer(Generic[T]):
    """One format: its name, how to recognise it, how to parse it."""

    name: str
    sniff: Callable[[Path], bool]
    parse: Callable[[Path], list[T]]
