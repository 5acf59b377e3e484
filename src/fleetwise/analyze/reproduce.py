"""Did a re-run reproduce a stored run? Result by result, against the original's CI.

A result reproduces when the re-run's median falls inside the original's 95% confidence
interval of the median. That interval only covers sampling noise within one run, so a
miss can also mean between-run variance (frequency, placement, neighbours): that is why
each verdict carries the environment fields that changed between the two runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from fleetwise.collect.fingerprint import differing_fields
from fleetwise.models import ResultRecord, ResultStatus


@dataclass(frozen=True)
class Verdict:
    benchmark: str
    params: dict[str, Any]
    metric: str
    unit: str
    original_median: float | None
    original_ci: tuple[float, float] | None
    rerun_median: float | None
    reproduced: bool | None
    change: float | None
    cis_overlap: bool | None
    reason: str = ""
    env_changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)


def environment_changes(
    a: Mapping[str, Any],
    b: Mapping[str, Any],
    state_a: Mapping[str, Any] | None = None,
    state_b: Mapping[str, Any] | None = None,
) -> dict[str, tuple[Any, Any]]:
    """Stable fingerprint fields that differ, plus the noise state (load, steal) of each
    run when it started (``state_*``; by default the fingerprints' own load)."""
    changes = differing_fields(a, b)
    sa = state_a if state_a is not None else a.get("load", {})
    sb = state_b if state_b is not None else b.get("load", {})
    for key in ("loadavg_1m", "steal_pct"):
        va, vb = sa.get(key), sb.get(key)
        if va is not None and vb is not None and va != vb:
            changes[f"load.{key}"] = (round(float(va), 2), round(float(vb), 2))
    return changes


def _verdict(
    o: ResultRecord, r: ResultRecord | None, env_changes: dict[str, tuple[Any, Any]]
) -> Verdict:
    def make(**kw: Any) -> Verdict:
        return Verdict(
            benchmark=o.benchmark,
            params=o.params,
            metric=o.metric,
            unit=o.unit,
            env_changes=env_changes,
            **kw,
        )

    os_ = o.summary
    rs = r.summary if r is not None else None
    if o.status is not ResultStatus.OK or os_ is None:
        return make(
            original_median=None,
            original_ci=None,
            rerun_median=rs.median if rs else None,
            reproduced=None,
            change=None,
            cis_overlap=None,
            reason=f"original {o.status.value}",
        )
    if r is None or rs is None:
        why = "not re-run" if r is None else f"re-run {r.status.value}: {r.error or ''}".strip()
        return make(
            original_median=os_.median,
            original_ci=(os_.ci_low, os_.ci_high),
            rerun_median=None,
            reproduced=False,
            change=None,
            cis_overlap=None,
            reason=why,
        )
    inside = os_.ci_low <= rs.median <= os_.ci_high
    return make(
        original_median=os_.median,
        original_ci=(os_.ci_low, os_.ci_high),
        rerun_median=rs.median,
        reproduced=inside,
        change=rs.median / os_.median - 1.0 if os_.median else None,
        cis_overlap=rs.ci_low <= os_.ci_high and os_.ci_low <= rs.ci_high,
        reason="within the original CI" if inside else "outside the original CI",
    )


def verify(
    original: Sequence[ResultRecord],
    rerun: Sequence[ResultRecord],
    envs: Mapping[int, Mapping[str, Any]],
    states: tuple[Mapping[str, Any], Mapping[str, Any]] | None = None,
) -> list[Verdict]:
    """One verdict per original result, matched to the re-run by case and metric.

    ``envs`` maps environment ids to fingerprints; ``states`` are the two runs' load
    states at start (a fingerprint is stored once per machine, its load only once).
    """
    by_key = {(r.case_key, r.metric): r for r in rerun}
    verdicts = []
    for o in original:
        r = by_key.get((o.case_key, o.metric))
        env_changes: dict[str, tuple[Any, Any]] = {}
        a = envs.get(o.environment_id) if o.environment_id is not None else None
        b = envs.get(r.environment_id) if r is not None and r.environment_id is not None else None
        if a is not None and b is not None:
            env_changes = environment_changes(a, b, *(states or (None, None)))
        verdicts.append(_verdict(o, r, env_changes))
    return verdicts
