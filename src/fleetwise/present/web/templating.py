"""Jinja2 for the dashboard: autoescaping on for every template, number formats.

Every value a user supplied (run tags, team names, titles) reaches the page through
autoescaping; chart specs go in ``<script type="application/json">`` blocks through
``tojson``, which escapes ``<``, ``>``, ``&`` and quotes, so a stored ``</script>``
cannot end the block.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from fleetwise import units

TEMPLATES = Path(__file__).with_name("templates")

#: The navigation bar: path and label of each page.
NAV = [
    ("/overview", "Overview"),
    ("/ledger", "Ledger"),
    ("/benchmarks", "Benchmarks"),
    ("/diagnosis", "Diagnosis"),
    ("/plan", "Plan"),
    ("/capacity", "Capacity"),
    ("/process", "Process"),
    ("/retros", "Retros"),
    ("/people", "People"),
    ("/alignment", "Alignment"),
]


def _finite(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def money(x: Any) -> str:
    """Dollars as every face writes them (``units.usd``)."""
    return units.usd(x) if _finite(x) else "-"


def num(x: Any, digits: int = 3) -> str:
    """Significant digits, thousands separated (``units``); '-' for nothing."""
    if not _finite(x):
        return "-"
    return units.count(x) if abs(x) >= 10 ** (digits - 1) else units.sig(x, digits)


def pct(x: Any, digits: int = 0) -> str:
    return f"{x:.{digits}%}" if _finite(x) else "-"


def when(x: Any) -> str:
    if isinstance(x, datetime):
        return x.strftime("%Y-%m-%d %H:%M")
    if isinstance(x, date):
        return x.isoformat()
    if isinstance(x, str) and x:
        return x[:16].replace("T", " ")
    return "-"


def pval(x: Any) -> str:
    """A p-value for a column headed "p": ``0.034``, ``< 0.001``."""
    return units.pvalue(x).removeprefix("p = ").removeprefix("p ") if _finite(x) else "-"


def corr(x: Any) -> str:
    return units.correlation(x) if _finite(x) else "-"


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(money=money, num=num, pct=pct, when=when, pval=pval, corr=corr)
    env.globals["nav"] = NAV
    return env


ENVIRONMENT = _environment()


def render(template: str, context: dict[str, Any]) -> str:
    return ENVIRONMENT.get_template(template).render(**context)
