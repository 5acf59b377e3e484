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
