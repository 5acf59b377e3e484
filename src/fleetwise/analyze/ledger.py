"""The fleet ledger: every GPU-second of capacity over a period in exactly one bucket.

Definitions (``docs/ledger.md`` has them with their sources), per GPU-second of the period:

- capacity = GPUs of the inventory (node list, else the fleet profile's pools) x period;
- down = GPUs of nodes marked down, drained or not responding in the inventory snapshot;
- allocated(t) = GPUs of jobs running at t; where the job log allocates more than the
  available GPUs (jobs on nodes the inventory lacks) it is scaled down to them and the
  excess is reported, never counted;
- stranded(t) = min(free(t), GPUs of jobs waiting at t): free while demand waits
  (fragmentation, gang size, quota); idle, no demand = the rest of the free GPUs;
- lost work = allocated to jobs that ended failed, cancelled or timed out;
- allocated, idle = allocated to the other jobs x (1 - active share), the active share
  from telemetry (DCGM SM_ACTIVE, else GPU_UTIL with lower confidence);
- runtime badput / productive = the active time of the GPUs a trace or benchmark
  represents, split by what it measured (host-bound idle, exposed communication...);
- unattributed = active time no evidence splits: never guessed into the other buckets.

The buckets sum to capacity by construction (each is a part of the one before it).
Everything is computed on arrays (one sweep over the jobs' start, end and submit events),
never one Python object per job.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import duckdb
import numpy as np
import numpy.typing as npt

from fleetwise.models import JobRecord, JobState

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

LOST_STATES = (JobState.FAILED, JobState.CANCELLED, JobState.TIMEOUT)
#: Order in which people read the buckets: from capacity down to productive.
BUCKETS = (
    "down",
    "idle_no_demand",
    "stranded",
    "lost_work",
    "allocated_idle",
    "runtime_badput",
    "unattributed",
    "productive",
)
LABELS = {
    "down": "down or drained",
    "idle_no_demand": "unallocated, no demand",
    "stranded": "stranded (free while jobs waited)",
    "lost_work": "lost work (failed, cancelled, timed out)",
    "allocated_idle": "allocated but idle",
    "runtime_badput": "runtime badput",
    "unattributed": "active, unattributed",
    "productive": "productive",
}
#: Job-size groups for ETTR (GPUs per job).
SIZES = ((1, 1, "1"), (2, 8, "2-8"), (9, 64, "9-64"), (65, 10**9, ">64"))


@dataclass(frozen=True)
class JobTable:
    """Jobs as columns: times in epoch seconds (NaN where unknown), GPUs, lost, team code."""

    submit: FloatArray
    start: FloatArray
    end: FloatArray
    gpus: FloatArray
    lost: npt.NDArray[np.bool_]
    team: IntArray
    teams: tuple[str, ...]
    source: str = ""

    @classmethod
    def from_records(cls, jobs: Sequence[JobRecord], source: str = "") -> JobTable:
        gpu_jobs = [j for j in jobs if j.gpus > 0]
        names = sorted({j.team or "-" for j in gpu_jobs})
        code = {n: i for i, n in enumerate(names)}

        def ts(values: list[datetime | None]) -> FloatArray:
            return np.array(
                [v.timestamp() if v is not None else math.nan for v in values], dtype=np.float64
            )

        return cls(
            submit=ts([j.submit_time for j in gpu_jobs]),
            start=ts([j.start_time for j in gpu_jobs]),
            end=ts([j.end_time for j in gpu_jobs]),
            gpus=np.array([j.gpus for j in gpu_jobs], dtype=np.float64),
            lost=np.array([j.state in LOST_STATES for j in gpu_jobs], dtype=np.bool_),
            team=np.array([code[j.team or "-"] for j in gpu_jobs], dtype=np.int64),
            teams=tuple(names),
            source=source,
        )

    @classmethod
    def from_sql(
        cls, con: duckdb.DuckDBPyConnection, source: str = "", relation: str = "jobs"
    ) -> JobTable:
        """The GPU jobs of the ``jobs`` view of ``con`` (the columnar store), or of another
        relation of its columns, in the store's order, as :meth:`from_records` builds them
        from records."""
        lost = ", ".join(f"'{s.value}'" for s in LOST_STATES)
        cols = con.sql(
            "SELECT epoch(submit_time) AS submit, "
            "coalesce(epoch(start_time), 'NaN'::DOUBLE) AS start, "
            "coalesce(epoch(end_time), 'NaN'::DOUBLE) AS stop, gpus::DOUBLE AS gpus, "
            f"state IN ({lost}) AS lost, coalesce(nullif(team, ''), '-') AS team "
            f"FROM {relation} WHERE gpus > 0 ORDER BY submit_time, batch, seq"
        ).fetchnumpy()
        names, codes = np.unique(np.asarray(cols["team"], dtype=str), return_inverse=True)
        return cls(
            submit=np.asarray(cols["submit"], dtype=np.float64),
            start=np.asarray(cols["start"], dtype=np.float64),
            end=np.asarray(cols["stop"], dtype=np.float64),
            gpus=np.asarray(cols["gpus"], dtype=np.float64),
            lost=np.asarray(cols["lost"], dtype=np.bool_),
            team=codes.astype(np.int64).reshape(-1),
            teams=tuple(str(n) for n in names),
            source=source,
        )

    def __len__(self) -> int:
        return len(self.gpus)

    def span(self) -> tuple[float, float]:
        """First submission to the last time the log mentions."""
        if not len(self):
            raise ValueError("no GPU jobs")
        last = np.nanmax(np.concatenate([self.submit, self.start, self.end]))
        return float(np.nanmin(self.submit)), float(last)

    def subset(self, mask: npt.NDArray[np.bool_]) -> JobTable:
        return JobTable(
            self.submit[mask],
            self.start[mask],
            self.end[mask],
            self.gpus[mask],
            self.lost[mask],
            self.team[mask],
            self.teams,
            self.source,
        )


@dataclass(frozen=True)
class Inventory:
    """The GPUs the period's capacity is made of."""

    gpus: float
    down_gpus: float
    #: ``nodes`` (a node list or snapshot in the store) or ``profile`` (the fleet profile).
    basis: str
    source: str


@dataclass(frozen=True)
class Activity:
    """How busy allocated GPUs are: mean share of time active, from telemetry."""

    #: Mean over the GPUs reporting (idle, unallocated GPUs included, as DCGM reports them).
    mean_over_reporting: float
    metric: str  # "SM_ACTIVE" or "GPU_UTIL"
    source: str


@dataclass(frozen=True)
class RuntimeEvidence:
    """A trace or benchmark that represents ``gpus`` GPUs of ``team``: the shares of their
    active time it saw lost, by category (host-bound idle, exposed communication...)."""

    source: str
    team: str
    gpus: float
    shares: dict[str, float]


@dataclass
class Ledger:
    start: float
    end: float
    capacity: float  # GPU-hours
    buckets: dict[str, float]
    badput: dict[str, float]
    evidence: dict[str, list[str]]
    notes: list[str]
    #: Team rows: bucket -> GPU-hours; the row ``(fleet)`` holds what no team owns.
    by_team: dict[str, dict[str, float]]
    #: Runtime badput and productive GPU-hours of each piece of runtime evidence.
    by_source: dict[str, dict[str, float]]
    goodput: dict[str, float | None]
    ettr: list[dict[str, float | str | int]]
    over_allocated: float = 0.0
    inventory: Inventory | None = None
    confidence: dict[str, str] = field(default_factory=dict)

    @property
    def hours(self) -> float:
        return (self.end - self.start) / 3600

    def share(self, bucket: str) -> float:
        return self.buckets[bucket] / self.capacity if self.capacity else 0.0

    def per_year(self, hours_per_year: float) -> float:
        """Factor from the period's GPU-hours to GPU-hours a year."""
        return hours_per_year / self.hours if self.hours > 0 else 0.0


def _levels(times: FloatArray, at: FloatArray, until: FloatArray, g: FloatArray) -> FloatArray:
    """Sum of ``g`` over intervals [at, until) on each segment [times[i], times[i+1])."""
    delta = np.zeros(len(times), dtype=np.float64)
    np.add.at(delta, np.searchsorted(times, at), g)
    np.add.at(delta, np.searchsorted(times, until), -g)
    return np.cumsum(delta)[:-1]


def _cum(times: FloatArray, rate: FloatArray) -> FloatArray:
    """Integral of a per-segment ``rate`` from the first time up to each time."""
    return np.concatenate([[0.0], np.cumsum(rate * np.diff(times))])


def _interval(a: FloatArray, b: FloatArray, t0: float, t1: float) -> tuple[FloatArray, FloatArray]:
    lo = np.clip(a, t0, t1)
    hi = np.clip(b, t0, t1)
    return lo, np.maximum(hi, lo)


def build_ledger(
    jobs: JobTable,
    inventory: Inventory,
    start: float,
    end: float,
    *,
    activity: Activity | None = None,
    runtime: Sequence[RuntimeEvidence] = (),
) -> Ledger:
    """The ledger of ``[start, end)`` (epoch seconds)."""
    if not end > start:
        raise ValueError("the period must end after it starts")
    t0, t1 = float(start), float(end)
    hours = (t1 - t0) / 3600
    avail = max(inventory.gpus - inventory.down_gpus, 0.0)
    capacity = inventory.gpus * hours
    down = min(inventory.down_gpus, inventory.gpus) * hours

    started = ~np.isnan(jobs.start)
    run_end = np.where(np.isnan(jobs.end), t1, jobs.end)
    run_lo, run_hi = _interval(jobs.start, run_end, t0, t1)
    run_lo, run_hi = np.where(started, run_lo, t0), np.where(started, run_hi, t0)
    wait_until = np.where(started, jobs.start, run_end)
    wait_lo, wait_hi = _interval(jobs.submit, wait_until, t0, t1)

    times = np.unique(np.concatenate([[t0, t1], run_lo, run_hi, wait_lo, wait_hi]))
    dt = np.diff(times)
    g = jobs.gpus
    alloc_raw = _levels(times, run_lo, run_hi, g)
    lost_raw = _levels(times, run_lo, run_hi, np.where(jobs.lost, g, 0.0))
    pending = _levels(times, wait_lo, wait_hi, g)
    scale = np.where(alloc_raw > avail, avail / np.maximum(alloc_raw, 1e-300), 1.0)
    over = float(np.sum(np.clip(alloc_raw - avail, 0.0, None) * dt)) / 3600
    alloc = alloc_raw * scale
    free = np.clip(avail - alloc, 0.0, None)
    stranded_t = np.minimum(free, pending)

    # Per job: allocated GPU-hours after scaling, and its share of the stranded GPUs while
    # it waited (stranded GPUs split over the waiting jobs by their GPUs).
    s_cum = _cum(times, scale)
    job_alloc = g * (s_cum[np.searchsorted(times, run_hi)] - s_cum[np.searchsorted(times, run_lo)])
    job_alloc /= 3600
    ratio = np.where(pending > 0, stranded_t / np.maximum(pending, 1e-300), 0.0)
    r_cum = _cum(times, ratio)
    job_stranded = g * (
        r_cum[np.searchsorted(times, wait_hi)] - r_cum[np.searchsorted(times, wait_lo)]
    )
    job_stranded /= 3600

    allocated = float(np.sum(alloc * dt)) / 3600
    stranded = float(np.sum(stranded_t * dt)) / 3600
    idle_no_demand = float(np.sum((free - stranded_t) * dt)) / 3600
    lost = float(np.sum(lost_raw * scale * dt)) / 3600
    good = max(allocated - lost, 0.0)

    notes: list[str] = []
    evidence = {
        "down": [inventory.source],
        "idle_no_demand": [inventory.source, jobs.source],
        "stranded": [jobs.source],
        "lost_work": [jobs.source],
    }
    confidence = {b: "measured" for b in ("down", "idle_no_demand", "stranded", "lost_work")}
    if inventory.basis == "profile":
        notes.append(
            "capacity is the fleet profile's GPUs (no node inventory stored): "
            "fleetwise cluster nodes FILE"
        )
        confidence["down"] = "assumed 0: no node states"
    if over > 0:
        notes.append(
            f"the job log allocates {over:,.0f} GPU-hours beyond the available GPUs "
            "(jobs on nodes the inventory lacks); scaled down to the inventory, not counted"
        )

    active_share: float | None = None
    if activity is not None:
        # Unallocated GPUs report ~0 activity, so active GPU-hours = mean x reporting GPUs.
        active_hours = activity.mean_over_reporting * avail * hours
        active_share = min(1.0, active_hours / allocated) if allocated > 0 else 0.0
        evidence["allocated_idle"] = [activity.source]
        confidence["allocated_idle"] = (
            "measured (SM_ACTIVE)"
            if activity.metric == "SM_ACTIVE"
            else "low (GPU_UTIL only: overstates use)"
        )
    else:
        notes.append(
            "no GPU telemetry: allocated-but-idle time cannot be told from active time, "
            "so all of it is unattributed (fleetwise cluster analyze --telemetry FILE)"
        )
    alloc_idle = good * (1 - active_share) if active_share is not None else 0.0
    active = good - alloc_idle

    team_good = np.bincount(
        jobs.team, weights=np.where(jobs.lost, 0.0, job_alloc), minlength=len(jobs.teams)
    )
    team_lost = np.bincount(
        jobs.team, weights=np.where(jobs.lost, job_alloc, 0.0), minlength=len(jobs.teams)
    )
    team_stranded = np.bincount(jobs.team, weights=job_stranded, minlength=len(jobs.teams))
    idle_factor = (1 - active_share) if active_share is not None else 0.0
    team_active = {n: float(team_good[i]) * (1 - idle_factor) for i, n in enumerate(jobs.teams)}

    by_source: dict[str, dict[str, float]] = {}
    badput, productive, team_split = _runtime_split(
        runtime, team_active, active, hours, notes, by_source
    )
    badput_total = math.fsum(badput.values())
    represented = badput_total + productive
    unattributed = max(active - represented, 0.0)
    if runtime:
        evidence["runtime_badput"] = [r.source for r in runtime]
        evidence["productive"] = [r.source for r in runtime]
    buckets = {
        "down": down,
        "idle_no_demand": idle_no_demand,
        "stranded": stranded,
        "lost_work": lost,
        "allocated_idle": alloc_idle,
        "runtime_badput": badput_total,
        "unattributed": unattributed,
        "productive": productive,
    }
    # Float residue of the sweep (about 1e-12 of capacity) goes to the free buckets, so the
    # ledger closes exactly; anything larger is a bug.
    residue = capacity - math.fsum(buckets.values())
    if abs(residue) > 1e-6 * max(capacity, 1.0):
        raise AssertionError(f"ledger does not close: residue {residue} of {capacity}")
    buckets["idle_no_demand"] = max(buckets["idle_no_demand"] + residue, 0.0)

    by_team: dict[str, dict[str, float]] = {
        "(fleet)": {"down": down, "idle_no_demand": buckets["idle_no_demand"]}
    }
    for i, name in enumerate(jobs.teams):
        act = team_active[name]
        split = team_split.get(name, (0.0, 0.0))
        by_team[name] = {
            "stranded": float(team_stranded[i]),
            "lost_work": float(team_lost[i]),
            "allocated_idle": float(team_good[i]) - act,
            "runtime_badput": split[0],
            "unattributed": max(act - split[0] - split[1], 0.0),
            "productive": split[1],
        }
    _unassigned_evidence(by_team, team_split, set(jobs.teams))
    available = capacity - down
    goodput: dict[str, float | None] = {
        "scheduling": allocated / available if available > 0 else None,
        "runtime": good / allocated if allocated > 0 else None,
        "program": None,
    }
    known = [v for v in goodput.values() if v is not None]
    goodput["fleet"] = math.prod(known) if known else None
    return Ledger(
        start=t0,
        end=t1,
        capacity=capacity,
        buckets=buckets,
        badput=badput,
        evidence=evidence,
        notes=notes,
        by_team=by_team,
        by_source=by_source,
        goodput=goodput,
        ettr=_ettr(jobs, t0, t1),
        over_allocated=over,
        inventory=inventory,
        confidence=confidence,
    )


def _unassigned_evidence(
    by_team: dict[str, dict[str, float]],
    team_split: dict[str, tuple[float, float]],
    teams: set[str],
) -> None:
    """Evidence for no team of the log (or for the whole fleet) sits in the ``(fleet)``
    row; the teams' unattributed time shrinks by it, in proportion, so rows still sum."""
    bad = sum(b for t, (b, _) in team_split.items() if t not in teams)
    good = sum(p for t, (_, p) in team_split.items() if t not in teams)
    if bad + good <= 0:
        return
    by_team["(fleet)"]["runtime_badput"] = bad
    by_team["(fleet)"]["productive"] = good
    pool = sum(row.get("unattributed", 0.0) for row in by_team.values())
    for row in by_team.values():
        if "unattributed" in row and pool > 0:
            row["unattributed"] -= (bad + good) * row["unattributed"] / pool


def _runtime_split(
    runtime: Sequence[RuntimeEvidence],
    team_active: dict[str, float],
    active: float,
    hours: float,
    notes: list[str],
    by_source: dict[str, dict[str, float]],
) -> tuple[dict[str, float], float, dict[str, tuple[float, float]]]:
    """Badput by category and productive GPU-hours of the represented GPUs, each workload
    capped by the active time left in its team (or the fleet)."""
    left = dict(team_active)
    fleet_left = active
    badput: dict[str, float] = {}
    productive = 0.0
    team_split: dict[str, tuple[float, float]] = {}
    for r in runtime:
        pool = left.get(r.team, fleet_left) if r.team else fleet_left
        want = r.gpus * hours
        got = max(min(want, pool, fleet_left), 0.0)
        if got < want:
            notes.append(
                f"{r.source} represents {r.gpus:,.0f} GPUs; only {got:,.0f} of their "
                f"{want:,.0f} GPU-hours were active in the ledger"
            )
        shares = {k: min(max(v, 0.0), 1.0) for k, v in r.shares.items() if v > 0}
        combined = 1 - math.prod(1 - s for s in shares.values())
        total = sum(shares.values())
        lost_here = got * combined
        mine = by_source.setdefault(r.source, {"represented": 0.0})
        mine["represented"] += got
        for k, s in shares.items():
            badput[k] = badput.get(k, 0.0) + lost_here * s / total
            mine[k] = mine.get(k, 0.0) + lost_here * s / total
        productive += got - lost_here
        fleet_left -= got
        if r.team in left:
            left[r.team] -= got
        b, p = team_split.get(r.team, (0.0, 0.0))
        team_split[r.team] = (b + lost_here, p + got - lost_here)
    return badput, productive, team_split


def _ettr(jobs: JobTable, t0: float, t1: float) -> list[dict[str, float | str | int]]:
    """Meta's effective training time ratio by job size: productive run time over wall time
    from submission to end (queueing and failed attempts count as wall, not productive),
    GPU-weighted, over the jobs submitted and ended inside the period. Each log entry is
    one job: restarts are chained only where the log chains them."""
    ended = ~np.isnan(jobs.end) & (jobs.submit >= t0) & (jobs.end <= t1)
    wall = np.clip(jobs.end - jobs.submit, 0.0, None)
    ran = np.clip(jobs.end - np.where(np.isnan(jobs.start), jobs.end, jobs.start), 0.0, None)
    run = np.where(jobs.lost, 0.0, ran)
    rows: list[dict[str, float | str | int]] = []
    for lo, hi, name in SIZES:
        m = ended & (jobs.gpus >= lo) & (jobs.gpus <= hi)
        w = float(np.sum(wall[m] * jobs.gpus[m]))
        if not m.any() or w <= 0:
            continue
        rows.append(
            {"size": name, "jobs": int(m.sum()), "ettr": float(np.sum(run[m] * jobs.gpus[m])) / w}
        )
    return rows


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).isoformat()
