"""Formatting of measured quantities for people: significant digits, not false precision."""

from __future__ import annotations

import math


def sig(value: float, digits: int = 3) -> str:
    """``value`` with ``digits`` significant digits, without scientific notation for
    ordinary magnitudes (1e-3 .. 1e9)."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g}" if value == 0 else str(value)
    magnitude = math.floor(math.log10(abs(value)))
    if magnitude < -3 or magnitude >= 9:
        return f"{value:.{digits - 1}e}"
    decimals = max(digits - 1 - magnitude, 0)
    return f"{value:,.{decimals}f}"


def quantity(value: float, unit: str, digits: int = 3) -> str:
    if unit in {"fraction", "ratio"}:
        return f"{value:.1%}"
    return f"{sig(value, digits)} {unit}".rstrip()


def interval(low: float, high: float, digits: int = 3) -> str:
    return f"[{sig(low, digits)}, {sig(high, digits)}]"


def percent(value: float | None, digits: int = 1) -> str:
    if value is None or not math.isfinite(value):
        return "-"
    return f"{value * 100:.{digits}f}%"


def usd(value: float | None, digits: int = 3) -> str:
    """Dollars for people: the sign before the symbol, thousands separators, whole dollars
    from $100 up (cents below), and ``digits`` significant digits from $1M up
    (``$4,490,000``): a yearly estimate is not known to the dollar."""
    if value is None or not math.isfinite(value):
        return "-"
    if value == 0:
        return "$0"
    sign = "-" if value < 0 else ""
    v = abs(value)
    if v >= 1_000_000:
        magnitude = math.floor(math.log10(v))
        v = round(v, digits - 1 - magnitude)
        return f"{sign}${v:,.0f}"
    if v >= 100:
        return f"{sign}${v:,.0f}"
    return f"{sign}${v:,.2f}"


def count(value: float) -> str:
    """A count or a large quantity (GPU-hours): whole, with thousands separators; under 10
    it keeps ``sig``'s three significant digits."""
    if not math.isfinite(value):
        return "-"
    return f"{value:,.0f}" if abs(value) >= 10 else sig(value)
