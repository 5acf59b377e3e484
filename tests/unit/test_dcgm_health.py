"""DCGM profiling fields and node health: the three shapes agree, SM_ACTIVE is preferred
over GPU_UTIL, XID/ECC fields become per-GPU health with the hours unhealthy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fleetwise.analyze.cluster_telemetry import analyze_telemetry
from fleetwise.analyze.node_health import gpu_health
from fleetwise.collect.importers import dcgm
from fleetwise.collect.importers.nodes import import_nodes
from fleetwise.collect.importers.telemetry import import_telemetry
from fleetwise.collect.xid import KERNEL_LOG_XID, xid
from fleetwise.errors import InputError

DATA = Path(__file__).parents[1] / "data" / "clusters"
HEALTH = DATA / "dcgm_health"
SHAPES = ["dcgm_health.prom", "dcgm_health_query_range.json", "dcgm_health.csv"]


@pytest.mark.parametrize("name", SHAPES)
def test_three_shapes_give_the_same_series(name: str) -> None:
    s = import_telemetry(HEALTH / name)
    ref = import_telemetry(HEALTH / SHAPES[0])
    assert s.basis == "SM_ACTIVE"
    assert s.times.tolist() == ref.times.tolist()
    assert np.allclose(s.utilization, ref.utilization)
    assert s.total.tolist() == [4.0] * 24
    # pods held 3 GPUs for the first two hours, then all 4
    assert s.busy.tolist() == [3.0] * 12 + [4.0] * 12
    assert sorted(s.fields) == sorted([dcgm.UTIL, *dcgm.RATIOS])
    assert len(s.health) == 4 * 24 * 3  # XID, SBE, DBE per GPU and time
    assert {(h.host, h.gpu) for h in s.health} == {
        ("gpu-node-01", "0"),
        ("gpu-node-01", "1"),
        ("gpu-node-02", "0"),
        ("gpu-node-02", "1"),
    }


def test_sm_active_is_measured_use_and_gpu_util_overstates_it() -> None:
    s = import_telemetry(HEALTH / "dcgm_health.prom")
    sm = float(np.nanmean(s.fields[dcgm.SM_ACTIVE]))
    util = float(np.nanmean(s.fields[dcgm.UTIL]))
    assert float(np.nanmean(s.utilization)) == pytest.approx(sm)
    assert sm == pytest.approx(0.3683, abs=1e-4)
    assert util == pytest.approx(0.7125, abs=1e-4)
    assert util > sm


def test_gpu_util_only_is_the_low_confidence_basis() -> None:
    s = import_telemetry(DATA / "formats" / "dcgm.prom")
    assert s.basis == "GPU_UTIL"
    assert s.utilization.tolist() == pytest.approx([0.5, 0.5])
    assert np.all(np.isnan(s.busy))  # no pod labels: allocation not said


def test_health_per_gpu_hours_and_reasons() -> None:
    found = {(g.host, g.gpu): g for g in gpu_health(import_telemetry(HEALTH / SHAPES[0]).health)}
    fell = found[("gpu-node-02", "1")]
    assert fell.xids == (79,) and fell.unhealthy_hours == pytest.approx(2.0)
    assert fell.reasons() == ["XID 79 (GPU has fallen off the bus)"]
    ecc = found[("gpu-node-02", "0")]
    assert ecc.unhealthy_hours == pytest.approx(1.0)
    assert ecc.reasons() == ["2 uncorrected ECC errors"]
    app = found[("gpu-node-01", "0")]
    assert app.xids == (13,) and not app.unhealthy  # an application fault, not the GPU
    sbe = found[("gpu-node-01", "1")]
    assert not sbe.unhealthy and sbe.counters[dcgm.ECC_SBE] == 5  # corrected: evidence only


def test_telemetry_and_nodes_alone() -> None:
    _, nodes = import_nodes(HEALTH / "nodes.csv")
    r = analyze_telemetry(
        import_telemetry(HEALTH / "dcgm_health.csv"),
        nodes,
        source="t",
        usd_per_gpu_hour=2.0,
        hours_per_year=8760,
    )
    assert not r.job_log and r.capacity_gpus == 6 and r.telemetry_gpus == 4
    assert r.allocation == pytest.approx(0.875)
    assert r.utilization_basis == "SM_ACTIVE"
    assert r.utilization_by_day == [("2024-03-01", pytest.approx(0.3683, abs=1e-4))]
    kinds = sorted(f.kind for f in r.findings)
    assert kinds == [
        "cluster.application_xid",
        "cluster.node_health",
        "cluster.node_health",
        "cluster.utilization_gap",
    ]
    health = [f for f in r.findings if f.kind == "cluster.node_health"]
    assert sorted(f.cost.gpu_hours_per_year for f in health if f.cost) == [2190.0, 4380.0]
    assert any("never reported" in n for n in r.notes)
    summary = r.summary()
    assert summary["gpu_hours"] is None and summary["lost_gpu_hours"] is None
    assert summary["utilization_confidence"].startswith("DCGM SM_ACTIVE")


def test_xid_catalog_and_kernel_log_line() -> None:
    assert not xid(13).unhealthy and xid(79).unhealthy and xid(48).kind == "memory"
    assert xid(9999).kind == "unknown" and xid(9999).unhealthy
    line = "[ 1234.5] NVRM: Xid (PCI:0000:3b:00): 79, pid=1234, GPU has fallen off the bus."
    m = KERNEL_LOG_XID.search(line)
    assert m is not None and m.group("pci") == "PCI:0000:3b:00" and m.group("code") == "79"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            'DCGM_FI_PROF_SM_ACTIVE{gpu="0"} 1.5 1709280000000\n',
            r"bad.txt:1: DCGM_FI_PROF_SM_ACTIVE 1.5 is not 0-1",
        ),
        (
            'DCGM_FI_PROF_DRAM_ACTIVE{gpu="0"} -0.1 1709280000000\n',
            r"bad.txt:1: DCGM_FI_PROF_DRAM_ACTIVE -0.1 is not 0-1",
        ),
        (
            'DCGM_FI_DEV_XID_ERRORS{gpu="0"} 7.5 1709280000000\n',
            r"bad.txt:1: DCGM_FI_DEV_XID_ERRORS 7.5 is not a whole number",
        ),
        ('DCGM_FI_PROF_SM_ACTIVE{gpu="0"} 0.5\n', r"bad.txt:1: expected .* timestamp_ms"),
        (
            "timestamp,gpu,DCGM_FI_PROF_SM_ACTIVE\n2024-03-01T08:00:00,0,2\n",
            r"bad.txt:2: column 'DCGM_FI_PROF_SM_ACTIVE': DCGM_FI_PROF_SM_ACTIVE 2 is not 0-1",
        ),
        (
            '{"data":{"result":[{"metric":{"__name__":"DCGM_FI_DEV_GPU_UTIL"},'
            '"values":[[1709280000,"101"]]}]}}',
            r"data.result\[0\]: DCGM_FI_DEV_GPU_UTIL 101 is not 0-100",
        ),
    ],
)
def test_out_of_range_values_name_the_place(tmp_path: Path, text: str, message: str) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text(text)
    with pytest.raises(InputError, match=message):
        import_telemetry(bad)


def test_telemetry_in_nodes_cannot_stand_alone() -> None:
    with pytest.raises(InputError, match="not GPUs"):
        analyze_telemetry(
            import_telemetry(DATA / "philly_node_sequence_10min.csv"),
            [],
            source="t",
            usd_per_gpu_hour=1.0,
            hours_per_year=8760,
        )
