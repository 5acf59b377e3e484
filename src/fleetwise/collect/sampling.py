"""Several worker processes per case: merging their outcomes, and when to stop adding them.

pyperf's lesson (``pyperf/_runner.py``: 20 worker processes by default): one process
inherits one draw of per-process luck (address-space layout, hash seed, the core it lands
on, the allocator's first pages), which no number of samples *within* it averages out. A
case therefore runs ``processes`` short workers, each with its own warm-up and calibrated
loop count; each worker's median is kept, and the case's summary and CI are computed over
the per-process medians, so the CI covers between-process variance too.

Adaptive stopping keeps adding workers until the headline metric's CI half-width is at
most ``ci_target`` of its median, or the time budget ends, or ``max_processes`` is
reached, and records which of these stopped it. The functions here are pure; the executor
(``executors/local.py``) starts the processes.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Any, Literal

from fleetwise.stats import bootstrap_median_ci

#: The fewest processes a CI over processes is judged on: with two medians the bootstrap
#: interval is simply their range, which says nothing about a target.
MIN_ADAPTIVE_PROCESSES = 3

StopReason = Literal["processes", "ci", "budget", "max_processes", "timeout"]


def process_medians(outcomes: Sequence[dict[str, Any]], metric: str) -> list[float]:
    """Each worker's median of ``metric`` (workers without finite samples are left out)."""
    out = []
    for outcome in outcomes:
        for m in outcome.get("metrics", []):
            xs = [float(x) for x in m.get("samples", [])]
            if m["name"] == metric and xs and all(math.isfinite(x) for x in xs):
                out.append(statistics.median(xs))
    return out


def relative_half_width(medians: Sequence[float]) -> float:
    """Half the width of the bootstrap 95% CI of the median, as a fraction of the median
    (``inf`` when it cannot be judged: too few processes, or a zero median)."""
    if len(medians) < MIN_ADAPTIVE_PROCESSES:
        return math.inf
    low, high = bootstrap_median_ci(medians)
    mid = statistics.median(medians)
    return (high - low) / 2 / abs(mid) if mid != 0 else math.inf


def next_step(
    outcomes: Sequence[dict[str, Any]],
    *,
    processes: int,
    ci_target: float | None,
    max_processes: int,
    budget: float | None,
    timeout: float,
    elapsed: float,
) -> StopReason | None:
    """Why to stop after the workers in ``outcomes``, or None to start another one.

    A failed worker stops the case at once (the caller stores the failure). Without a
    target the plan is fixed: ``processes`` workers. With one, at least ``processes`` (and
    at least three) workers run, then the first of: the target met, the budget spent, the
    cap reached, or the next worker likely to overrun the case's timeout.
    """
    n = len(outcomes)
    if n and outcomes[-1].get("status", "failed") != "ok":
        return "processes"
    if ci_target is None:
        return "processes" if n >= processes else None
    if n < max(processes, MIN_ADAPTIVE_PROCESSES) and n < max_processes:
        return None if elapsed < timeout else "timeout"
    metric = headline_metric(outcomes)
    if metric is not None and relative_half_width(process_medians(outcomes, metric)) <= ci_target:
        return "ci"
    if n >= max_processes:
        return "max_processes"
    per_worker = elapsed / n if n else 0.0
    if budget is not None and elapsed + per_worker > budget:
        return "budget"
    # The kill at ``timeout`` would lose the whole case: stop while a worker still fits.
    if elapsed + 1.5 * per_worker > timeout:
        return "timeout"
    return None


def headline_metric(outcomes: Sequence[dict[str, Any]]) -> str | None:
    """The first metric the benchmark declares: the one its summary table leads with."""
    for outcome in outcomes:
        metrics = outcome.get("metrics", [])
        if metrics:
            return str(metrics[0]["name"])
    return None


def merge_outcomes(outcomes: Sequence[dict[str, Any]], stopped_by: StopReason) -> dict[str, Any]:
    """One outcome document for a case from its workers' outcomes (in the order they ran).

    Samples are concatenated (raw, as every worker took them) and each metric carries its
    ``process_medians``; calibration is the first worker's, with the loop count and
    sample count of every worker, the number of processes and the stopping reason. A
    failed worker makes the case fail with that worker's error.
    """
    if not outcomes:
        raise ValueError("no worker outcomes")
    bad = next((o for o in outcomes if o.get("status", "failed") != "ok"), None)
    if bad is not None:
        where = f"worker {outcomes.index(bad) + 1} of {len(outcomes)}"
        return {**bad, "error": f"{where}: {bad.get('error')}"}
    first = outcomes[0]
    metrics = []
    for m in first.get("metrics", []):
        samples = [
            float(x)
            for o in outcomes
            for om in o.get("metrics", [])
            if om["name"] == m["name"]
            for x in om.get("samples", [])
        ]
        metrics.append(
            {**m, "samples": samples, "process_medians": process_medians(outcomes, m["name"])}
        )
    calibration = dict(first.get("calibration", {}))
    if "loops" in calibration:
        calibration["loops_per_process"] = [o.get("calibration", {}).get("loops") for o in outcomes]
    calibration["samples_per_process"] = [
        len(o["metrics"][0].get("samples", [])) if o.get("metrics") else 0 for o in outcomes
    ]
    calibration["processes"] = len(outcomes)
    calibration["stopped_by"] = stopped_by
    notes = list(dict.fromkeys(n for o in outcomes for n in o.get("notes", [])))
    return {
        **first,
        "metrics": metrics,
        "calibration": calibration,
        "notes": notes,
        "finished_at": outcomes[-1].get("finished_at"),
    }
