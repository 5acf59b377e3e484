"""Where delivery waits: stage shares of the pipeline's end-to-end time, flow efficiency,
a Little's-law check of the bottleneck, and the slowest and flakiest jobs.

Definitions (docs/process.md):

- a pipeline's *end-to-end time* runs from its first stage queued to its last finished;
- a stage run's *wait* is started - queued, its *active* time finished - started; a
  stage's share is its median wait (active) over the median end-to-end time. Stages that
  run in parallel overlap, so shares may add up past 100%;
- *flow efficiency* (Kanban/lean): time some stage was active (union of active
  intervals) / end-to-end time, per pipeline; the median is reported;
- *Little's law* (L = lambda W): the time-average number of pipelines in flight over the
  observed window against throughput x mean end-to-end time. On complete, consistent
  data they agree; a ratio away from 1 says the window clips pipelines or the data is
  inconsistent, and the bottleneck is then not confirmed. Per stage, the average work in
  it (waiting or running) is lambda x its mean time. The bottleneck is confirmed when
  the stage with the largest share of the median end-to-end time also holds the most
  work in progress (mean-based, so a skewed stage can disagree) and the measured WIP
  agrees with lambda W within 20%;
- a stage is *flaky* in a pipeline when an attempt failed and a later attempt of the same
  stage succeeded (a rerun fixed it without a change).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from statistics import mean, median

import numpy as np
from numpy.typing import NDArray

from fleetwise.models import ProcessEvent

#: Measured WIP within this fraction of lambda W confirms the steady state Little assumes.
LITTLE_TOLERANCE = 0.2


@dataclass(frozen=True)
class StageStats:
    stage: str
    runs: int
    median_wait_s: float
    median_active_s: float
    p90_active_s: float
    wait_share: float
    active_share: float
    failure_rate: float
    flaky_pipelines: int
    flaky_rate: float
    #: Little: average number of this stage's runs waiting or running (lambda x W).
    wip: float

    @property
    def share(self) -> float:
        return self.wait_share + self.active_share


@dataclass(frozen=True)
class LittlesLaw:
    measured_wip: float
    throughput_per_hour: float
    mean_lead_time_hours: float
    predicted_wip: float

    @property
    def ratio(self) -> float:
        return self.measured_wip / self.predicted_wip if self.predicted_wip else 0.0


@dataclass(frozen=True)
class PipelineReport:
    pipelines: int
    stage_runs: int
    median_end_to_end_s: float | None
    flow_efficiency: float | None
    stages: list[StageStats]
    bottleneck: str | None
    littles_law: LittlesLaw | None
    bottleneck_confirmed: bool
    slowest: list[StageStats] = field(default_factory=list)
    flakiest: list[StageStats] = field(default_factory=list)
    #: Pipeline runs per year at the observed rate (for the cost of findings).
    pipelines_per_year: float = 0.0


@dataclass(frozen=True)
class _Run:
    pipeline: str
    stage: str
    attempt: int
    queued: float
    started: float
    finished: float
    status: str


def _runs(events: Iterable[ProcessEvent]) -> list[_Run]:
    out: list[_Run] = []
    for ev in events:
        if ev.kind != "pipeline_stage" or ev.started_at is None or ev.ended_at is None:
            continue
        out.append(
            _Run(
                pipeline=ev.group or ev.key.split("/", 1)[0],
                stage=str(ev.payload.get("stage") or ev.key.split("/")[1]),
                attempt=int(ev.payload.get("attempt") or 1),
                queued=ev.time.timestamp(),
                started=ev.started_at.timestamp(),
                finished=ev.ended_at.timestamp(),
                status=ev.status,
            )
        )
    # Sorting makes every result independent of the order of the input rows.
    return sorted(out, key=lambda r: (r.pipeline, r.stage, r.attempt, r.queued, r.finished))


def _union(intervals: Sequence[tuple[float, float]]) -> float:
    total, end = 0.0, float("-inf")
    for a, b in sorted(intervals):
        if b <= end:
            continue
        total += b - max(a, end)
        end = b
    return total


def _wip(starts: NDArray[np.float64], ends: NDArray[np.float64], lo: float, hi: float) -> float:
    """Time-average number of intervals open over [lo, hi] (a sweep over the timeline,
    intervals clipped to the window)."""
    if hi <= lo:
        return 0.0
    open_time = np.clip(ends, lo, hi) - np.clip(starts, lo, hi)
    return float(open_time.sum() / (hi - lo))


def _flaky(runs: Sequence[_Run]) -> dict[str, set[str]]:
    attempts: dict[tuple[str, str], list[_Run]] = defaultdict(list)
    for r in runs:
        attempts[(r.pipeline, r.stage)].append(r)
    flaky: dict[str, set[str]] = defaultdict(set)
    for (pipeline, stage), tries in attempts.items():
        seen_failure = False
        for r in sorted(tries, key=lambda r: (r.attempt, r.queued)):
            if r.status == "failure":
                seen_failure = True
            elif r.status == "success" and seen_failure:
                flaky[stage].add(pipeline)
                break
    return flaky


def pipeline_report(events: Iterable[ProcessEvent], top: int = 5) -> PipelineReport:
    runs = _runs(events)
    if not runs:
        return PipelineReport(0, 0, None, None, [], None, None, False)
    by_pipeline: dict[str, list[_Run]] = defaultdict(list)
    for r in runs:
        by_pipeline[r.pipeline].append(r)
    spans = {
        p: (min(r.queued for r in rs), max(r.finished for r in rs)) for p, rs in by_pipeline.items()
    }
    e2e = [b - a for a, b in spans.values()]
    median_e2e = float(median(e2e))
    efficiency = [
        _union([(r.started, r.finished) for r in rs]) / (spans[p][1] - spans[p][0])
        for p, rs in by_pipeline.items()
        if spans[p][1] > spans[p][0]
    ]
    lo = min(a for a, _ in spans.values())
    hi = max(b for _, b in spans.values())
    hours = max((hi - lo) / 3600, 1e-9)
    throughput = len(spans) / hours
    little = LittlesLaw(
        measured_wip=_wip(
            np.array([a for a, _ in spans.values()]),
            np.array([b for _, b in spans.values()]),
            lo,
            hi,
        ),
        throughput_per_hour=throughput,
        mean_lead_time_hours=mean(e2e) / 3600,
        predicted_wip=throughput * mean(e2e) / 3600,
    )
    flaky = _flaky(runs)
    by_stage: dict[str, list[_Run]] = defaultdict(list)
    for r in runs:
        by_stage[r.stage].append(r)
    stages: list[StageStats] = []
    for stage, rs in sorted(by_stage.items()):
        wait = [r.started - r.queued for r in rs]
        active = [r.finished - r.started for r in rs]
        pipelines = {r.pipeline for r in rs}
        stages.append(
            StageStats(
                stage=stage,
                runs=len(rs),
                median_wait_s=float(median(wait)),
                median_active_s=float(median(active)),
                p90_active_s=float(np.percentile(active, 90)),
                wait_share=float(median(wait)) / median_e2e if median_e2e else 0.0,
                active_share=float(median(active)) / median_e2e if median_e2e else 0.0,
                failure_rate=sum(r.status == "failure" for r in rs) / len(rs),
                flaky_pipelines=len(flaky.get(stage, ())),
                flaky_rate=len(flaky.get(stage, ())) / len(pipelines),
                wip=len(rs) / hours * (sum(wait) + sum(active)) / len(rs) / 3600,
            )
        )
    stages.sort(key=lambda s: (-s.share, s.stage))
    bottleneck = stages[0].stage
    most_wip = max(stages, key=lambda s: (s.wip, s.stage)).stage
    confirmed = most_wip == bottleneck and abs(little.ratio - 1) <= LITTLE_TOLERANCE
    year_hours = 365.25 * 24
    return PipelineReport(
        pipelines=len(spans),
        stage_runs=len(runs),
        median_end_to_end_s=median_e2e,
        flow_efficiency=float(median(efficiency)) if efficiency else None,
        stages=stages,
        bottleneck=bottleneck,
        littles_law=little,
        bottleneck_confirmed=confirmed,
        slowest=sorted(stages, key=lambda s: (-s.median_active_s, s.stage))[:top],
        flakiest=[
            s for s in sorted(stages, key=lambda s: (-s.flaky_rate, s.stage)) if s.flaky_rate
        ][:top],
        pipelines_per_year=throughput * year_hours,
    )


def observed_span(events: Iterable[ProcessEvent]) -> tuple[datetime, datetime] | None:
    """First and last time among events (for annualising counts)."""
    times = [t for e in events for t in (e.time, e.ended_at) if t is not None]
    return (min(times), max(times)) if times else None
