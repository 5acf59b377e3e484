"""Times without a zone are UTC: the one rule, for every layer."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import overload


@overload
def as_utc(value: datetime) -> datetime: ...
@overload
def as_utc(value: None) -> None: ...
def as_utc(value: datetime | None) -> datetime | None:
    """``value`` with UTC as its zone when it has none (SQLite returns naive datetimes even
    for ``timezone=True`` columns, and a time typed on the command line has none)."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)
