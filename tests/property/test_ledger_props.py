"""The ledger closes: for any job log, inventory, telemetry and runtime evidence, every
bucket is >= 0, the buckets sum to capacity, and so do the team rows; allocated GPU-hours
equal a brute-force sum over the jobs when the log fits the inventory."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fleetwise.analyze.ledger import (
    BUCKETS,
    Activity,
    Inventory,
    JobTable,
    RuntimeEvidence,
    build_ledger,
)
from fleetwise.models import Cost, Finding
from fleetwise.plan.claims import Subject, claims_for
from fleetwise.plan.fleet import default_profile

TEAMS = ("a", "b", "c")


@st.composite
def job_tables(draw: st.DrawFn) -> JobTable:
    n = draw(st.integers(0, 30))
    submit, start, end, gpus, lost, team = [], [], [], [], [], []
    for _ in range(n):
        s = draw(st.floats(0, 100_000))
        wait = draw(st.one_of(st.none(), st.floats(0, 20_000)))
        dur = draw(st.one_of(st.none(), st.floats(0, 50_000)))
        submit.append(s)
        start.append(math.nan if wait is None else s + wait)
        if wait is None:
            end.append(math.nan if dur is None else s + dur)  # cancelled while waiting
        else:
            end.append(math.nan if dur is None else s + wait + dur)
        gpus.append(draw(st.integers(1, 16)))
        lost.append(draw(st.booleans()))
        team.append(draw(st.integers(0, len(TEAMS) - 1)))
    return JobTable(
        submit=np.array(submit, dtype=np.float64),
        start=np.array(start, dtype=np.float64),
        end=np.array(end, dtype=np.float64),
        gpus=np.array(gpus, dtype=np.float64),
        lost=np.array(lost, dtype=np.bool_),
        team=np.array(team, dtype=np.int64),
        teams=TEAMS,
        source="generated",
    )


evidence = st.lists(
    st.builds(
        RuntimeEvidence,
        source=st.just("trace:x"),
        team=st.sampled_from(["a", "b", "z", ""]),
        gpus=st.integers(1, 64).map(float),
        shares=st.dictionaries(
            st.sampled_from(["host_bound", "exposed_comm", "input_wait"]),
            st.floats(0, 1),
            max_size=3,
        ),
    ),
    max_size=3,
)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    jobs=job_tables(),
    gpus=st.integers(1, 128),
    down=st.integers(0, 128),
    period=st.tuples(st.floats(0, 80_000), st.floats(1, 150_000)),
    util=st.one_of(st.none(), st.floats(0, 1)),
    runtime=evidence,
)
def test_buckets_are_non_negative_and_sum_to_capacity(
    jobs: JobTable,
    gpus: int,
    down: int,
    period: tuple[float, float],
    util: float | None,
    runtime: list[RuntimeEvidence],
) -> None:
    t0, length = period
    inv = Inventory(gpus=gpus, down_gpus=min(down, gpus), basis="nodes", source="nodes:x")
    act = None if util is None else Activity(util, "GPU_UTIL", "telemetry:x")
    led = build_ledger(jobs, inv, t0, t0 + length, activity=act, runtime=runtime)
    tol = 1e-9 * max(led.capacity, 1.0)
    assert set(led.buckets) == set(BUCKETS)
    assert all(v >= -tol for v in led.buckets.values()), led.buckets
    assert math.isclose(math.fsum(led.buckets.values()), led.capacity, rel_tol=1e-9, abs_tol=tol)
    rows = math.fsum(v for row in led.by_team.values() for v in row.values())
    assert math.isclose(rows, led.capacity, rel_tol=1e-7, abs_tol=1e-6 * max(led.capacity, 1))
    assert all(v >= -1e-6 * max(led.capacity, 1) for r in led.by_team.values() for v in r.values())
    assert math.isclose(math.fsum(led.badput.values()), led.buckets["runtime_badput"], abs_tol=tol)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(jobs=job_tables(), period=st.tuples(st.floats(0, 80_000), st.floats(1, 150_000)))
def test_allocated_equals_brute_force_when_the_log_fits(
    jobs: JobTable, period: tuple[float, float]
) -> None:
    t0, length = period
    t1 = t0 + length
    big = float(jobs.gpus.sum()) + 1  # no moment can allocate more than this
    led = build_ledger(jobs, Inventory(big, 0, "nodes", "n"), t0, t1)
    expected = 0.0
    lost = 0.0
    for i in range(len(jobs)):
        if math.isnan(jobs.start[i]):
            continue
        end = t1 if math.isnan(jobs.end[i]) else jobs.end[i]
        overlap = max(min(end, t1) - max(jobs.start[i], t0), 0.0) * jobs.gpus[i] / 3600
        expected += overlap
        lost += overlap if jobs.lost[i] else 0.0
    allocated = led.capacity - led.buckets["idle_no_demand"] - led.buckets["stranded"]
    assert math.isclose(allocated, expected, rel_tol=1e-9, abs_tol=1e-6)
    assert math.isclose(led.buckets["lost_work"], lost, rel_tol=1e-9, abs_tol=1e-6)
    assert led.over_allocated == 0


def test_adding_runtime_evidence_never_changes_the_upper_buckets() -> None:
    jobs = JobTable(
        submit=np.array([0.0, 0.0]),
        start=np.array([0.0, 3600.0]),
        end=np.array([7200.0, 7200.0]),
        gpus=np.array([8.0, 8.0]),
        lost=np.array([False, True]),
        team=np.array([0, 1]),
        teams=("a", "b"),
    )
    inv = Inventory(16, 0, "nodes", "n")
    act = Activity(0.75, "SM_ACTIVE", "t")
    plain = build_ledger(jobs, inv, 0, 7200, activity=act)
    # 16 GPUs x 2 h = 32; job b waits 1 h with 8 GPUs free: 8 stranded; 8 lost; 16 good
    assert plain.capacity == 32
    assert plain.buckets["stranded"] == 8
    assert plain.buckets["lost_work"] == 8
    # active = 0.75 x 16 GPUs x 2 h = 24 of 24 allocated hours -> nothing allocated-idle
    assert plain.buckets["allocated_idle"] == 0
    assert plain.buckets["unattributed"] == 16
    ev = RuntimeEvidence("trace:x", "a", 4, {"host_bound": 0.25})
    split = build_ledger(jobs, inv, 0, 7200, activity=act, runtime=[ev])
    for b in ("down", "idle_no_demand", "stranded", "lost_work", "allocated_idle"):
        assert split.buckets[b] == plain.buckets[b]
    assert split.buckets["runtime_badput"] == 2  # 4 GPUs x 2 h x 25%
    assert split.buckets["productive"] == 6
    assert split.buckets["unattributed"] == 8
    assert split.by_team["a"]["runtime_badput"] == 2


CLUSTER_KINDS = (
    "cluster.queue_wait",
    "cluster.fragmentation",
    "cluster.lost_work",
    "cluster.idle_capacity",
    "cluster.utilization_gap",
    "fleet.slow_node",
)


def _finding(i: int, kind: str, asked: float) -> Finding:
    return Finding(
        id=i,
        kind=kind,
        layer="orchestration",
        title=f"f{i}",
        cost=Cost.of_gpu_hours(asked, 2.5, "generated"),
    )


@settings(max_examples=200, deadline=None, derandomize=True)
@given(
    jobs=job_tables(),
    gpus=st.integers(1, 128),
    util=st.one_of(st.none(), st.floats(0, 1)),
    asks=st.lists(
        st.tuples(st.sampled_from(CLUSTER_KINDS), st.floats(0, 1e9)), min_size=1, max_size=8
    ),
)
def test_claims_never_exceed_their_bucket_and_adding_one_never_breaks_it(
    jobs: JobTable, gpus: int, util: float | None, asks: list[tuple[str, float]]
) -> None:
    profile = default_profile()
    activity = None if util is None else Activity(util, "SM_ACTIVE", "generated")
    lg = build_ledger(
        jobs, Inventory(float(gpus), 0.0, "profile", "generated"), 0.0, 150_000.0, activity=activity
    )
    per_year = lg.per_year(profile.hours_per_year)
    before: dict[str, float] = {}
    for n in range(1, len(asks) + 1):
        subjects = [
            Subject(_finding(i, kind, asked), "jobs:generated")
            for i, (kind, asked) in enumerate(asks[:n])
        ]
        claims = claims_for(subjects, lg, profile)
        assert claims.gpu_hours <= lg.capacity * per_year * (1 + 1e-9) + 1e-6
        for use in claims.buckets:
            available = lg.buckets[use.bucket] * per_year
            assert use.combined_gpu_hours <= available * (1 + 1e-9) + 1e-6
            members = [c for c in claims.claims if c.group == use.group]
            assert math.fsum(c.gpu_hours for c in members) == pytest.approx(
                use.combined_gpu_hours, rel=1e-9, abs=1e-6
            )
            # A new finding may add to its bucket's total, never past the bucket.
            assert use.combined_gpu_hours >= before.get(use.group, 0.0) - 1e-6
            before[use.group] = use.combined_gpu_hours
        for c in claims.claims:
            assert 0 <= c.gpu_hours <= c.asked_gpu_hours * (1 + 1e-9) + 1e-6
