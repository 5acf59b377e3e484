"""The Kineto importer: streaming, units, launch kinds, and clear errors on bad input."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from fleetwise.analyze import traces as tr
from fleetwise.analyze.traces_prepare import KernelType, kernel_type, prepare
from fleetwise.analyze.traces_report import load_trace_set
from fleetwise.collect.importers import kineto
from fleetwise.errors import InputError

DATA = Path(__file__).parents[1] / "data" / "kineto"


def write_trace(path: Path, events: list[dict[str, Any]], **meta: Any) -> Path:
    doc = {"schemaVersion": 1, **meta, "traceEvents": events, "traceName": str(path)}
    text = json.dumps(doc, indent=1)
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


def launch(name: str, ts: float, dur: float, corr: int) -> dict[str, Any]:
    return {
        "ph": "X",
        "cat": "cuda_runtime",
        "name": name,
        "ts": ts,
        "dur": dur,
        "args": {"correlation": corr},
    }


def kernel(name: str, ts: float, dur: float, corr: int, stream: int = 7) -> dict[str, Any]:
    return {
        "ph": "X",
        "cat": "kernel",
        "name": name,
        "ts": ts,
        "dur": dur,
        "args": {"correlation": corr, "stream": stream},
    }


def small_trace(rank: int = 0) -> list[dict[str, Any]]:
    return [
        {"ph": "M", "name": "process_name", "pid": 1, "args": {"name": "python"}},
        launch("cudaLaunchKernel", 100, 5, 1),
        kernel("gemm", 110, 20, 1),
        launch("cuLaunchKernel", 140, 5, 2),
        kernel(
            "ncclDevKernel_AllReduce_Sum_f32_RING_LL(ncclDevKernelArgsStorage<4096ul>)",
            150,
            40,
            2,
            20,
        ),
        launch("cudaGraphLaunch", 200, 10, 3),
        kernel("relu", 215, 5, 3),
        kernel("add", 221, 5, 3),
    ]


def test_reads_rank_world_size_and_only_what_analyses_need(tmp_path: Path) -> None:
    path = write_trace(
        tmp_path / "r3.json.gz", small_trace(), distributedInfo={"rank": 3, "world_size": 8}
    )
    trace = kineto.read_rank_trace(path)
    assert (trace.rank, trace.world_size, trace.total_events) == (3, 8, 8)
    assert len(trace.ts) == 7  # the M event is not kept
    assert trace.ts.dtype == np.int64
    assert not trace.nanosecond_timestamps


def test_newer_nccl_kernels_are_communication() -> None:
    assert kernel_type("ncclDevKernel_AllGather_RING_LL(ncclDevKernelArgsStorage<4096ul>)") == (
        KernelType.COMMUNICATION
    )
    assert kernel_type("ncclKernel_AllReduce_RING_LL_Sum_float(ncclDevComm*)") == (
        KernelType.COMMUNICATION
    )
    assert kernel_type("Memcpy HtoD (Pinned -> Device)") == KernelType.MEMORY
    assert kernel_type("void at::native::vectorized_elementwise_kernel<4>") == (
        KernelType.COMPUTATION
    )


def test_cu_launch_and_cuda_graph_launches_are_matched(tmp_path: Path) -> None:
    write_trace(tmp_path / "t.json", small_trace())
    (ev,) = load_trace_set(tmp_path)
    stats = tr.launch_stats(ev)
    # one cudaLaunchKernel, one cuLaunchKernel, one graph launch running two kernels: a
    # graph is one launch (docs/traces.md), its kernels attributed to it
    assert stats.n == 3
    assert (stats.graph_launches, stats.graph_kernels) == (1, 2)
    # A graph's delay is its first kernel's (relu: 215 - 200 - 10), not its last's (add).
    assert stats.launch_delay["max"] == 5.0
    (overlap,) = [tr.comm_comp_overlap(ev)]
    assert overlap.comm_us == 40 and overlap.overlap_pct == 0.0


def test_nanosecond_timestamps_round_as_hta(tmp_path: Path) -> None:
    events = [
        launch("cudaLaunchKernel", 1000.250, 2.5, 1),
        kernel("a", 1003.4, 10.2, 1),  # [1003.4, 1013.6] -> [1004, 1013]
        launch("cudaLaunchKernel", 1004.0, 1.0, 2),
        kernel("b", 1013.6, 1.0, 2),  # [1013.6, 1014.6] -> [1014, 1014]
    ]
    trace = kineto.read_rank_trace(write_trace(tmp_path / "ns.json", events))
    assert trace.nanosecond_timestamps
    k = trace.stream >= 0
    assert trace.ts[k].tolist() == [1004, 1014]
    assert trace.dur[k].tolist() == [9, 0]


@pytest.mark.parametrize("chunk", [97, 1000, 1 << 20])
def test_chunk_size_does_not_change_the_answer(monkeypatch: pytest.MonkeyPatch, chunk: int) -> None:
    path = DATA / "trace_filter_2rank" / "sampled_rank-1.json.gz"
    whole = kineto.read_rank_trace(path, cpu_ops=True)
    monkeypatch.setattr(kineto, "CHUNK_BYTES", chunk)
    pieces = kineto.read_rank_trace(path, cpu_ops=True)
    for column in ("index", "name_id", "ts", "dur", "stream", "correlation"):
        assert np.array_equal(getattr(whole, column), getattr(pieces, column)), column
    assert whole.names == pieces.names and whole.metadata == pieces.metadata
    assert whole.cpu_op_totals == pieces.cpu_op_totals


def test_braces_inside_names_do_not_split_events(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events = small_trace()
    events[2]["name"] = 'kernel<{lambda()#1}, {"x"}>},{ tricky'
    monkeypatch.setattr(kineto, "CHUNK_BYTES", 64)
    trace = kineto.read_rank_trace(write_trace(tmp_path / "t.json", events))
    assert 'kernel<{lambda()#1}, {"x"}>},{ tricky' in trace.names


def test_truncated_gzip_names_the_file(tmp_path: Path) -> None:
    good = (DATA / "nccl_ddp_a100" / "nccl_data.json.gz").read_bytes()
    bad = tmp_path / "rank0.json.gz"
    bad.write_bytes(good[: len(good) // 2])
    with pytest.raises(InputError, match=r"rank0\.json\.gz: the gzip stream is truncated"):
        kineto.read_trace_dir(tmp_path)


def test_invalid_json_names_file_and_line(tmp_path: Path) -> None:
    path = write_trace(tmp_path / "bad.json", small_trace())
    lines = path.read_text().splitlines()
    lines[20] = lines[20] + " oops"
    path.write_text("\n".join(lines))
    with pytest.raises(InputError, match=r"bad\.json: invalid JSON near line 2\d"):
        kineto.read_rank_trace(path)


def test_truncated_json_is_reported(tmp_path: Path) -> None:
    path = write_trace(tmp_path / "cut.json", small_trace())
    path.write_text(path.read_text()[:-200])
    with pytest.raises(InputError, match=r"cut\.json: "):
        kineto.read_rank_trace(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "the file is empty"),
        ('{"schemaVersion": 1}', "no 'traceEvents' array"),
        ('{"traceEvents": {}}', "'traceEvents' is not an array"),
    ],
)
def test_not_a_trace(tmp_path: Path, content: str, message: str) -> None:
    (tmp_path / "x.json").write_text(content)
    with pytest.raises(InputError, match=f"x.json: {message}"):
        kineto.read_rank_trace(tmp_path / "x.json")


def test_trace_without_gpu_events_is_rejected(tmp_path: Path) -> None:
    cpu_only = [{"ph": "X", "cat": "cpu_op", "name": "aten::add", "ts": 1, "dur": 2}]
    write_trace(tmp_path / "cpu.json", cpu_only)
    with pytest.raises(InputError, match=r"cpu\.json: no GPU events"):
        load_trace_set(tmp_path)


def test_folder_mixing_runs_is_rejected(tmp_path: Path) -> None:
    for name in ("a.json", "b.json"):
        write_trace(tmp_path / name, small_trace(), distributedInfo={"rank": 0, "world_size": 2})
    with pytest.raises(InputError, match=r"b\.json: rank 0 is also the rank of a\.json"):
        kineto.read_trace_dir(tmp_path)
    write_trace(tmp_path / "b.json", small_trace(), distributedInfo={"rank": 1, "world_size": 4})
    with pytest.raises(InputError, match=r"b\.json: world_size 4 differs"):
        kineto.read_trace_dir(tmp_path)


def test_empty_or_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no trace files"):
        kineto.read_trace_dir(tmp_path)
    with pytest.raises(InputError, match="not a directory"):
        kineto.read_trace_dir(tmp_path / "missing")


def test_plain_json_and_gzip_read_the_same(tmp_path: Path) -> None:
    src = DATA / "amd_mi250_minitoy" / "mi250_minitoy_train_ROCm6_2_kineto.json.gz"
    shutil.copy(src, tmp_path / "t.json.gz")
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "t.json").write_bytes(gzip.decompress(src.read_bytes()))
    a = prepare(kineto.read_trace_dir(tmp_path))[0]
    b = prepare(kineto.read_trace_dir(tmp_path / "plain"))[0]
    assert tr.temporal_breakdown(a) == tr.temporal_breakdown(b)
