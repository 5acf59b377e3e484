"""CUDA graph launches: one launch per ``cudaGraphLaunch``, its kernels attributed to it.

No shared trace set launches graphs, so the fixture is the V100 trace of
``kineto/ns_resolution_v100`` replayed as graphs of 24 kernels from its second step on
(``tests/data/kineto_graphs/make_cuda_graph.py``); HTA 0.5.0's answers on it are in
``kineto_graphs/hta_reference/cuda_graph_v100``. HTA leaves graph launches out of launch and
queue statistics (its launch calls are cudaLaunchKernel and the copies), so on the calls it
does count we must agree with it exactly, and the graphs are what we add.
"""

from __future__ import annotations

import csv
import json
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from fleetwise.analyze import traces as tr
from fleetwise.analyze.critical_path import critical_paths
from fleetwise.analyze.traces_counters import queue_length_summary
from fleetwise.analyze.traces_intervals import describe
from fleetwise.analyze.traces_prepare import RankEvents
from fleetwise.analyze.traces_report import load_trace_set

DATA = Path(__file__).parents[1] / "data" / "kineto_graphs"
SET = DATA / "cuda_graph_v100"
REF = DATA / "hta_reference" / "cuda_graph_v100"


@cache
def rank0() -> RankEvents:
    (ev,) = load_trace_set(SET)
    return ev


def hta_launches() -> dict[str, object]:
    doc: dict[str, dict[str, object]] = json.loads(
        (REF / "cuda_kernel_launch_stats_summary.json").read_text()
    )
    return doc["0"]


def test_one_launch_per_graph_with_its_kernels() -> None:
    ev = rank0()
    stats = tr.launch_stats(ev)
    graph_calls = [i for i, n in enumerate(ev.names) if n == "cudaGraphLaunch"]
    assert stats.graph_launches == int(np.isin(ev.name_id, graph_calls).sum()) == 110
    assert stats.graph_kernels == 2640  # 24 kernels each: all attributed, none counted alone
    # Counting every graph kernel as a launch (the old join) gave 4,906 launches.
    assert stats.n == 2376 == hta_launches()["n"] + stats.graph_launches
    cpu, gpu, span, kernels = tr.launches(ev)
    graph = kernels > 1
    assert set(kernels[graph].tolist()) == {24}
    # a graph's GPU time runs from its first kernel's start to its last kernel's end
    assert (span[graph] >= ev.dur[gpu[graph]]).all()
    assert (ev.ts[gpu[graph]] >= ev.ts[cpu[graph]]).all()


def test_the_launches_hta_counts_are_hta_s() -> None:
    ev, ref = rank0(), hta_launches()
    cpu, gpu, span, kernels = tr.launches(ev)
    single = kernels == 1
    cpu_dur = ev.dur[cpu[single]].astype(np.float64)
    delay = np.clip(ev.ts[gpu] - ev.ts[cpu] - ev.dur[cpu], 0, None)[single].astype(np.float64)
    for ours, key in (
        (describe(cpu_dur), "cpu_duration_describe"),
        (describe(span[single].astype(np.float64)), "gpu_duration_describe"),
        (describe(delay), "launch_delay_describe"),
    ):
        theirs = ref[key]
        assert isinstance(theirs, dict)
        for stat, value in theirs.items():
            assert ours[stat] == pytest.approx(value, rel=1e-9), (key, stat)
    assert int((cpu_dur > tr.RUNTIME_CUTOFF_US).sum()) == ref["runtime_outliers(cpu_dur>50us)"]


def test_queue_length_counts_one_item_per_graph() -> None:
    ev = rank0()
    (ours,) = queue_length_summary(ev)
    with (REF / "queue_length_summary.csv").open() as f:
        (theirs,) = list(csv.DictReader(f))
    graphs = tr.launch_stats(ev).graph_launches
    # HTA's change points (graph launches left out) plus one +1 and one -1 per graph
    assert ours.stats["count"] == float(theirs["queue_length_count"]) + 2 * graphs
    assert ours.stats["min"] == 0.0
    # with every graph kernel as an item, the queue reached 1,065 (HTA, graphs out: 866)
    assert ours.stats["max"] == pytest.approx(867.0)


def test_critical_path_keeps_every_graph_kernel() -> None:
    doc = json.loads((REF / "critical_path.json").read_text())
    hta = {w["name"]: w for w in doc["ranks"]["0"]}
    ours = {p.window: p for p in critical_paths(SET)}
    # Before the first graph the two agree as on every shared set ...
    first = ours["ProfilerStep#101"]
    assert first.length_us == hta["ProfilerStep#101"]["path_length_us"]
    # ... after it, HTA drops all but one kernel of each graph, so their time reads as
    # "kernel-kernel overhead" (94-97%); here the graph's kernels are on the path.
    for step in ("ProfilerStep#102", "ProfilerStep#103", "ProfilerStep#104"):
        theirs = hta[step]["bound_by_pct"]
        assert theirs["gpu_kernel_kernel_overhead"] > 90
        assert ours[step].bound_by_pct["gpu_compute_bound"] > 70
        assert ours[step].length_us == pytest.approx(hta[step]["path_length_us"], rel=0.005)
