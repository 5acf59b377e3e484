"""Ranks analysed in worker processes and reduced give the report of one process doing it all.

The oracle is the analyses run one after another over ``load_trace_set`` (what ``trace
analyze`` did before ranks were summarised where they are read), whose figures the golden
and HTA-parity tests check.
"""

from __future__ import annotations

import gzip
import json
import os
import signal
from pathlib import Path

import pytest

from fleetwise.analyze import traces as tr
from fleetwise.analyze.traces_counters import memory_bandwidth_summary, queue_length_summary
from fleetwise.analyze.traces_ranks import rank_info, summarize_rank
from fleetwise.analyze.traces_report import TraceReport, analyze_trace_set, load_trace_set
from fleetwise.analyze.traces_steps import find_stragglers, step_breakdown
from fleetwise.collect.executors.fanout import fan_out, pool_size
from fleetwise.errors import InputError

DATA = Path(__file__).parents[1] / "data" / "kineto"
SETS = sorted(p for p in DATA.iterdir() if p.is_dir() and p.name != "hta_reference")


def one_process_report(folder: Path) -> TraceReport:
    ranks = load_trace_set(folder)
    return TraceReport(
        source=str(folder),
        ranks=[rank_info(ev) for ev in ranks],
        temporal=[t for t in map(tr.temporal_breakdown, ranks) if t is not None],
        idle=[i for ev in ranks for i in tr.idle_time_breakdown(ev)],
        kernel_types=tr.kernel_type_breakdown(ranks),
        top_kernels=[k for ev in ranks for k in tr.top_kernels(ev)],
        overlap=[tr.comm_comp_overlap(ev) for ev in ranks],
        launches=[tr.launch_stats(ev) for ev in ranks],
        queue_length=[q for ev in ranks for q in queue_length_summary(ev)],
        memory_bandwidth=[m for ev in ranks for m in memory_bandwidth_summary(ev)],
        steps=[s for ev in ranks for s in step_breakdown(ev)],
        stragglers=find_stragglers(ranks),
    )


@pytest.mark.parametrize("folder", SETS, ids=lambda p: p.name)
def test_serial_and_pool_give_the_one_process_report(folder: Path) -> None:
    expected = one_process_report(folder)
    assert analyze_trace_set(folder, workers=1) == expected
    assert analyze_trace_set(folder, workers=2) == expected


def _copies(folder: Path, source: Path, steps: list[str]) -> Path:
    """One copy of ``source`` per entry of ``steps``, every ``ProfilerStep#N`` renamed to it."""
    doc = json.loads(gzip.decompress(source.read_bytes()))
    folder.mkdir()
    for rank, step in enumerate(steps):
        copy = dict(doc)
        copy["distributedInfo"] = {"rank": rank, "world_size": len(steps)}
        copy["traceEvents"] = [
            {**e, "name": step} if str(e.get("name")).startswith("ProfilerStep#") else e
            for e in doc["traceEvents"]
        ]
        (folder / f"rank{rank}.json").write_text(json.dumps(copy))
    return folder


@pytest.mark.parametrize(
    "steps",
    [["ProfilerStep#1", "ProfilerStep#1"], ["ProfilerStep#1", "ProfilerStep#2"]],
    ids=["same-step", "one-step-each"],
)
def test_the_step_window_is_decided_over_the_whole_set(tmp_path: Path, steps: list[str]) -> None:
    # Each rank names one step (twice): alone it keeps both spans, in a set naming two steps
    # it drops the last (each rank is then analysed both ways; the reduce picks one).
    source = DATA / "amd_mi250_minitoy" / "mi250_minitoy_train_ROCm6_2_kineto.json.gz"
    folder = _copies(tmp_path / "set", source, steps)
    expected = one_process_report(folder)
    assert analyze_trace_set(folder, workers=2) == expected
    ranks = [summarize_rank(folder / f"rank{r}.json") for r in (0, 1)]
    assert all(len(r.results) == 2 and r.results[True] != r.results[False] for r in ranks)
    drop = steps[0] != steps[1]
    assert expected.steps == [x for r in ranks for x in r.result(drop).steps]


def test_errors_name_the_file_as_before(tmp_path: Path) -> None:
    folder = tmp_path / "set"
    folder.mkdir()
    good = DATA / "trace_filter_2rank" / "sampled_rank-0.json.gz"
    (folder / "a.json.gz").write_bytes(good.read_bytes())
    (folder / "b.json.gz").write_bytes(good.read_bytes())
    with pytest.raises(InputError, match=r"b\.json\.gz: rank 0 is also the rank of a\.json\.gz"):
        analyze_trace_set(folder, workers=2)
    (folder / "b.json.gz").unlink()
    (folder / "a.json").write_text('{"traceEvents": [')
    with pytest.raises(InputError, match=r"a\.json:"):
        analyze_trace_set(folder, workers=2)


def test_fan_out_keeps_input_order_and_sizes_the_pool() -> None:
    assert fan_out(abs, [-3, 1, -2], workers=2) == [3, 1, 2]
    assert pool_size(100, None) >= 1 and pool_size(3, 8) == 3 and pool_size(0, None) == 1
    with pytest.raises(InputError, match="--address needs --executor ray"):
        fan_out(abs, [1], address="auto")


def _fails_on_odd(n: int) -> int:
    if n % 2:
        raise InputError(f"item {n}: odd")
    return n


def _dies_on_three(n: int) -> int:
    if n == 3:
        os.kill(os.getpid(), signal.SIGKILL)
    return n


def test_a_forked_workers_error_is_raised_here() -> None:
    # Items 1 and 3 run in the child (process k of 2 takes items k, k + 2, ...).
    with pytest.raises(InputError, match="item 1: odd"):
        fan_out(_fails_on_odd, [0, 1, 2, 3], workers=2)
    assert fan_out(_fails_on_odd, [0, 2, 4, 6, 8], workers=3) == [0, 2, 4, 6, 8]
    with pytest.raises(RuntimeError, match="killed by signal 9"):
        fan_out(_dies_on_three, [0, 1, 2, 3], workers=2)
