"""Survey and notes figures as every face writes them (CLI, dashboard, briefing): an
estimate with its 95% CI, a share, an eNPS, a wave comparison."""

from __future__ import annotations

from fleetwise.analyze.survey import Comparison, Estimate
from fleetwise.units import correlation, percent, pvalue, sig

FORMATS = {
    "google-forms": "Google Forms",
    "microsoft-forms": "Microsoft Forms",
    "typeform": "Typeform",
}


def estimate(e: Estimate | None, digits: int = 3) -> str:
    """``3.10 [2.85, 3.36]``; the interval is left out below two answers."""
    if e is None:
        return "-"
    if e.low is None or e.high is None:
        return sig(e.value, digits)
    return f"{sig(e.value, digits)} [{sig(e.low, digits)}, {sig(e.high, digits)}]"


def share(e: Estimate | None) -> str:
    """``24% [11%, 37%]``."""
    if e is None:
        return "-"
    if e.low is None or e.high is None:
        return percent(e.value, 0)
    return f"{percent(e.value, 0)} [{percent(e.low, 0)}, {percent(e.high, 0)}]"


def signed(value: float) -> str:
    text = sig(value, 2)
    return f"+{text}" if value > 0 else text


def enps(e: Estimate | None) -> str:
    """``-17 [-41, +5]`` (points, -100..100)."""
    if e is None:
        return "-"
    if e.low is None or e.high is None:
        return signed(e.value)
    return f"{signed(e.value)} [{signed(e.low)}, {signed(e.high)}]"


def rate(value: float | None) -> str:
    return percent(value, 0) if value is not None else "-"


def effect(c: Comparison) -> str:
    """``r = +0.53 [+0.31, +0.72]``: the rank-biserial correlation and its CI."""
    ci = (
        f" [{correlation(c.effect_low)}, {correlation(c.effect_high)}]"
        if c.effect_low is not None and c.effect_high is not None
        else ""
    )
    return f"r = {correlation(c.effect)}{ci}"


def comparison_cells(c: Comparison) -> list[str]:
    return [
        c.key,
        c.subject,
        f"{sig(c.mean_before, 3)} -> {sig(c.mean_after, 3)}",
        f"{c.n_before} / {c.n_after}",
        sig(c.u, 4),
        pvalue(c.p),
        effect(c),
        c.verdict,
    ]


COMPARISON_COLUMNS = ["item", "kind", "mean before -> after", "n", "U", "p", "effect", "verdict"]
