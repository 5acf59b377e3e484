"""Formatting of measured quantities for people: significant digits, not false precision."""

from __future__ import annotations

import math
from typing import Any, Protocol


class SeriesLike(Protocol):
    """What ``series_label`` reads of a series key (``models.SeriesKey``)."""

    benchmark: str
    metric: str
    params: dict[str, Any]
    hardware: str


def sig(value: float, digits: int = 3) -> str:
    """``value`` with at least ``digits`` significant digits (all of a whole number's),
    thousands separated, never in scientific notation (``0.0000123``, ``1,234,567``)."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g}" if value == 0 else str(value)
    magnitude = math.floor(math.log10(abs(value)))
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


def duration(hours: float | None) -> str:
    """A duration in the unit a person would use: seconds under a minute, minutes under an
    hour, hours under two days, days above (``45 s``, ``31 min``, ``4.5 h``, ``3.2 d``)."""
    if hours is None or not math.isfinite(hours):
        return "-"
    if hours == 0:
        return "0"
    sign = "-" if hours < 0 else ""
    h = abs(hours)
    if h < 1 / 60:
        return f"{sign}{sig(h * 3600, 2)} s"
    if h < 1:
        return f"{sign}{sig(h * 60, 2)} min"
    if h < 48:
        return f"{sign}{sig(h, 2)} h"
    return f"{sign}{sig(h / 24, 2)} d"


def params_text(params: dict[str, Any]) -> str:
    """A benchmark case's parameters for people: ``size=64, dtype=fp32`` (sorted by name)."""
    return ", ".join(f"{k}={v}" for k, v in sorted(params.items())) or "defaults"


def series_label(key: SeriesLike) -> str:
    """A benchmark series for people: ``compute.gemm tflops (dtype=fp32, size=64) on HW``;
    never its internal id."""
    on = f" on {key.hardware}" if key.hardware else ""
    return f"{key.benchmark} {key.metric} ({params_text(key.params)}){on}"


def amount(value: float | int | str, unit: str = "") -> str:
    """A stored quantity (a finding's evidence) for people: integers with separators,
    floats to three significant digits, shares as percentages, text as it is."""
    if isinstance(value, str):
        return f"{value} {unit}".strip()
    if isinstance(value, int) and unit not in {"fraction", "ratio"}:
        return f"{value:,} {unit}".strip()
    return quantity(float(value), unit)


def correlation(r: float) -> str:
    """A correlation or effect size as papers write it: two decimals and its sign
    (``+0.53``, ``-0.05``)."""
    return f"{r:+.2f}"


def pvalue(p: float | None) -> str:
    """A p-value as papers write it: ``p = 0.034``, ``p < 0.001``."""
    if p is None or not math.isfinite(p):
        return "p = -"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"
