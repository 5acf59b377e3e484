"""The job-log figures of a cluster diagnosis: waits by team/size/hour, GPU-hours by team
and month, lost work, demand held in the queue (definitions in ``analyze/cluster.py``).

Two implementations, equal on every log: :func:`job_totals_sql`, set-based queries over
the columnar ``jobs`` view (``store/columnar.py``) that ``cluster analyze`` runs on
millions of jobs in bounded memory, and :func:`job_totals`, the per-job reference over
records, which the tests keep as the oracle of the queries. Percentiles interpolate
linearly between order statistics in both (NumPy's default, DuckDB's ``quantile_cont``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import numpy.typing as npt

from fleetwise.errors import InputError
from fleetwise.models import JobRecord, JobState

LOST_STATES = (JobState.FAILED, JobState.CANCELLED, JobState.TIMEOUT)
SIZE_BUCKETS = ((1, 1, "1"), (2, 4, "2-4"), (5, 8, "5-8"), (9, 10**9, ">8"))
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class WaitStats:
    group: str
    jobs: int
    mean_h: float
    p50_h: float
    p95_h: float
    p99_h: float


@dataclass(frozen=True)
class JobTotals:
    """What the job log says, before findings and costs."""

    jobs: int
    gpu_jobs: int
    span_days: float
    gpu_hours: float
    waits_by_team: list[WaitStats]
    waits_by_size: list[WaitStats]
    waits_by_hour: list[WaitStats]
    #: Every started GPU job's wait (None when none started).
    overall: WaitStats | None
    #: GPU-hours of demand held in the queue: sum of GPUs x wait.
    queued_gpu_hours: float
    gpu_hours_by_team_month: dict[str, dict[str, float]]
    lost_gpu_hours: dict[str, float]


def _wait_stats(group: str, waits_s: FloatArray) -> WaitStats:
    p50, p95, p99 = np.percentile(waits_s, [50, 95, 99]) / 3600
    return WaitStats(group, len(waits_s), float(waits_s.mean() / 3600), p50, p95, p99)


def _grouped(keys: Sequence[str], waits: FloatArray) -> list[WaitStats]:
    groups: dict[str, list[int]] = defaultdict(list)
    for k, key in enumerate(keys):
        groups[key].append(k)
    return _by_p95([_wait_stats(g, waits[idx]) for g, idx in groups.items()])


def _by_p95(stats: list[WaitStats]) -> list[WaitStats]:
    return sorted(stats, key=lambda s: (-s.p95_h, s.group))


def _by_size(stats: list[WaitStats]) -> list[WaitStats]:
    order = [b[2] for b in SIZE_BUCKETS]
    return sorted(stats, key=lambda s: order.index(s.group))


def _by_hour(stats: list[WaitStats]) -> list[WaitStats]:
    return sorted(stats, key=lambda s: s.group)


def job_totals(jobs: Sequence[JobRecord], source: str) -> JobTotals:
    """The figures from records, one job at a time (the reference of the queries)."""
    gpu_jobs = [j for j in jobs if j.gpus > 0]
    if not gpu_jobs:
        raise InputError(f"{source}: no GPU jobs to analyse")
    t_first = min(j.submit_time for j in gpu_jobs)
    t_last = max(
        max(j.submit_time, j.start_time or j.submit_time, j.end_time or t_first) for j in gpu_jobs
    )
    span_days = max((t_last - t_first).total_seconds() / 86400, 1 / 24)
    started = [j for j in gpu_jobs if j.start_time is not None]
    waits = np.array(
        [(j.start_time - j.submit_time).total_seconds() for j in started if j.start_time]
    )
    waits = np.clip(waits, 0.0, None)
    have = len(waits) > 0
    by_team = _grouped([j.team or "-" for j in started], waits) if have else []
    sizes = [next(b[2] for b in SIZE_BUCKETS if b[0] <= j.gpus <= b[1]) for j in started]
    by_size = _by_size(_grouped(sizes, waits)) if have else []
    hours_of_day = [f"{j.submit_time.hour:02d}" for j in started]
    by_hour = _by_hour(_grouped(hours_of_day, waits)) if have else []

    by_team_month: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    lost: dict[str, float] = defaultdict(float)
    total_hours = 0.0
    for j in started:
        end = j.end_time or t_last
        hours = (
            j.gpus * max((end - j.start_time).total_seconds(), 0.0) / 3600 if j.start_time else 0.0
        )
        total_hours += hours
        month = j.start_time.strftime("%Y-%m") if j.start_time else "-"
        by_team_month[j.team or "-"][month] += hours
        if j.state in LOST_STATES:
            lost[j.state.value] += hours
    queued = float(sum(j.gpus * w for j, w in zip(started, waits, strict=True))) / 3600
    return JobTotals(
        jobs=len(jobs),
        gpu_jobs=len(gpu_jobs),
        span_days=span_days,
        gpu_hours=total_hours,
        waits_by_team=by_team,
        waits_by_size=by_size,
        waits_by_hour=by_hour,
        overall=_wait_stats("all", waits) if have else None,
        queued_gpu_hours=queued if have else 0.0,
        gpu_hours_by_team_month={k: dict(v) for k, v in by_team_month.items()},
        lost_gpu_hours=dict(lost),
    )


#: The started GPU jobs with their wait (s), GPU-hours, groups and import order; the
#: log's first and last times come from every GPU job.
_STARTED = """
WITH g AS (SELECT * FROM jobs WHERE gpus > 0),
span AS (
  SELECT min(submit_time) AS t0,
         max(greatest(submit_time, coalesce(start_time, submit_time),
                      coalesce(end_time, (SELECT min(submit_time) FROM g)))) AS t1
  FROM g
)
SELECT
  coalesce(nullif(team, ''), '-') AS team,
  CASE WHEN gpus <= 1 THEN '1' WHEN gpus <= 4 THEN '2-4' WHEN gpus <= 8 THEN '5-8'
       ELSE '>8' END AS size,
  lpad(hour(submit_time)::VARCHAR, 2, '0') AS hour,
  strftime(start_time, '%Y-%m') AS month,
  state,
  gpus,
  greatest(epoch(start_time - submit_time), 0.0) AS wait_s,
  gpus * greatest(epoch(coalesce(end_time, span.t1) - start_time), 0.0) / 3600 AS hours,
  (submit_time, batch, seq) AS k
FROM g, span
WHERE start_time IS NOT NULL
"""


def _stats_sql(con: duckdb.DuckDBPyConnection, key: str) -> list[WaitStats]:
    rows = con.execute(
        f"SELECT {key}, count(*), avg(wait_s), quantile_cont(wait_s, [0.5, 0.95, 0.99]) "
        f"FROM started GROUP BY {key}"
    ).fetchall()
    return [
        WaitStats(str(g), int(n), float(mean) / 3600, q[0] / 3600, q[1] / 3600, q[2] / 3600)
        for g, n, mean, q in rows
    ]


def job_totals_sql(con: duckdb.DuckDBPyConnection, source: str) -> JobTotals:
    """The figures as set-based queries over the ``jobs`` view of ``con``."""
    row: Any = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE gpus > 0), "
        "min(submit_time) FILTER (WHERE gpus > 0) FROM jobs"
    ).fetchall()[0]
    jobs, gpu_jobs = int(row[0]), int(row[1])
    if not gpu_jobs:
        raise InputError(f"{source}: no GPU jobs to analyse")
    con.execute(f"CREATE OR REPLACE TEMP TABLE started AS {_STARTED}")
    span: Any = con.execute(
        "SELECT epoch(t1 - t0) FROM (SELECT min(submit_time) AS t0, "
        "max(greatest(submit_time, coalesce(start_time, submit_time), coalesce(end_time, "
        "(SELECT min(submit_time) FROM jobs WHERE gpus > 0)))) AS t1 FROM jobs WHERE gpus > 0)"
    ).fetchall()[0]
    span_days = max(float(span[0]) / 86400, 1 / 24)
    head: Any = con.execute(
        "SELECT count(*), avg(wait_s), quantile_cont(wait_s, [0.5, 0.95, 0.99]), "
        "sum(gpus * wait_s), sum(hours) FROM started"
    ).fetchall()[0]
    started, mean, q, queued_s, total_hours = head
    overall = None
    if started:
        overall = WaitStats(
            "all", int(started), float(mean) / 3600, q[0] / 3600, q[1] / 3600, q[2] / 3600
        )
    by_team_month: dict[str, dict[str, float]] = {}
    for team, month, hours in con.execute(
        "SELECT team, month, h FROM (SELECT team, month, sum(hours) AS h, min(k) AS first "
        "FROM started GROUP BY team, month) ORDER BY min(first) OVER (PARTITION BY team), first"
    ).fetchall():
        by_team_month.setdefault(team, {})[month] = float(hours)
    lost = {
        str(state): float(hours)
        for state, hours in con.execute(
            "SELECT state, sum(hours) FROM started WHERE state IN "
            f"({', '.join(repr(s.value) for s in LOST_STATES)}) GROUP BY state ORDER BY min(k)"
        ).fetchall()
    }
    by_team = _by_p95(_stats_sql(con, "team")) if started else []
    by_size = _by_size(_stats_sql(con, "size")) if started else []
    by_hour = _by_hour(_stats_sql(con, "hour")) if started else []
    con.execute("DROP TABLE started")
    return JobTotals(
        jobs=jobs,
        gpu_jobs=gpu_jobs,
        span_days=span_days,
        gpu_hours=float(total_hours or 0.0),
        waits_by_team=by_team,
        waits_by_size=by_size,
        waits_by_hour=by_hour,
        overall=overall,
        queued_gpu_hours=float(queued_s or 0.0) / 3600,
        gpu_hours_by_team_month=by_team_month,
        lost_gpu_hours=lost,
    )
