"""NCCL/RCCL kernels matched by family: overlap and stragglers survive library upgrades."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from fleetwise.analyze.traces import comm_comp_overlap
from fleetwise.analyze.traces_prepare import KernelType, collective_key, kernel_type
from fleetwise.analyze.traces_report import analyze_trace_set, load_trace_set
from fleetwise.analyze.traces_steps import find_stragglers

DATA = Path(__file__).parents[1] / "data" / "kineto"
OPS = ["AllReduce", "AllGather", "ReduceScatter", "Broadcast", "Reduce", "SendRecv", "AllToAll"]


def spellings(op: str) -> list[str]:
    """How NCCL <= 2.18, NCCL >= 2.19 and RCCL name the kernel of one collective."""
    args = "(ncclDevComm*, unsigned long, ncclWork*)"
    return [
        f"ncclKernel_{op}_RING_LL_Sum_float",
        f"ncclDevKernel_{op}_Sum_f32_RING_LL{args}",
        f"void ncclDevKernel_{op}_Sum_bf16_TREE_SIMPLE{args}",
        f"ncclKernel_{op}_RING_SIMPLE_Sum_int8_t",
        f"rccl_{op}",
    ]


@given(st.sampled_from(OPS), st.integers(0, 4))
def test_every_spelling_is_communication_of_its_collective(op: str, which: int) -> None:
    name = spellings(op)[which]
    assert kernel_type(name) is KernelType.COMMUNICATION
    assert collective_key(name) == op


@given(
    st.sampled_from(
        [
            "ncclDevKernel_Generic_4(ncclDevKernelArgsStorage<4096ul>)",
            "ncclDevKernel_Generic",
            "rcclGenericKernel",
            "ncclKernel",
        ]
    )
)
def test_names_that_do_not_say_are_generic(name: str) -> None:
    assert kernel_type(name) is KernelType.COMMUNICATION
    assert collective_key(name) == "Generic"


def test_compute_kernels_stay_compute() -> None:
    for name in ["sm90_xmma_gemm_bf16bf16", "void at::native::vectorized_elementwise_kernel"]:
        assert kernel_type(name) is KernelType.COMPUTATION


def upgraded_copy(tmp_path: Path, rank_file: str) -> Path:
    """trace_filter_2rank with one rank's NCCL kernels renamed as NCCL 2.19 names them."""
    out = tmp_path / "mixed"
    out.mkdir()
    for path in sorted((DATA / "trace_filter_2rank").glob("*.json.gz")):
        doc = json.loads(gzip.decompress(path.read_bytes()))
        if path.name == rank_file:
            for e in doc["traceEvents"]:
                found = re.match(r"ncclKernel_([A-Za-z]+)_", str(e.get("name", "")))
                if found and e.get("cat") == "kernel":
                    e["name"] = f"ncclDevKernel_{found.group(1)}(ncclDevComm*, unsigned long)"
        (out / path.name).write_bytes(gzip.compress(json.dumps(doc).encode()))
    return out


def test_overlap_and_stragglers_survive_an_upgrade(tmp_path: Path) -> None:
    before = load_trace_set(DATA / "trace_filter_2rank")
    mixed_dir = upgraded_copy(tmp_path, "sampled_rank-1.json.gz")
    after = load_trace_set(mixed_dir)
    assert any("ncclDevKernel_SendRecv" in n for n in after[1].names)
    assert [comm_comp_overlap(ev) for ev in after] == [comm_comp_overlap(ev) for ev in before]
    assert find_stragglers(after) == find_stragglers(before)
    assert find_stragglers(before).collectives > 0
    report = analyze_trace_set(mixed_dir, workers=1)
    assert report.stragglers == find_stragglers(before)
