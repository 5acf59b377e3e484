"""The machine's tuning and throttle state, read when a run starts and around each case.

What moves a benchmark's result besides the code: the CPU frequency governor and the clocks
it allows, turbo, SMT siblings sharing a core, whether cores are isolated from the
scheduler, which CPUs the worker may run on, transparent huge pages, and on GPUs the clocks,
the power limit and the driver's throttle reasons. pyperf checks the CPU side before it
measures (``pyperf system show``); NVIDIA's ``nvidia-smi -q -d PERFORMANCE`` lists the
throttle reasons. Two uses:

- :func:`machine_advice`: how the machine is set up, each item with the fix (a run on an
  untuned machine is still a result, but compare it only with runs set up the same way);
- :func:`case_flags`: what happened while one case ran (thermal throttling on a CPU, a GPU
  clocked down by power or heat, an XID or uncorrected ECC errors: ``host_health.py``): the
  result is flagged, because it measured the throttle or the failing GPU.

Everything here reads files under ``root`` (``/`` on a real machine, a folder of captured
sysfs files in the tests) and the text of ``nvidia-smi``; nothing is guessed when a file is
absent (a VM often exposes no cpufreq): the field is ``None`` and no advice is given on it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from fleetwise.collect import host_health

#: nvidia-smi's ``clocks_event_reasons.active`` bits (``nvmlClocksEventReasons``, named
#: ``clocks_throttle_reasons`` before driver 535). Only the ones that slow a busy GPU down
#: are throttles; idle, an application clock setting and sync boost are not.
THROTTLE_BITS: dict[int, str] = {
    0x1: "gpu_idle",
    0x2: "applications_clocks_setting",
    0x4: "sw_power_cap",
    0x8: "hw_slowdown",
    0x10: "sync_boost",
    0x20: "sw_thermal_slowdown",
    0x40: "hw_thermal_slowdown",
    0x80: "hw_power_brake_slowdown",
    0x100: "display_clock_setting",
}
THROTTLING = frozenset(
    {
        "sw_power_cap",
        "hw_slowdown",
        "sw_thermal_slowdown",
        "hw_thermal_slowdown",
        "hw_power_brake_slowdown",
    }
)
#: Why each throttle happens and what to do about it (the advice a flagged result carries).
THROTTLE_FIX: dict[str, str] = {
    "sw_power_cap": "the GPU hit its power limit; compare at the same limit (nvidia-smi -pl) "
    "or lock clocks below the power-bound range (nvidia-smi -lgc)",
    "hw_slowdown": "hardware slowdown (power brake or overheating); check cooling and the PSU",
    "sw_thermal_slowdown": "the driver slowed the GPU for heat; check cooling and airflow",
    "hw_thermal_slowdown": "the GPU slowed itself for heat; check cooling and airflow",
    "hw_power_brake_slowdown": "an external power brake (the PSU or the chassis) slowed the GPU",
}
GPU_QUERY = (
    "index,clocks.sm,clocks.max.sm,clocks.mem,power.limit,power.default_limit,"
    "power.draw,temperature.gpu,clocks_event_reasons.active,ecc.errors.uncorrected.volatile.total"
)
#: Drivers before 535 know the older name of the same field.
GPU_QUERY_OLD = GPU_QUERY.replace("clocks_event_reasons", "clocks_throttle_reasons")
#: Tried in this order; a driver that rejects the ECC field still gives clocks and reasons.
GPU_QUERIES = (
    GPU_QUERY,
    GPU_QUERY_OLD,
    *(q.removesuffix(",ecc.errors.uncorrected.volatile.total") for q in (GPU_QUERY, GPU_QUERY_OLD)),
)
#: A power limit this far below the default is a setting someone made, not a rounding.
POWER_LIMIT_TOLERANCE = 0.98


def _read(root: Path, rel: str) -> str | None:
    try:
        return (root / rel.lstrip("/")).read_text().strip()
    except OSError:
        return None


def parse_cpulist(text: str) -> list[int]:
    """``"0-3,8,10-11"`` -> ``[0, 1, 2, 3, 8, 10, 11]`` (the kernel's cpulist format)."""
    cpus: list[int] = []
    for part in text.replace("\n", ",").split(","):
        part = part.strip()
        if not part:
            continue
        lo, _, hi = part.partition("-")
        first, last = int(lo), int(hi) if hi else int(lo)
        if last < first:
            raise ValueError(f"bad CPU range {part!r}")
        cpus.extend(range(first, last + 1))
    return sorted(set(cpus))


def format_cpulist(cpus: Iterable[int]) -> str:
    """The inverse of :func:`parse_cpulist`, with runs collapsed: ``[0, 1, 2, 5]`` -> ``0-2,5``."""
    ordered = sorted(set(cpus))
    parts: list[str] = []
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        parts.append(str(ordered[i]) if i == j else f"{ordered[i]}-{ordered[j]}")
        i = j + 1
    return ",".join(parts)


def _bracketed(text: str | None) -> str | None:
    """``"always [madvise] never"`` -> ``"madvise"`` (sysfs marks the current choice)."""
    if not text:
        return None
    for word in text.split():
        if word.startswith("[") and word.endswith("]"):
            return word[1:-1]
    return None


def _turbo(root: Path) -> str | None:
    no_turbo = _read(root, "sys/devices/system/cpu/intel_pstate/no_turbo")
    if no_turbo in ("0", "1"):
        return "off" if no_turbo == "1" else "on"
    boost = _read(root, "sys/devices/system/cpu/cpufreq/boost")  # acpi-cpufreq, amd-pstate
    if boost in ("0", "1"):
        return "on" if boost == "1" else "off"
    return None


def _cpus(root: Path) -> list[int]:
    online = _read(root, "sys/devices/system/cpu/online")
    return parse_cpulist(online) if online else []


def thermal_throttle_count(root: Path = Path("/"), cpus: Iterable[int] | None = None) -> int | None:
    """Thermal-throttle events of every CPU so far (core and package counters), or None
    where the kernel keeps no counter (most VMs)."""
    total, seen = 0, False
    for cpu in _cpus(root) if cpus is None else cpus:
        for rel in ("core_throttle_count", "package_throttle_count"):
            count = _read(root, f"sys/devices/system/cpu/cpu{cpu}/thermal_throttle/{rel}")
            if count and count.isdigit():
                total += int(count)
                seen = True
    return total if seen else None


def cpu_state(root: Path = Path("/"), affinity: Iterable[int] | None = None) -> dict[str, Any]:
    """Governors, clocks, turbo, SMT, isolation, affinity and THP, as the kernel reports them."""
    cpus = _cpus(root)
    governors: dict[str, list[int]] = {}
    cur_mhz: list[float] = []
    max_mhz: list[float] = []
    for cpu in cpus:
        base = f"sys/devices/system/cpu/cpu{cpu}"
        gov = _read(root, f"{base}/cpufreq/scaling_governor")
        if gov:
            governors.setdefault(gov, []).append(cpu)
        for rel, into in (("scaling_cur_freq", cur_mhz), ("cpuinfo_max_freq", max_mhz)):
            khz = _read(root, f"{base}/cpufreq/{rel}")
            if khz and khz.isdigit():
                into.append(int(khz) / 1000)
    smt = _read(root, "sys/devices/system/cpu/smt/active")
    isolated = _read(root, "sys/devices/system/cpu/isolated")
    nohz = _read(root, "sys/devices/system/cpu/nohz_full")
    aff = sorted(affinity) if affinity is not None else sorted(os.sched_getaffinity(0))
    return {
        "online": format_cpulist(cpus) if cpus else None,
        "governors": {g: format_cpulist(c) for g, c in sorted(governors.items())},
        "cur_mhz_min": min(cur_mhz) if cur_mhz else None,
        "cur_mhz_max": max(cur_mhz) if cur_mhz else None,
        "max_mhz": max(max_mhz) if max_mhz else None,
        "turbo": _turbo(root),
        "smt": {"1": "on", "0": "off"}.get(smt or ""),
        "isolated": isolated if isolated else ("" if isolated is not None else None),
        "nohz_full": nohz if nohz and nohz != "(null)" else None,
        "affinity": format_cpulist(aff),
        "thermal_throttle_count": thermal_throttle_count(root, cpus),
        "thp": _bracketed(_read(root, "sys/kernel/mm/transparent_hugepage/enabled")),
        "thp_defrag": _bracketed(_read(root, "sys/kernel/mm/transparent_hugepage/defrag")),
        "aslr": _read(root, "proc/sys/kernel/randomize_va_space"),
    }


def _num(cell: str) -> float | None:
    try:
        return float(cell)
    except ValueError:  # "[N/A]", "[Not Supported]"
        return None


def decode_throttle(mask: int) -> list[str]:
    """The names of the bits set in a ``clocks_event_reasons.active`` mask."""
    return [name for bit, name in THROTTLE_BITS.items() if mask & bit]


def parse_gpu_state(csv_text: str) -> list[dict[str, Any]]:
    """Rows of ``nvidia-smi --query-gpu=GPU_QUERY --format=csv,noheader,nounits`` (nine
    columns, as recorded before the ECC count was queried, are read too)."""
    gpus = []
    for line in csv_text.strip().splitlines():
        cells = [c.strip() for c in line.split(",")]
        if len(cells) not in (9, 10):
            continue
        idx, sm, sm_max, mem, limit, default, draw, temp, reasons = cells[:9]
        ecc = _num(cells[9]) if len(cells) == 10 else None
        try:
            mask = int(reasons, 16) if reasons.lower().startswith("0x") else int(reasons)
        except ValueError:
            mask = None
        gpus.append(
            {
                "index": int(idx) if idx.isdigit() else None,
                "sm_clock_mhz": _num(sm),
                "sm_clock_max_mhz": _num(sm_max),
                "mem_clock_mhz": _num(mem),
                "power_limit_w": _num(limit),
                "default_power_limit_w": _num(default),
                "power_draw_w": _num(draw),
                "temperature_c": _num(temp),
                "throttle_reasons": decode_throttle(mask) if mask is not None else None,
                "ecc_uncorrected": int(ecc) if ecc is not None else None,
            }
        )
    return gpus


def gpu_state() -> list[dict[str, Any]]:
    """Clocks, power and throttle reasons of every NVIDIA GPU (empty without nvidia-smi)."""
    if shutil.which("nvidia-smi") is None:
        return []
    for query in GPU_QUERIES:
        try:
            done = subprocess.run(
                ["nvidia-smi", f"--query-gpu={query}", "--format=csv,noheader,nounits"],
                capture_output=True,
                text=True,
                timeout=10,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            return []
        if done.returncode == 0:
            return parse_gpu_state(done.stdout)
    return []


def system_state(root: Path = Path("/"), *, gpus: bool = True) -> dict[str, Any]:
    """The whole state: ``{"cpu": ..., "gpus": [...]}`` (what a run records at its start)."""
    return {"cpu": cpu_state(root), "gpus": gpu_state() if gpus else []}


def throttle_snapshot(with_gpus: bool, root: Path = Path("/")) -> dict[str, Any]:
    """The cheap part, read before and after each case: CPU throttle counters, GPU reasons
    and uncorrected ECC counts, and (with GPUs) the XID lines of the kernel log."""
    return {
        "thermal_throttle_count": thermal_throttle_count(root),
        "gpus": gpu_state() if with_gpus else [],
        "xid_lines": host_health.kernel_xids() if with_gpus else None,
    }


def machine_advice(state: Mapping[str, Any], *, gpu_run: bool = False) -> list[str]:
    """How this machine is set up for benchmarking, each finding with its fix.

    Said only of what the kernel exposes: a VM without cpufreq gets no governor advice.
    """
    cpu = state.get("cpu") or {}
    out: list[str] = []
    governors = cpu.get("governors") or {}
    slow = sorted(g for g in governors if g != "performance")
    if slow:
        out.append(
            f"CPU governor {', '.join(repr(g) for g in slow)} (not 'performance'): clocks follow "
            "the load; `cpupower frequency-set -g performance`"
        )
    if cpu.get("turbo") == "on":
        out.append(
            "turbo on: the clock depends on temperature and how many cores are busy; disable it "
            "(`echo 1 > /sys/devices/system/cpu/intel_pstate/no_turbo`) or keep it on for every "
            "run you compare"
        )
    if cpu.get("smt") == "on":
        out.append(
            "SMT on: a sibling thread shares the benchmark's core; pin to one thread per core "
            "(`taskset`) or disable SMT (`echo off > /sys/devices/system/cpu/smt/control`)"
        )
    if cpu.get("isolated") == "" and not cpu.get("nohz_full"):
        out.append(
            "no isolated CPUs: the scheduler and interrupts share the benchmark's cores; boot "
            "with `isolcpus=` / `nohz_full=` and pin the run (`taskset -c`)"
        )
    if cpu.get("thp") == "always":
        out.append(
            "transparent huge pages 'always': page faults and khugepaged compaction vary from "
            "run to run; `echo madvise > /sys/kernel/mm/transparent_hugepage/enabled`"
        )
    if gpu_run:
        for g in state.get("gpus") or []:
            limit, default = g.get("power_limit_w"), g.get("default_power_limit_w")
            if limit and default and limit < default * POWER_LIMIT_TOLERANCE:
                out.append(
                    f"GPU {g.get('index')}: power limit {limit:.0f} W below its default "
                    f"{default:.0f} W: results are power-bound; compare at the same limit"
                )
    return out


def case_flags(
    before: Mapping[str, Any], after: Mapping[str, Any], gpu_indices: Sequence[int] | None = None
) -> list[str]:
    """What throttled while one case ran: a result taken so measured the throttle.

    ``gpu_indices``: the GPUs the case used (``None``: every GPU seen).
    """
    out: list[str] = []
    t0, t1 = before.get("thermal_throttle_count"), after.get("thermal_throttle_count")
    if t0 is not None and t1 is not None and t1 > t0:
        out.append(
            f"CPU thermal throttling during the case ({t1 - t0} events): the clock dropped for "
            "heat; check cooling, or compare only runs taken cool"
        )
    seen: dict[int | None, set[str]] = {}
    for snap in (before, after):
        for g in snap.get("gpus") or []:
            if gpu_indices is not None and g.get("index") not in gpu_indices:
                continue
            seen.setdefault(g.get("index"), set()).update(
                r for r in g.get("throttle_reasons") or [] if r in THROTTLING
            )
    for idx, reasons in sorted(seen.items(), key=lambda kv: -1 if kv[0] is None else kv[0]):
        for reason in sorted(reasons):
            out.append(f"GPU {idx} throttled ({reason}): {THROTTLE_FIX[reason]}")
    out += host_health.xid_flags(before.get("xid_lines"), after.get("xid_lines"))
    out += host_health.ecc_flags(before.get("gpus") or [], after.get("gpus") or [], gpu_indices)
    return out


def run_advice(config: Mapping[str, Any]) -> list[str]:
    """The machine advice for a stored run (its config keeps the state read at its start)."""
    state = config.get("system_state")
    if not isinstance(state, Mapping):
        return []  # a run stored before fleetwise recorded it
    return machine_advice(state, gpu_run=bool(state.get("gpus")))
