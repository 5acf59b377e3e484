"""A result taken on an unhealthy host: XID events from the kernel log, uncorrected ECC
errors from nvidia-smi, and the one recogniser of health warnings (captured text in
``tests/data/system_state/``)."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from fleetwise.collect import host_health as hh
from fleetwise.collect import system_state as ss
from fleetwise.stats import stability_warnings, summarize

DATA = Path(__file__).parents[1] / "data" / "system_state"


def _snap(dmesg: str, smi: str) -> dict[str, object]:
    return {
        "thermal_throttle_count": 0,
        "gpus": ss.parse_gpu_state((DATA / smi).read_text()),
        "xid_lines": hh.parse_kernel_xids((DATA / dmesg).read_text()),
    }


def test_kernel_log_xids_are_the_driver_lines() -> None:
    lines = hh.parse_kernel_xids((DATA / "dmesg_after.txt").read_text())
    assert len(lines) == 4  # 13, 43, 31, 79; the plain "fallen off the bus" line is not one
    assert lines[-1].startswith("[ 9131.004022] NVRM: Xid (PCI:0000:3b:00): 79")


def test_only_new_hardware_xids_flag_the_case() -> None:
    before = hh.parse_kernel_xids((DATA / "dmesg_before.txt").read_text())
    after = hh.parse_kernel_xids((DATA / "dmesg_after.txt").read_text())
    flags = hh.xid_flags(before, after)
    # 13 and 43 were logged before the case; 31 is the application's own fault
    assert flags == [
        "GPU XID 79 on PCI:0000:3b:00 during the case (GPU has fallen off the bus): drain "
        "the node; check power, PCIe, firmware; the result measured a failing GPU"
    ]
    assert hh.xid_flags(None, after) == []  # dmesg not readable: nothing known, no flag


def test_nvidia_smi_ecc_column_and_the_nine_column_rows() -> None:
    gpus = ss.parse_gpu_state((DATA / "nvidia_smi_h100_ecc.csv").read_text())
    assert [g["ecc_uncorrected"] for g in gpus] == [0, 3, None]
    old = ss.parse_gpu_state((DATA / "nvidia_smi_h100.csv").read_text())
    assert len(old) == 4 and all(g["ecc_uncorrected"] is None for g in old)


def test_case_flags_carry_xid_and_ecc_and_are_recognised() -> None:
    before = _snap("dmesg_before.txt", "nvidia_smi_h100_ecc_before.csv")
    after = _snap("dmesg_after.txt", "nvidia_smi_h100_ecc.csv")
    flags = ss.case_flags(before, after)
    assert any(f.startswith("GPU XID 79 ") for f in flags)
    assert (
        "GPU 1 has 3 uncorrected ECC errors since the driver loaded, 2 during the case: "
        "reset the GPU (nvidia-smi -r) before trusting its results"
    ) in flags
    assert hh.health_reasons(flags) == ["XID", "ECC"]
    # a case on GPU 0 only sees no ECC flag (the XID is the host's, kept)
    assert hh.health_reasons(ss.case_flags(before, after, gpu_indices=[0])) == ["XID"]


def test_throttle_and_steal_warnings_are_health_reasons() -> None:
    gpus = ss.parse_gpu_state((DATA / "nvidia_smi_h100.csv").read_text())
    flags = ss.case_flags(
        {"thermal_throttle_count": 1, "gpus": []},
        {"thermal_throttle_count": 4, "gpus": gpus},
    )
    steal = stability_warnings(summarize([1.0] * 10), steal_pct=12.5)
    assert hh.health_reasons([*flags, *steal]) == [
        "GPU throttled",
        "CPU thermal throttling",
        "CPU steal",
    ]
    noise = stability_warnings(summarize([1.0, 2.0, 1.0]), load_avg=9.0, cores=2)
    assert noise and hh.health_reasons(noise) == []  # noise is not ill health


@given(st.integers(min_value=1, max_value=10**6), st.integers(min_value=0, max_value=7))
def test_every_ecc_flag_is_recognised(count: int, idx: int) -> None:
    flags = hh.ecc_flags([], [{"index": idx, "ecc_uncorrected": count}])
    assert len(flags) == 1 and hh.health_reasons(flags) == ["ECC"]
