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


def environment_changes(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Stable fingerprint fields that differ, plus the noise state (load, steal) of each."""
    changes = differing_fields(a, b)
    for key in ("loadavg_1m", "steal_pct"):
        va, vb = a.get("load", {}).get(key), b.get("load", {}).get(key)
        if va is not None and vb is not None and va != vb:
            changes[f"load.{key}"] = (round(float(va), 2), round(float(vb), 2))
    return changes


def verify(
    original: Sequence[ResultRecord],
    rerun: Sequence[ResultRecord],
    envs: Mapping[int, Mapping[str, Any]],
) -> list[Verdict]:
    """One verdict per original result, matched to the re-run by case and metric."""
    by_key = {(r.case_key, r.metric): r for r in rerun}
    verdicts = []
    for o in original:
        r = by_key.get((o.case_key, o.metric))
        env_changes: dict[str, tuple[Any, Any]] = {}
        if r is not None and o.environment_id in envs and r.environment_id in envs:
            env_changes = environment_changes(envs[o.environment_id], envs[r.environment_id])
        base = {"benchmark": o.benchmark, "params": o.params, "metric": o.metric, "unit": o.unit,
                "env_changes": env_changes}  # fmt: skip
        os_, rs = o.summary, r.summary if r is not None else None
        if o.status is not ResultStatus.OK or os_ is None:
            verdicts.append(Verdict(**base, original_median=None, original_ci=None,
                                    rerun_median=rs.median if rs else None, reproduced=None,
                                    change=None, cis_overlap=None,
                                    reason=f"original {o.status.value}"))  # fmt: skip
            continue
        if r is None or rs is None:
            why = "not re-run" if r is None else f"re-run {r.status.value}: {r.error or ''}".strip()
            verdicts.append(Verdict(**base, original_median=os_.median,
                                    original_ci=(os_.ci_low, os_.ci_high), rerun_median=None,
                                    reproduced=False, change=None, cis_overlap=None,
                                    reason=why))  # fmt: skip
            continue
        inside = os_.ci_low <= rs.median <= os_.ci_high
        overlap = rs.ci_low <= os_.ci_high and os_.ci_low <= rs.ci_high
        change = rs.median / os_.median - 1.0 if os_.median else None
        verdicts.append(
            Verdict(
                **base,
                original_median=os_.median,
                original_ci=(os_.ci_low, os_.ci_high),
                rerun_median=rs.median,
                reproduced=inside,
                change=change,
                cis_overlap=overlap,
                reason="within the original CI" if inside else "outside the original CI",
            )
        )
    return verdicts
