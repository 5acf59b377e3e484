"""Capture the environment a measurement was taken in.

The fields follow what MLPerf's system description and pyperf's metadata record (CPU,
memory, accelerators, OS, software versions, relevant environment variables), plus what
explains noise: load average, CPU steal and the frequency governor. ``fingerprint_hash``
covers the stable fields only, so two runs on the same machine and software share one
stored environment while load and steal stay attached to each run.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fleetwise.collect.system_state import system_state

#: Environment variables that change what a benchmark measures.
ENV_VARS = (
    "CUDA_VISIBLE_DEVICES",
    "HIP_VISIBLE_DEVICES",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "TORCH_CUDNN_V8_API_ENABLED",
    "PYTORCH_CUDA_ALLOC_CONF",
)
ENV_PREFIXES = ("NCCL_", "FLEETWISE_PEAK_")
#: Fields that change from moment to moment; excluded from the hash.
VOLATILE = ("load", "captured_at", "git", "system")
#: Stable-looking fields that still vary without meaning: the current clock (it follows
#: load) and where the interpreter happens to live.
UNHASHED = re.compile(r"^(cpu\.mhz|python\.executable|gpus\[\d+\]\.sm_clock_mhz)$")
#: CPU flags worth keeping (the full list is long and says little more).
KEY_FLAGS = (
    "avx",
    "avx2",
    "fma",
    "avx512f",
    "avx512_bf16",
    "avx512_fp16",
    "avx512_vnni",
    "amx_tile",
    "amx_bf16",
    "amx_int8",
    "sve",
    "asimd",
    "hypervisor",
)


def _run(cmd: list[str], timeout: float = 10.0) -> str | None:
    if shutil.which(cmd[0]) is None:
        return None
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout if out.returncode == 0 else None


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text()
    except OSError:
        return None


def parse_cpuinfo(text: str) -> dict[str, Any]:
    """Model, logical CPUs, MHz and key flags from ``/proc/cpuinfo`` text."""
    fields: dict[str, str] = {}
    logical = 0
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if not sep:
            continue
        key = key.strip()
        if key == "processor":
            logical += 1
        fields.setdefault(key, value.strip())
    flags = set((fields.get("flags") or fields.get("Features") or "").split())
    mhz = fields.get("cpu MHz")
    return {
        "model": fields.get("model name") or fields.get("Model") or platform.processor(),
        "logical_cpus": logical,
        "mhz": float(mhz) if mhz else None,
        "flags": [f for f in KEY_FLAGS if f in flags],
    }


def cpu_info() -> dict[str, Any]:
    info = parse_cpuinfo(_read("/proc/cpuinfo") or "")
    info["cores"] = len(os.sched_getaffinity(0))
    info["logical_cpus"] = info["logical_cpus"] or os.cpu_count() or 0
    info["governor"] = (
        _read("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor") or ""
    ).strip()
    max_khz = _read("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq")
    info["max_mhz"] = int(max_khz) / 1000 if max_khz and max_khz.strip().isdigit() else None
    info["arch"] = platform.machine()
    return info


def memory_info() -> dict[str, Any]:
    text = _read("/proc/meminfo") or ""
    m = re.search(r"MemTotal:\s+(\d+) kB", text)
    return {"total_bytes": int(m.group(1)) * 1024 if m else 0}


def parse_nvidia_smi(csv_text: str) -> list[dict[str, Any]]:
    """Rows of ``nvidia-smi --query-gpu=... --format=csv,noheader,nounits``."""
    gpus = []
    for line in csv_text.strip().splitlines():
        cells = [c.strip() for c in line.split(",")]
        if len(cells) < 7:
            continue
        name, mem, driver, sm_max, mem_max, sm_now, persist = cells[:7]
        gpus.append(
            {
                "name": name,
                "memory_mib": _num(mem),
                "driver": driver,
                "sm_clock_max_mhz": _num(sm_max),
                "mem_clock_max_mhz": _num(mem_max),
                "sm_clock_mhz": _num(sm_now),
                "persistence_mode": persist,
            }
        )
    return gpus


def _num(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def gpu_info() -> dict[str, Any]:
    """GPUs from nvidia-smi when present, else from torch (which also covers ROCm)."""
    query = (
        "name,memory.total,driver_version,clocks.max.sm,clocks.max.mem,clocks.sm,persistence_mode"
    )
    out = _run(["nvidia-smi", f"--query-gpu={query}", "--format=csv,noheader,nounits"])
    gpus = parse_nvidia_smi(out) if out else []
    cuda = None
    header = _run(["nvidia-smi"])
    if header:
        m = re.search(r"CUDA Version:\s*([\d.]+)", header)
        cuda = m.group(1) if m else None
    if not gpus:
        try:
            import torch

            if torch.cuda.is_available():
                for i in range(torch.cuda.device_count()):
                    props = torch.cuda.get_device_properties(i)
                    gpus.append({"name": props.name, "memory_mib": props.total_memory / 2**20})
        except ImportError:
            pass
    return {"gpus": gpus, "cuda_driver_version": cuda}


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def library_info() -> dict[str, Any]:
    libs: dict[str, Any] = {
        "fleetwise": _version("fleetwise"),
        "numpy": _version("numpy"),
        "torch": _version("torch"),
    }
    try:
        import numpy as np

        cfg = np.show_config(mode="dicts")
        blas = cfg.get("Build Dependencies", {}).get("blas", {})
        libs["numpy_blas"] = f"{blas.get('name', '?')} {blas.get('version', '')}".strip()
    except (ImportError, TypeError, AttributeError):
        libs["numpy_blas"] = None
    if libs["torch"]:
        try:
            import torch

            libs["torch_cuda"] = torch.version.cuda
            libs["torch_hip"] = getattr(torch.version, "hip", None)
            libs["torch_blas"] = _torch_blas(torch.__config__.show())
            cuda = torch.cuda.is_available()
            libs["cudnn"] = torch.backends.cudnn.version() if cuda else None  # type: ignore[no-untyped-call]
            libs["torch_threads"] = torch.get_num_threads()
        except ImportError:
            pass
    fio = _run(["fio", "--version"])
    libs["fio"] = fio.strip() if fio else None
    return libs


def _torch_blas(config: str) -> str | None:
    m = re.search(r"BLAS_INFO=(\w+)", config)
    return m.group(1) if m else None


def os_info() -> dict[str, Any]:
    pretty = None
    for line in (_read("/etc/os-release") or "").splitlines():
        if line.startswith("PRETTY_NAME="):
            pretty = line.split("=", 1)[1].strip('"')
    return {"name": pretty or platform.system(), "kernel": platform.release()}


def git_info(cwd: Path | None = None) -> dict[str, Any]:
    where = str(cwd or Path.cwd())
    sha = _run(["git", "-C", where, "rev-parse", "HEAD"])
    if sha is None:
        return {"sha": None, "dirty": None}
    status = _run(["git", "-C", where, "status", "--porcelain", "--untracked-files=no"])
    return {"sha": sha.strip(), "dirty": bool(status and status.strip())}


def env_vars(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    env = os.environ if environ is None else environ
    keep = {k: env[k] for k in ENV_VARS if k in env}
    keep.update({k: v for k, v in env.items() if k.startswith(ENV_PREFIXES)})
    return dict(sorted(keep.items()))


def cpu_times() -> list[int]:
    """Aggregate CPU jiffies from ``/proc/stat`` (user nice system idle iowait irq softirq
    steal ...), for steal measured over an interval."""
    first = (_read("/proc/stat") or "cpu 0").splitlines()[0].split()
    return [int(x) for x in first[1:]]


def steal_pct(before: list[int], after: list[int]) -> float | None:
    """Percentage of CPU time stolen by the hypervisor between two ``cpu_times``."""
    if len(before) < 8 or len(after) < 8:
        return None
    # guest time is already counted in user; count the first 8 fields only.
    total = sum(after[:8]) - sum(before[:8])
    if total <= 0:
        return 0.0
    return 100.0 * (after[7] - before[7]) / total


def load_state(window_s: float = 0.2) -> dict[str, Any]:
    """Load average and CPU steal over a short window: the noise state right now."""
    before = cpu_times()
    time.sleep(window_s)
    after = cpu_times()
    load1, load5, load15 = os.getloadavg()
    return {
        "loadavg_1m": load1,
        "loadavg_5m": load5,
        "loadavg_15m": load15,
        "steal_pct": steal_pct(before, after),
        "cpu_times": after,
        "at": datetime.now(UTC).isoformat(),
    }


def fingerprint(cwd: Path | None = None) -> dict[str, Any]:
    """The full environment document (stable fields plus the load state at capture)."""
    gpu = gpu_info()
    return {
        "schema_version": 1,
        "host": socket.gethostname(),
        "cpu": cpu_info(),
        "memory": memory_info(),
        "gpus": gpu["gpus"],
        "cuda_driver_version": gpu["cuda_driver_version"],
        "os": os_info(),
        "python": {
            "version": platform.python_version(),
            "implementation": platform.python_implementation(),
            "executable": sys.executable,
        },
        "libraries": library_info(),
        "env": env_vars(),
        "git": git_info(cwd),
        "load": load_state(),
        # Tuning and throttle state (collect/system_state.py): recorded with every run and
        # judged by machine_advice, but kept out of the hash so that, say, a governor
        # change shows as advice on the run rather than a new environment.
        "system": system_state(gpus=bool(gpu["gpus"])),
        "captured_at": datetime.now(UTC).isoformat(),
    }


def fingerprint_hash(fp: Mapping[str, Any]) -> str:
    """SHA-256 over the stable fields (load, time, git state and clocks excluded)."""
    stable = {k: v for k, v in flatten(fp).items() if k.split(".")[0] not in VOLATILE}
    stable = {k: v for k, v in stable.items() if not UNHASHED.match(k)}
    blob = json.dumps(stable, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def hardware_class(fp: Mapping[str, Any]) -> str:
    """A short label of the hardware, for grouping series: ``2x Xeon / 0 GPU``."""
    cpu = fp.get("cpu", {})
    gpus = fp.get("gpus", [])
    gpu = f"{len(gpus)}x {gpus[0]['name']}" if gpus else "no GPU"
    return f"{cpu.get('cores', '?')} cores {cpu.get('model', '?')} / {gpu}"


def flatten(doc: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"cpu": {"model": x}}`` -> ``{"cpu.model": x}``, for diffs of two fingerprints."""
    out: dict[str, Any] = {}
    for key, value in doc.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, name + "."))
        elif isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
            for i, item in enumerate(value):
                out.update(flatten(item, f"{name}[{i}]."))
        else:
            out[name] = value
    return out


def differing_fields(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Stable fingerprint fields whose values differ between two environments."""
    fa = {k: v for k, v in flatten(a).items() if k.split(".")[0] not in VOLATILE}
    fb = {k: v for k, v in flatten(b).items() if k.split(".")[0] not in VOLATILE}
    keys = sorted(set(fa) | set(fb))
    return {k: (fa.get(k), fb.get(k)) for k in keys if fa.get(k) != fb.get(k)}
