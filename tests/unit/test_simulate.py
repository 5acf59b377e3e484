"""The simulator against Erlang C (M/M/c), and gang scheduling on real Philly job sizes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fleetwise.errors import InputError
from fleetwise.plan.queueing import gpu_lower_bounds, mmc
from fleetwise.plan.simulate import (
    Cluster,
    Workload,
    arrival_rate_for_load,
    max_sustainable_utilization,
    poisson_workload,
    simulate,
    start_times,
)

PHILLY = Path(__file__).parents[1] / "data" / "clusters" / "philly_job_sizes.csv"


def philly() -> tuple[np.ndarray, np.ndarray]:
    data = np.loadtxt(PHILLY, delimiter=",", skiprows=1)
    return data[:, 1].astype(np.int64), data[:, 0]


def mm_workload(servers: int, load: float, n: int, seed: int) -> Workload:
    rng = np.random.default_rng(seed)
    arrivals = np.cumsum(rng.exponential(1.0 / (load * servers), n))
    return Workload(arrivals, np.ones(n, dtype=np.int64), rng.exponential(1.0, n))


# 1.2M jobs per case: over 8 seeds the mean wait then scatters by about 1% (1 sd) around
# Erlang C at these loads, so 3% checks the simulator, not luck. Erlang C is evaluated at
# the arrival rate and mean duration of the jobs actually drawn (it removes the part of
# the scatter that comes from the draw, not from the simulation).
@pytest.mark.parametrize(("servers", "load"), [(2, 0.5), (4, 0.7), (8, 0.6), (8, 0.8)])
def test_mean_wait_matches_erlang_c_for_single_gpu_exponential_jobs(
    servers: int, load: float
) -> None:
    n = 1_200_000
    w = mm_workload(servers, load, n, seed=0)
    sim = simulate(w, Cluster(servers), warmup=0.02)
    rate = (n - 1) / float(w.arrivals_s[-1] - w.arrivals_s[0])
    theory = mmc(rate, float(w.durations_s.mean()), servers)
    assert sim.mean_wait_s == pytest.approx(theory.mean_wait_s, rel=0.03)
    assert sim.utilization == pytest.approx(load, abs=0.01)


def test_gang_scheduling_on_philly_sizes_far_exceeds_erlang_c() -> None:
    gpus, durations = philly()
    rate = arrival_rate_for_load(0.8, 64, gpus * durations)
    workload = poisson_workload(gpus, durations, 300_000, rate, seed=1)
    erlang, allen = gpu_lower_bounds(rate, gpus, durations, 64)
    pool = simulate(workload, Cluster(64))
    assert erlang.mean_wait_s < 3600  # Erlang C: well under an hour
    assert pool.mean_wait_s > 10 * 3600  # gang scheduling: tens of hours
    assert pool.mean_wait_s > 20 * erlang.mean_wait_s
    assert allen.mean_wait_s > erlang.mean_wait_s
    # 8-GPU nodes: the highest utilization FIFO sustains is below the 80% offered
    sustainable = max_sustainable_utilization(gpus, durations, Cluster(64, 8))
    assert 0.74 < sustainable < 0.8
    assert max_sustainable_utilization(gpus, durations, Cluster(64)) > 0.9


def _check_schedule(w: Workload, c: Cluster, starts: np.ndarray) -> None:
    assert np.all(starts >= w.arrivals_s - 1e-9)
    events = sorted(
        [(s, 1, g) for s, g in zip(starts, w.gpus, strict=True)]
        + [(s + d, 0, -g) for s, d, g in zip(starts, w.durations_s, w.gpus, strict=True)]
    )
    busy = 0
    for _, _, delta in events:  # ends (kind 0) before starts at the same time
        busy += delta
        assert busy <= c.total_gpus


jobs = st.lists(
    st.tuples(st.floats(0, 50), st.sampled_from([1, 2, 4, 8]), st.floats(0.1, 30)),
    min_size=10,
    max_size=60,
)


@settings(max_examples=60, deadline=None)
@given(jobs, st.sampled_from(["fifo", "sjf", "backfill"]), st.sampled_from([None, 4, 8]))
def test_every_policy_respects_capacity_and_arrivals(
    raw: list[tuple[float, int, float]], policy: str, node_gpus: int | None
) -> None:
    raw.sort()
    w = Workload(
        np.array([r[0] for r in raw]),
        np.array([r[1] for r in raw], dtype=np.int64),
        np.array([r[2] for r in raw]),
    )
    c = Cluster(16, node_gpus)
    starts = start_times(w, c, policy)  # type: ignore[arg-type]
    _check_schedule(w, c, starts)
    if policy == "fifo":
        assert np.all(np.diff(starts) >= 0)  # FIFO starts in arrival order


@settings(max_examples=40, deadline=None)
@given(jobs)
def test_backfill_never_waits_longer_on_average_than_fifo_for_the_head(
    raw: list[tuple[float, int, float]],
) -> None:
    raw.sort()
    w = Workload(
        np.array([r[0] for r in raw]),
        np.array([r[1] for r in raw], dtype=np.int64),
        np.array([r[2] for r in raw]),
    )
    fifo = start_times(w, Cluster(16, 8), "fifo")
    backfill = start_times(w, Cluster(16, 8), "backfill")
    # EASY backfill never delays the job at the head of the queue: the first job to wait
    # under FIFO starts no later under backfill.
    waited = np.nonzero(fifo > w.arrivals_s)[0]
    if len(waited):
        first = waited[0]
        assert backfill[first] <= fifo[first] + 1e-9


def test_bad_input_is_rejected() -> None:
    w = Workload(np.arange(10.0), np.full(10, 16, dtype=np.int64), np.ones(10))
    with pytest.raises(InputError, match="needs 16 GPUs"):
        simulate(w, Cluster(8))
    with pytest.raises(InputError, match="whole number"):
        Cluster(12, 8)
    with pytest.raises(InputError, match="unknown policy"):
        start_times(w, Cluster(16), "lifo")  # type: ignore[arg-type]
