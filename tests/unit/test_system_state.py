"""The machine's tuning and throttle state: sysfs trees and nvidia-smi output as captured."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from fleetwise.collect import system_state as ss

DATA = Path(__file__).parents[1] / "data" / "system_state"


def test_untuned_bare_metal_box_gets_every_piece_of_advice() -> None:
    state = {"cpu": ss.cpu_state(DATA / "untuned", affinity=range(8)), "gpus": []}
    cpu = state["cpu"]
    assert cpu["online"] == "0-7"
    assert cpu["governors"] == {"powersave": "0-7"}
    assert (cpu["cur_mhz_min"], cpu["cur_mhz_max"], cpu["max_mhz"]) == (1200.0, 1900.0, 3900.0)
    assert (cpu["turbo"], cpu["smt"], cpu["thp"], cpu["thp_defrag"]) == (
        "on",
        "on",
        "always",
        "madvise",
    )
    assert cpu["isolated"] == "" and cpu["nohz_full"] is None
    assert cpu["thermal_throttle_count"] == sum(range(8)) + 8
    advice = ss.machine_advice(state)
    assert [a.split(" ")[0] for a in advice] == ["CPU", "turbo", "SMT", "no", "transparent"]
    assert "cpupower frequency-set -g performance" in advice[0]
    assert "'powersave'" in advice[0]


def test_tuned_box_gets_none() -> None:
    cpu = ss.cpu_state(DATA / "tuned", affinity=[2, 3, 4, 5, 6, 7])
    assert cpu["governors"] == {"performance": "0-7"}
    assert (cpu["turbo"], cpu["smt"], cpu["isolated"], cpu["nohz_full"]) == (
        "off",
        "off",
        "2-7",
        "2-7",
    )
    assert cpu["affinity"] == "2-7"
    assert ss.machine_advice({"cpu": cpu}) == []


def test_mixed_governors_name_the_odd_one_and_acpi_boost_counts_as_turbo() -> None:
    cpu = ss.cpu_state(DATA / "amd_mixed", affinity=range(4))
    assert cpu["governors"] == {"performance": "0-2", "schedutil": "3"}
    assert cpu["turbo"] == "on" and cpu["thp"] == "never"
    advice = ss.machine_advice({"cpu": cpu})
    assert "'schedutil'" in advice[0] and "'performance'" not in advice[0].split("(")[0]


def test_a_vm_that_exposes_nothing_is_not_given_advice_on_what_it_cannot_see() -> None:
    cpu = ss.cpu_state(DATA / "vm", affinity=[0, 1])
    assert cpu["governors"] == {} and cpu["turbo"] is None and cpu["max_mhz"] is None
    assert cpu["thermal_throttle_count"] is None
    advice = ss.machine_advice({"cpu": cpu})
    assert len(advice) == 1 and advice[0].startswith("no isolated CPUs")


def test_a_missing_tree_reads_as_unknown_not_as_untuned(tmp_path: Path) -> None:
    cpu = ss.cpu_state(tmp_path, affinity=[0])
    assert cpu["online"] is None and cpu["isolated"] is None and cpu["smt"] is None
    assert ss.machine_advice({"cpu": cpu}) == []


def test_nvidia_smi_rows_decode_clocks_power_and_throttle_reasons() -> None:
    gpus = ss.parse_gpu_state((DATA / "nvidia_smi_h100.csv").read_text())
    assert [g["index"] for g in gpus] == [0, 1, 2, 3]
    assert gpus[0]["throttle_reasons"] == ["sw_power_cap"]
    assert gpus[1]["throttle_reasons"] == ["sw_power_cap", "sw_thermal_slowdown"]
    assert gpus[2]["throttle_reasons"] == ["gpu_idle"]
    assert gpus[3]["throttle_reasons"] is None and gpus[3]["power_draw_w"] is None
    assert gpus[1]["sm_clock_mhz"] == 1755.0 and gpus[1]["temperature_c"] == 83.0
    advice = ss.machine_advice({"cpu": {}, "gpus": gpus}, gpu_run=True)
    assert advice == [
        "GPU 2: power limit 500 W below its default 700 W: results are power-bound; "
        "compare at the same limit"
    ]


def test_a_case_that_throttled_is_flagged_with_the_fix() -> None:
    gpus = ss.parse_gpu_state((DATA / "nvidia_smi_h100.csv").read_text())
    before = {"thermal_throttle_count": 10, "gpus": []}
    after = {"thermal_throttle_count": 13, "gpus": gpus}
    flags = ss.case_flags(before, after)
    assert flags[0].startswith("CPU thermal throttling during the case (3 events)")
    assert flags[1:] == [
        f"GPU 0 throttled (sw_power_cap): {ss.THROTTLE_FIX['sw_power_cap']}",
        f"GPU 1 throttled (sw_power_cap): {ss.THROTTLE_FIX['sw_power_cap']}",
        f"GPU 1 throttled (sw_thermal_slowdown): {ss.THROTTLE_FIX['sw_thermal_slowdown']}",
    ]
    # Only the GPUs the case used; an idle GPU is not throttled.
    assert ss.case_flags(before | {"thermal_throttle_count": 13}, after, gpu_indices=[2]) == []


def test_a_quiet_case_has_no_flags() -> None:
    snap = {"thermal_throttle_count": 4, "gpus": []}
    assert ss.case_flags(snap, snap) == []
    assert ss.case_flags({"thermal_throttle_count": None}, {"thermal_throttle_count": 9}) == []


@given(st.sets(st.integers(min_value=0, max_value=300), max_size=60))
def test_cpulists_round_trip(cpus: set[int]) -> None:
    text = ss.format_cpulist(cpus)
    assert ss.parse_cpulist(text) == sorted(cpus)
    # Runs are collapsed: no two consecutive CPUs are written apart.
    assert ss.format_cpulist(ss.parse_cpulist(text)) == text


@given(st.integers(min_value=0, max_value=0x1FF))
def test_throttle_masks_decode_to_their_bits(mask: int) -> None:
    names = ss.decode_throttle(mask)
    assert sum(bit for bit, name in ss.THROTTLE_BITS.items() if name in names) == mask


def test_this_machine_state_is_recorded_with_a_run(tmp_path: Path) -> None:
    from fleetwise.collect.fingerprint import fingerprint, fingerprint_hash

    fp = fingerprint()
    assert fp["system"]["cpu"]["affinity"]
    before = fingerprint_hash(fp)
    fp["system"]["cpu"]["governors"] = {"powersave": "0"}
    assert fingerprint_hash(fp) == before  # advice, not a new environment
    assert ss.run_advice({"system_state": fp["system"]}) == ss.machine_advice(fp["system"])
    assert ss.run_advice({}) == []
