"""Survey statistics: per item and per construct, each wave, and two waves compared.

- **Mean and top-2-box** with percentile bootstrap 95% CIs (``RESAMPLES`` resamples of the
  respondents, ``numpy.random.default_rng(SEED)``: the same answers give the same interval).
  Top-2-box is the share answering in the two highest boxes (4-5 of 5, 6-7 of 7, 9-10 of 10).
- **eNPS** of a 0-10 item: % promoters (9-10) minus % detractors (0-6), -100..100, with its
  bootstrap CI.
- **Construct score**: each respondent's answers to the construct's items put on 0-100
  (POMP, percent of the maximum possible: ``(x - min) / (max - min)``, reverse items turned
  around first) and averaged; the construct's score is the mean over respondents. Its
  top-2-box is the mean over respondents of the share of their answers in the top two boxes.
- **Response rate**: respondents who answered / the team size (None without a team size).
- **Two waves compared**: Mann-Whitney U (two-sided, normal approximation with the tie
  correction and a continuity correction, as ``scipy.stats.mannwhitneyu(method=
  "asymptotic")``), effect size = rank-biserial correlation ``r = 2 U / (n1 n2) - 1``
  (positive: the later wave answered higher) with a bootstrap CI; ``p >= ALPHA`` reads "no
  detectable change". Holm's adjustment over the comparisons is reported beside.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import datetime

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel

from fleetwise.collect.importers.survey import SCALE_RANGE, MapItem, SurveyResponse
from fleetwise.stats import bootstrap_ci

SEED = 18
RESAMPLES = 2000
ALPHA = 0.05
NO_CHANGE = "no detectable change"

Array = NDArray[np.float64]


class Estimate(BaseModel):
    """A statistic and its bootstrap 95% CI (None where fewer than two answers)."""

    value: float
    low: float | None = None
    high: float | None = None


class ItemStats(BaseModel):
    key: str
    question: str
    scale: str
    construct_name: str
    reverse: bool = False
    n: int
    response_rate: float | None
    mean: Estimate | None = None
    top2: Estimate | None = None
    enps: Estimate | None = None
    #: Free-text answers, as given (text items only).
    texts: list[str] = []


class ConstructStats(BaseModel):
    name: str
    items: list[str]
    n: int
    response_rate: float | None
    #: 0-100 (POMP).
    score: Estimate | None
    top2: Estimate | None
    enps: Estimate | None = None


class WaveStats(BaseModel):
    wave: str
    format: str
    source: str
    first_at: datetime
    last_at: datetime
    respondents: int
    team_size: int | None
    response_rate: float | None
    items: list[ItemStats]
    constructs: list[ConstructStats]


class Comparison(BaseModel):
    """One item or construct in two waves."""

    subject: str  # "item" or "construct"
    key: str
    label: str
    before: str
    after: str
    n_before: int
    n_after: int
    mean_before: float
    mean_after: float
    u: float
    p: float
    p_holm: float
    effect: float
    effect_low: float | None
    effect_high: float | None
    verdict: str


# -- the statistics ------------------------------------------------------------------------
def bootstrap(
    values: Array,
    stat: Callable[[Array], Array],
    *,
    seed: int = SEED,
    resamples: int = RESAMPLES,
) -> tuple[float, float] | None:
    """Percentile 95% CI of ``stat`` (vectorised over rows) over resamples of ``values``."""
    if len(values) < 2:
        return None
    return bootstrap_ci(values, stat, 0.95, resamples=resamples, seed=seed)


def _estimate(values: Array, stat: Callable[[Array], Array]) -> Estimate | None:
    if len(values) == 0:
        return None
    value = float(stat(values[np.newaxis, :])[0])
    ci = bootstrap(values, stat)
    return Estimate(value=value, low=ci[0] if ci else None, high=ci[1] if ci else None)


def mean_rows(x: Array) -> Array:
    return np.asarray(x.mean(axis=-1), dtype=np.float64)


def top2_of(scale: str) -> Callable[[Array], Array]:
    hi = SCALE_RANGE[scale][1]
    return lambda x: np.asarray((x >= hi - 1).mean(axis=-1), dtype=np.float64)


def enps_rows(x: Array) -> Array:
    """Promoters (9-10) minus detractors (0-6), in points -100..100."""
    return np.asarray(100.0 * ((x >= 9).mean(axis=-1) - (x <= 6).mean(axis=-1)), np.float64)


def ranks(values: Array) -> Array:
    """1-based ranks, ties given their average rank."""
    order = np.argsort(values, kind="mergesort")
    sorted_v = values[order]
    out = np.empty(len(values), dtype=np.float64)
    i = 0
    while i < len(values):
        j = i
        while j + 1 < len(values) and sorted_v[j + 1] == sorted_v[i]:
            j += 1
        out[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return out


def mann_whitney(before: Array, after: Array) -> tuple[float, float]:
    """(U of ``after``, two-sided p): the normal approximation with tie and continuity
    corrections. U counts the pairs where ``after`` is higher, ties as a half."""
    n1, n2 = len(before), len(after)
    r = ranks(np.concatenate([before, after]))
    u_after = float(r[n1:].sum() - n2 * (n2 + 1) / 2)
    n = n1 + n2
    _, counts = np.unique(np.concatenate([before, after]), return_counts=True)
    ties = float((counts**3 - counts).sum())
    var = n1 * n2 / 12 * ((n + 1) - ties / (n * (n - 1)))
    if var <= 0:
        return u_after, 1.0
    diff = abs(u_after - n1 * n2 / 2) - 0.5
    z = max(diff, 0.0) / math.sqrt(var)
    return u_after, min(1.0, math.erfc(z / math.sqrt(2)))


def rank_biserial(u_after: float, n1: int, n2: int) -> float:
    return 2 * u_after / (n1 * n2) - 1


def rank_biserial_ci(
    before: Array, after: Array, *, seed: int = SEED, resamples: int = RESAMPLES
) -> tuple[float, float]:
    """Percentile 95% CI of the rank-biserial correlation, each wave resampled apart."""
    rng = np.random.default_rng(seed)
    b = before[rng.integers(0, len(before), size=(resamples, len(before)))]
    a = after[rng.integers(0, len(after), size=(resamples, len(after)))]
    wins = (a[:, :, None] > b[:, None, :]).sum(axis=(1, 2)) + 0.5 * (
        a[:, :, None] == b[:, None, :]
    ).sum(axis=(1, 2))
    dist = 2 * wins / (len(before) * len(after)) - 1
    lo, hi = np.percentile(dist, [2.5, 97.5])
    return float(lo), float(hi)


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values (monotone, capped at 1)."""
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: pvalues[i])
    out = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        out[i] = running
    return out


# -- one wave ------------------------------------------------------------------------------
def item_values(item: MapItem, responses: Sequence[SurveyResponse]) -> Array:
    vals = [r.answers[item.key] for r in responses if item.key in r.answers]
    return np.array([float(v) for v in vals if not isinstance(v, str)], dtype=np.float64)


def pomp(item: MapItem, value: float) -> float:
    """``value`` on 0-100, reverse items turned around."""
    lo, hi = SCALE_RANGE[item.scale]
    share = (value - lo) / (hi - lo)
    return 100.0 * (1 - share if item.reverse else share)


def favourable_top2(item: MapItem, value: float) -> bool:
    """In the two most favourable boxes: the top two, or the bottom two of a reverse item."""
    lo, hi = SCALE_RANGE[item.scale]
    return value <= lo + 1 if item.reverse else value >= hi - 1


def _rate(n: int, team_size: int | None) -> float | None:
    return n / team_size if team_size else None


def item_stats(
    item: MapItem, responses: Sequence[SurveyResponse], team_size: int | None
) -> ItemStats:
    base = ItemStats(
        key=item.key,
        question=item.question,
        scale=item.scale,
        construct_name=item.construct_name,
        reverse=item.reverse,
        n=0,
        response_rate=None,
    )
    if item.scale == "text":
        texts = [str(r.answers[item.key]) for r in responses if item.key in r.answers]
        return base.model_copy(
            update={"n": len(texts), "response_rate": _rate(len(texts), team_size), "texts": texts}
        )
    x = item_values(item, responses)
    return base.model_copy(
        update=dict(
            n=len(x),
            response_rate=_rate(len(x), team_size),
            mean=_estimate(x, mean_rows),
            top2=_estimate(x, top2_of(item.scale)),
            enps=_estimate(x, enps_rows) if item.scale == "nps0-10" else None,
        )
    )


def construct_scores(
    items: Sequence[MapItem], responses: Sequence[SurveyResponse]
) -> tuple[Array, Array]:
    """Per respondent who answered any of ``items``: (POMP score, top-2-box share)."""
    scores, tops = [], []
    for r in responses:
        answered = [(i, r.answers[i.key]) for i in items if i.key in r.answers]
        nums = [(i, float(v)) for i, v in answered if not isinstance(v, str)]
        if not nums:
            continue
        scores.append(sum(pomp(i, v) for i, v in nums) / len(nums))
        top = [favourable_top2(i, v) for i, v in nums]
        tops.append(sum(top) / len(top))
    return np.array(scores, dtype=np.float64), np.array(tops, dtype=np.float64)


def constructs_of(items: Sequence[MapItem]) -> dict[str, list[MapItem]]:
    out: dict[str, list[MapItem]] = {}
    for i in items:
        if i.construct_name and i.scale != "text":
            out.setdefault(i.construct_name, []).append(i)
    return out


def construct_stats(
    name: str, items: list[MapItem], responses: Sequence[SurveyResponse], team_size: int | None
) -> ConstructStats:
    scores, tops = construct_scores(items, responses)
    nps = [i for i in items if i.scale == "nps0-10"]
    return ConstructStats(
        name=name,
        items=[i.key for i in items],
        n=len(scores),
        response_rate=_rate(len(scores), team_size),
        score=_estimate(scores, mean_rows),
        top2=_estimate(tops, mean_rows),
        enps=_estimate(item_values(nps[0], responses), enps_rows) if nps else None,
    )


def wave_stats(
    wave: str,
    fmt: str,
    source: str,
    items: Sequence[MapItem],
    responses: Sequence[SurveyResponse],
    team_size: int | None,
) -> WaveStats:
    """Every item and construct of one wave."""
    times = [r.submitted_at for r in responses]
    return WaveStats(
        wave=wave,
        format=fmt,
        source=source,
        first_at=min(times),
        last_at=max(times),
        respondents=len(responses),
        team_size=team_size,
        response_rate=_rate(len(responses), team_size),
        items=[item_stats(i, responses, team_size) for i in items],
        constructs=[
            construct_stats(name, its, responses, team_size)
            for name, its in constructs_of(items).items()
        ],
    )


# -- two waves -----------------------------------------------------------------------------
def _compare(
    subject: str, key: str, label: str, names: tuple[str, str], before: Array, after: Array
) -> Comparison | None:
    if len(before) < 2 or len(after) < 2:
        return None
    u, p = mann_whitney(before, after)
    lo, hi = rank_biserial_ci(before, after)
    return Comparison(
        subject=subject,
        key=key,
        label=label,
        before=names[0],
        after=names[1],
        n_before=len(before),
        n_after=len(after),
        mean_before=float(before.mean()),
        mean_after=float(after.mean()),
        u=u,
        p=p,
        p_holm=p,
        effect=rank_biserial(u, len(before), len(after)),
        effect_low=lo,
        effect_high=hi,
        verdict="",
    )


def verdict(c: Comparison) -> str:
    if c.p >= ALPHA:
        return NO_CHANGE
    way = "higher" if c.effect > 0 else "lower"
    held = "" if c.p_holm < ALPHA else "; not significant after Holm's adjustment"
    # The effect size and its CI are reported beside the verdict (present/people_text.py).
    return f"{way} in {c.after}{held}"


def compare_waves(
    names: tuple[str, str],
    items: tuple[Sequence[MapItem], Sequence[MapItem]],
    responses: tuple[Sequence[SurveyResponse], Sequence[SurveyResponse]],
) -> list[Comparison]:
    """Every scale item (by key) and construct the two waves share, compared."""
    out: list[Comparison] = []
    after_items = {i.key: i for i in items[1]}
    for item in items[0]:
        other = after_items.get(item.key)
        if item.scale == "text" or other is None or other.scale != item.scale:
            continue
        c = _compare(
            "item",
            item.key,
            item.question,
            names,
            item_values(item, responses[0]),
            item_values(other, responses[1]),
        )
        if c is not None:
            out.append(c)
    cons_after = constructs_of(items[1])
    for name, its in constructs_of(items[0]).items():
        if name not in cons_after:
            continue
        c = _compare(
            "construct",
            name,
            name,
            names,
            construct_scores(its, responses[0])[0],
            construct_scores(cons_after[name], responses[1])[0],
        )
        if c is not None:
            out.append(c)
    adjusted = holm([c.p for c in out])
    done = []
    for c, p_holm in zip(out, adjusted, strict=True):
        c = c.model_copy(update={"p_holm": p_holm})
        done.append(c.model_copy(update={"verdict": verdict(c)}))
    return done
