"""Frozen result records for the trace analyses (msgspec structs, not pydantic models).

``trace analyze`` is a command people run on a folder of traces and wait for: its whole
run on a small set is a few tenths of a second, and importing pydantic with the trace result
models cost about a third of it. The trace results are plain values built by the analyses
themselves (nothing to validate), so they are msgspec structs: built in C, and imported in a
millisecond. ``as_json`` turns one (and anything holding them) into JSON-ready builtins, the
same document pydantic's ``model_dump(mode="json")`` gave: integer dict keys as strings,
NumPy scalars as Python numbers.
"""

from __future__ import annotations

from typing import Any

import msgspec


class Record(msgspec.Struct, frozen=True, kw_only=True):
    """Base of the trace result records: immutable, built by keyword."""


def _builtin(value: Any) -> Any:
    item = getattr(value, "item", None)  # a NumPy scalar
    if item is None:
        raise TypeError(f"cannot turn {type(value).__name__} into JSON")
    return item()


def as_json(value: Any) -> Any:
    """``value`` (records, lists and dicts of them) as JSON-ready builtins."""
    return msgspec.to_builtins(value, str_keys=True, enc_hook=_builtin)
