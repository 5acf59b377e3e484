"""Change points in benchmark history, with what changed around each one.

The detection itself is ``analyze/changepoints.py`` (e-divisive means); this module runs
it over series - from the store, or from CSV files in Otava's format - and attaches what
a user needs to act: the runs (or rows) on either side, the size and direction of the
change, and which environment fingerprint fields (or CSV attributes such as the commit)
differ between the last point before and the first point after the change.

Points taken on an unhealthy or throttled host (``SeriesPoint.unhealthy``: XID, ECC, GPU
throttled, CPU thermal throttling, CPU steal; ``collect/host_health.py``) measured the host,
not the code: they are left out of detection unless ``include_unhealthy``, and
:func:`left_out` counts them by reason so every face can say how many and why.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

from fleetwise.analyze.changepoints import ChangePoint, ChangePointConfig, detect
from fleetwise.analyze.reproduce import environment_changes
from fleetwise.collect.importers.otava_csv import CsvSeries
from fleetwise.models import Direction, Series

Kind = Literal["regression", "improvement", "change"]


@dataclass(frozen=True)
class SeriesChange:
    series: str
    unit: str
    index: int
    time: datetime
    before: str  # the run id (store) or row label (CSV) of the last point before
    after: str  # ... and of the first point after
    mean_before: float
    std_before: float
    mean_after: float
    std_after: float
    change: float  # mean_after / mean_before - 1
    pvalue: float
    kind: Kind
    changed: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    #: Platform changes (analyze/infra_changes.py) between the two points, oldest first:
    #: their labels, and their keys (for the change's verdict).
    infra: tuple[str, ...] = ()
    infra_keys: tuple[str, ...] = ()
    #: Index of the point before (``index - 1`` unless unhealthy points were left out).
    before_index: int | None = None


def classify(change: float, direction: Direction | None) -> Kind:
    if direction is None:
        return "change"
    worse = change < 0 if direction == "higher" else change > 0
    return "regression" if worse else "improvement"


def _series_change(
    cp: ChangePoint,
    *,
    series: str,
    unit: str,
    time: datetime,
    labels: tuple[str, str],
    direction: Direction | None,
    changed: dict[str, tuple[Any, Any]],
) -> SeriesChange:
    return SeriesChange(
        series=series,
        unit=unit,
        index=cp.index,
        time=time,
        before=labels[0],
        after=labels[1],
        mean_before=cp.mean_before,
        std_before=cp.std_before,
        mean_after=cp.mean_after,
        std_after=cp.std_after,
        change=cp.change,
        pvalue=cp.pvalue,
        kind=classify(cp.change, direction),
        changed=changed,
    )


def left_out(series: Sequence[Series]) -> dict[str, int]:
    """Points on unhealthy hosts, by reason (a point with two reasons counts under each),
    and ``points``: how many points in all."""
    reasons: Counter[str] = Counter()
    points = 0
    for s in series:
        for p in s.points:
            if p.unhealthy:
                points += 1
                reasons.update(p.unhealthy)
    return {"points": points, **dict(sorted(reasons.items()))} if points else {}


def store_series_changes(
    series: Series,
    config: ChangePointConfig,
    envs: Mapping[int, Mapping[str, Any]],
    *,
    include_unhealthy: bool = False,
) -> list[SeriesChange]:
    """Change points of one store series (its run medians, oldest first); indices are the
    series' own, with points on unhealthy hosts skipped unless ``include_unhealthy``."""
    kept = [i for i, p in enumerate(series.points) if include_unhealthy or not p.unhealthy]
    pts = [series.points[i] for i in kept]
    out = []
    for cp in detect([p.median for p in pts], config):
        before, after = pts[cp.index - 1], pts[cp.index]
        changed: dict[str, tuple[Any, Any]] = {}
        ea = envs.get(before.environment_id) if before.environment_id is not None else None
        eb = envs.get(after.environment_id) if after.environment_id is not None else None
        if ea is not None and eb is not None:
            changed = environment_changes(ea, eb, before.run_start_state, after.run_start_state)
        labels = (f"run {before.run_id}", f"run {after.run_id}")
        change = _series_change(
            cp,
            series=series.key.id,
            unit=series.key.unit,
            time=after.time,
            labels=labels,
            direction=series.key.direction,
            changed=changed,
        )
        out.append(replace(change, index=kept[cp.index], before_index=kept[cp.index - 1]))
    return out


def csv_series_changes(
    series: CsvSeries, config: ChangePointConfig, direction: Direction | None
) -> list[SeriesChange]:
    """Change points of one CSV metric column; attributes (e.g. commit) that differ
    between the rows around a change are reported as what changed."""
    out = []
    for cp in detect(series.values, config):
        i, j = cp.index - 1, cp.index
        changed = {
            name: (vals[i], vals[j])
            for name, vals in series.attributes.items()
            if vals[i] != vals[j]
        }
        out.append(
            _series_change(
                cp,
                series=series.name,
                unit=series.unit,
                time=series.times[j],
                labels=(f"row {i + 1}", f"row {j + 1}"),
                direction=direction,
                changed=changed,
            )
        )
    return out


def gate(changes: Sequence[SeriesChange], fail_on: Literal["regression", "any"] | None) -> bool:
    """True when ``changes`` should fail a CI gate."""
    if fail_on is None:
        return False
    if fail_on == "any":
        return bool(changes)
    return any(c.kind == "regression" for c in changes)
