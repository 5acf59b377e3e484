"""Scores of backlog actions: ROI, NPV, payback, WSJF and RICE, and a ranking that explains ties.

Money scores are risk-adjusted: the yearly benefit is ``savings_usd_per_year x confidence``
(an expected value), and the investment is the one-time cost plus the effort priced at a
loaded person-day rate. Definitions followed:

- ROI = (benefit over the horizon - investment) / investment, undiscounted.
- NPV = ``numpy_financial.npv(rate, [-investment, benefit, ..., benefit])``: the investment at
  t = 0, one benefit at the end of each year of the horizon.
- Payback = investment / (benefit / 12), in months; never when the benefit is zero.
- WSJF (Scaled Agile Framework, "WSJF"): cost of delay = user-business value + time
  criticality + risk reduction/opportunity enablement; WSJF = cost of delay / job size.
  Each is a relative score on the modified Fibonacci scale (1, 2, 3, 5, 8, 13, 20). A value
  or job size not given is derived from the money and effort figures by fixed brackets
  (``VALUE_BRACKETS``, ``SIZE_BRACKETS``) so that two backlogs are scored alike.
- RICE (Intercom, McBride 2016): reach x impact x confidence / effort, effort in
  person-months (``WORKDAYS_PER_MONTH`` person-days each).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from fleetwise.errors import MissingDependencyError
from fleetwise.models import Action
from fleetwise.plan.fleet import FleetProfile, default_profile

ScoreName = Literal["roi", "npv", "payback", "wsjf", "rice"]
SCORE_NAMES: tuple[ScoreName, ...] = ("roi", "npv", "payback", "wsjf", "rice")

#: A loaded engineering person-day (salary, benefits, overhead); override per backlog.
#: Intercom's RICE counts effort in person-months; 20 working days make one.
WORKDAYS_PER_MONTH = 20.0
FIBONACCI = (1, 2, 3, 5, 8, 13, 20)
#: Yearly risk-adjusted benefit (USD) -> WSJF user-business value: below each bound, that value.
VALUE_BRACKETS = ((10_000, 1), (50_000, 2), (100_000, 3), (250_000, 5), (500_000, 8), (1e6, 13))
#: Effort (person-days) -> WSJF job size: up to each bound, that size.
SIZE_BRACKETS = ((1, 1), (3, 2), (5, 3), (10, 5), (20, 8), (40, 13))
#: Without a stated time criticality or risk reduction WSJF uses the middle of the scale's
#: lower half, so an unscored factor neither wins nor sinks an item.
DEFAULT_WSJF_FACTOR = 3
#: RICE impact without a stated one: Intercom's "medium".
DEFAULT_RICE_IMPACT = 1.0


@dataclass(frozen=True)
class Assumptions:
    """What turns an action's figures into scores: the fleet profile's horizon, discount
    rate and loaded person-day (``Assumptions.of(profile)``; the built-in profile's when
    none is given)."""

    horizon_years: int
    discount_rate: float
    usd_per_person_day: float

    @classmethod
    def of(cls, profile: FleetProfile | None = None) -> Assumptions:
        p = profile or default_profile()
        return cls(p.horizon_years, p.discount_rate, p.usd_per_person_day)


@dataclass(frozen=True)
class Scores:
    """An action's scores with the inputs they were computed from."""

    investment_usd: float
    benefit_usd_per_year: float
    roi: float | None
    npv: float
    payback_months: float | None
    value: int
    time_criticality: int
    risk_reduction: int
    job_size: int
    cost_of_delay: int
    wsjf: float
    reach: float
    impact: float
    effort_months: float
    rice: float
    derived: list[str] = field(default_factory=list)

    def get(self, name: ScoreName) -> float | None:
        return self.payback_months if name == "payback" else getattr(self, name)


def _bracket(x: float, brackets: Sequence[tuple[float, int]], *, inclusive: bool) -> int:
    """The score of the first bracket holding ``x`` (bounds included or not); 20 above all."""
    for bound, value in brackets:
        if x < bound or (inclusive and x == bound):
            return value
    return FIBONACCI[-1]


def _npv(rate: float, flows: Sequence[float]) -> float:
    try:
        # numpy-financial ships no type information (no py.typed); the result is a float.
        import numpy_financial  # type: ignore[import-untyped]
    except ImportError as exc:
        raise MissingDependencyError("numpy-financial", "forecast") from exc
    return float(numpy_financial.npv(rate, list(flows)))


def score(action: Action, assumptions: Assumptions | None = None) -> Scores:
    """Every score of one action (pure; the same inputs give the same numbers)."""
    a = assumptions or Assumptions.of()
    derived: list[str] = []
    investment = action.one_time_cost_usd + action.effort_days * a.usd_per_person_day
    benefit = action.savings_usd_per_year * action.confidence
    flows = [-investment] + [benefit] * a.horizon_years
    npv = _npv(a.discount_rate, flows)
    roi = (benefit * a.horizon_years - investment) / investment if investment > 0 else None
    payback = investment * 12.0 / benefit if benefit > 0 else None
    if payback is not None and not math.isfinite(payback):
        payback = None  # a benefit too small to ever pay back (e.g. a denormal float)
    value = action.value
    if value is None:
        value = _bracket(benefit, VALUE_BRACKETS, inclusive=False)
        derived.append(f"value {value} from ${benefit:,.0f}/yr expected benefit")
    size = action.job_size
    if size is None:
        size = _bracket(action.effort_days, SIZE_BRACKETS, inclusive=True)
        derived.append(f"job size {size} from {action.effort_days:g} person-days")
    crit = action.time_criticality or DEFAULT_WSJF_FACTOR
    risk = action.risk_reduction or DEFAULT_WSJF_FACTOR
    if action.time_criticality is None:
        derived.append(f"time criticality {crit} (default)")
    if action.risk_reduction is None:
        derived.append(f"risk reduction {risk} (default)")
    cod = value + crit + risk
    reach = action.reach if action.reach is not None else 0.0
    if action.reach is None:
        derived.append("reach 0 (not given): RICE 0")
    impact = action.impact if action.impact is not None else DEFAULT_RICE_IMPACT
    effort_months = action.effort_days / WORKDAYS_PER_MONTH
    return Scores(
        investment_usd=investment,
        benefit_usd_per_year=benefit,
        roi=roi,
        npv=npv,
        payback_months=payback,
        value=value,
        time_criticality=crit,
        risk_reduction=risk,
        job_size=size,
        cost_of_delay=cod,
        wsjf=cod / size,
        reach=reach,
        impact=impact,
        effort_months=effort_months,
        rice=reach * impact * action.confidence / effort_months,
        derived=derived,
    )


@dataclass(frozen=True)
class Ranked:
    position: int
    action: Action
    scores: Scores
    #: Why this item sits where it does relative to an equal neighbour; empty without a tie.
    tie: str = ""


#: The order in which ties on the chosen score are broken (then the lower id wins).
TIE_BREAKERS: tuple[ScoreName, ...] = ("npv", "roi", "wsjf", "rice", "payback")


def _sort_value(s: Scores, name: ScoreName) -> float:
    """Larger is better; payback is better when shorter, and "never" is worst."""
    v = s.get(name)
    if v is None:
        return -math.inf
    return -v if name == "payback" else v


def _same(x: float, y: float) -> bool:
    return x == y or math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-9)


def rank(
    actions: Sequence[Action], by: ScoreName = "roi", assumptions: Assumptions | None = None
) -> list[Ranked]:
    """Actions best first by ``by``; ties broken by ``TIE_BREAKERS`` then id, and explained."""
    scored = [(a, score(a, assumptions)) for a in actions]
    breakers = [b for b in TIE_BREAKERS if b != by]

    def key(item: tuple[Action, Scores]) -> tuple[float, ...]:
        a, s = item
        return (
            -_sort_value(s, by),
            *(-_sort_value(s, b) for b in breakers),
            float(a.id if a.id is not None else math.inf),
        )

    ordered = sorted(scored, key=key)
    out: list[Ranked] = []
    for i, (a, s) in enumerate(ordered):
        tie = ""
        neighbours = [ordered[j] for j in (i - 1, i + 1) if 0 <= j < len(ordered)]
        tied = [n for n in neighbours if _same(_sort_value(n[1], by), _sort_value(s, by))]
        if tied:
            other = tied[0]
            decider = next(
                (b for b in breakers if not _same(_sort_value(s, b), _sort_value(other[1], b))),
                None,
            )
            names = ", ".join(f"#{n[0].id}" for n in tied)
            tie = f"tied with {names} on {by}; " + (
                f"ordered by {decider}" if decider else "every score equal: ordered by id"
            )
        out.append(Ranked(position=i + 1, action=a, scores=s, tie=tie))
    return out
