"""Alibaba cluster-trace-gpu-v2025 instances as jobs (rows without a creation time skipped
and counted) and PAI 2020's machine spec as nodes (with or without its header)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from fleetwise.collect.importers.jobs import detect_format, read_jobs
from fleetwise.collect.importers.nodes import import_nodes
from fleetwise.errors import InputError
from fleetwise.models import JobState

DATA = Path(__file__).parents[1] / "data" / "clusters"
V2025 = DATA / "alibaba_2025_dlrm_head50.csv"
PAI = DATA / "nodes" / "pai_machine_spec_head.csv"
HEADER = (
    "instance_sn,role,app_name,cpu_request,cpu_limit,gpu_request,gpu_limit,rdma_request,"
    "rdma_limit,memory_request,memory_limit,disk_request,disk_limit,max_instance_per_node,"
    "creation_time,scheduled_time,deletion_time\n"
)


def test_alibaba2025_skips_and_counts_rows_without_a_creation_time() -> None:
    assert detect_format(V2025) == "alibaba2025"
    done = read_jobs(V2025, epoch=datetime(2025, 1, 1, tzinfo=UTC))
    assert done.fmt == "alibaba2025"
    assert len(done.jobs) == 38
    assert done.skipped == {"no creation time (created before the trace started)": 12}
    assert sum(j.gpus for j in done.jobs) == 19
    by_id = {j.job_id: j for j in done.jobs}
    j = by_id["instance_13"]  # 59433.0,59478.0,179580.0 in the file
    assert j.team == "app_17" and j.gpus == 0 and j.state is JobState.UNKNOWN
    assert j.submit_time == datetime(2025, 1, 1, tzinfo=UTC) + timedelta(seconds=59433)
    assert j.start_time == j.submit_time + timedelta(seconds=45)
    assert by_id["instance_12"].state is JobState.RUNNING  # scheduled, not deleted
    pending = by_id["instance_17"]  # deleted while pending (no scheduled time)
    assert pending.start_time is None and pending.end_time is not None


def test_alibaba2025_bad_rows(tmp_path: Path) -> None:
    bad = tmp_path / "t.csv"
    bad.write_text(HEADER + "i0,HN,app_0,12,12,1,1,25,25,120.0,120.0,680.0,800.0,8,100.0,50.0,\n")
    with pytest.raises(InputError, match=r"t.csv:2: column 'scheduled_time': scheduled before"):
        read_jobs(bad)
    bad.write_text(HEADER + "i0,HN,app_0,12,12,x,1,25,25,120.0,120.0,680.0,800.0,8,1.0,2.0,\n")
    with pytest.raises(InputError, match=r"t.csv:2: column 'gpu_request': not a number"):
        read_jobs(bad)


def test_pai_machine_spec_as_nodes_pool_is_gpu_type() -> None:
    fmt, nodes = import_nodes(PAI)
    assert fmt == "pai" and len(nodes) == 10
    assert sum(n.gpus for n in nodes) == 40
    first = nodes[0]
    assert (first.name, first.gpus, first.model, first.partition) == (
        "82e5af3cd5c4af3f56c62c54",
        2,
        "T4",
        "T4",
    )
    assert {n.model for n in nodes if n.gpus == 0} == {""}  # CPU machines


def test_pai_machine_spec_with_its_header(tmp_path: Path) -> None:
    path = tmp_path / "spec.csv"
    path.write_text("machine,gpu_type,cap_cpu,cap_mem,cap_gpu\n" + PAI.read_text())
    fmt, nodes = import_nodes(path)
    assert fmt == "pai" and len(nodes) == 10


def test_pai_bad_row(tmp_path: Path) -> None:
    path = tmp_path / "spec.csv"
    path.write_text(PAI.read_text() + "abcdef0123456789,T4,96,512\n")
    with pytest.raises(InputError, match=r"spec.csv:11: expected 5 columns"):
        import_nodes(path, "pai")
