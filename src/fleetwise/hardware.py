"""Hardware peaks: dense FLOP/s per dtype and memory bandwidth, per device.

Efficiency = measured / peak, so every peak says where it comes from. GPU peaks are
vendor datasheet figures (dense, i.e. *without* 2:4 structured sparsity; where a
datasheet only prints sparse Tensor Core figures they are halved). CPU peaks are
estimates from the core count, the clock and the SIMD flags, and say so
(``estimated=True`` with the arithmetic in ``source``). Any peak can be replaced with
``FLEETWISE_PEAK_FLOPS_<DTYPE>`` (TFLOP/s) or ``FLEETWISE_PEAK_MEMBW`` (GB/s); an
override applies to whichever device is being measured.

Reading of ``/proc`` and ``/sys`` is kept in :meth:`CpuSources.from_system`; everything
else takes text, so tests feed fixed ``cpuinfo`` contents.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from fleetwise.errors import InputError
from fleetwise.models import Peak

FLOPS_UNIT = "TFLOP/s"
MEMBW_UNIT = "GB/s"
DTYPES = ("fp64", "fp32", "tf32", "bf16", "fp16", "fp8")
_ALIASES = {
    "float64": "fp64",
    "double": "fp64",
    "float32": "fp32",
    "float": "fp32",
    "bfloat16": "bf16",
    "float16": "fp16",
    "half": "fp16",
    "float8": "fp8",
    "fp8_e4m3": "fp8",
}
#: The day the GPU figures below were last checked against the named documents.
CHECKED = "2026-11-24"


@dataclass(frozen=True)
class GpuSpec:
    """Datasheet peaks of one GPU model; ``flops`` in dense TFLOP/s, ``membw`` in GB/s."""

    key: str
    pattern: str  # regular expression matched (case-insensitive) against the torch name
    flops: Mapping[str, float]
    membw: float
    source: str
    as_of: str = CHECKED

    def matches(self, device_name: str) -> bool:
        return re.search(self.pattern, device_name, re.IGNORECASE) is not None


# fp64 is the FP64 *Tensor Core* (NVIDIA) / FP64 *matrix* (AMD) rate: that is what
# cuBLAS DGEMM and rocBLAS use, so it is the ceiling of an fp64 GEMM. fp32 is the
# non-tensor rate (torch's fp32 matmul without TF32). Order matters: specific first.
_H100_SXM = {"fp64": 66.9, "fp32": 66.9, "tf32": 494.7, "bf16": 989.4, "fp16": 989.4, "fp8": 1978.9}
_A100 = {"fp64": 19.5, "fp32": 19.5, "tf32": 156.0, "bf16": 312.0, "fp16": 312.0}
_A100_DS = "NVIDIA A100 Tensor Core GPU datasheet"
KNOWN_GPUS: tuple[GpuSpec, ...] = (
    GpuSpec(
        "h100-pcie",
        r"\bH100\b.*\bPCIe\b",
        {"fp64": 51.2, "fp32": 51.2, "tf32": 378.0, "bf16": 756.0, "fp16": 756.0, "fp8": 1513.0},
        2000.0,
        "NVIDIA H100 Tensor Core GPU datasheet, H100 PCIe column; dense figures as in the "
        "NVIDIA H100 Tensor Core GPU Architecture whitepaper",
    ),
    GpuSpec(
        "h100-sxm5",
        r"\bH100\b(?!.*\b(PCIe|NVL)\b)",
        _H100_SXM,
        3350.0,
        "NVIDIA H100 Tensor Core GPU datasheet, H100 SXM column; dense figures as in the "
        "NVIDIA H100 Tensor Core GPU Architecture whitepaper",
    ),
    GpuSpec(
        "h200-sxm",
        r"\bH200\b(?!.*\bNVL\b)",
        _H100_SXM,
        4800.0,
        "NVIDIA H200 Tensor Core GPU datasheet, H200 SXM column (sparse Tensor Core figures "
        "halved; same GH100 compute as H100 SXM5)",
    ),
    GpuSpec(
        "b200",
        r"\bB200\b",
        {"fp64": 37.0, "fp32": 75.0, "tf32": 1100.0, "bf16": 2250.0, "fp16": 2250.0, "fp8": 4500.0},
        7700.0,
        "NVIDIA HGX B200 specifications, per-GPU figures (1,000 W; sparse Tensor Core "
        "figures halved; tf32 as printed, 2.2 PFLOPS sparse)",
    ),
    GpuSpec(
        "a100-sxm4-80gb",
        r"\bA100\b.*\bSXM.*\b80\s*GB",
        _A100,
        2039.0,
        f"{_A100_DS}, A100 80GB SXM column",
    ),
    GpuSpec(
        "a100-sxm4-40gb",
        r"\bA100\b.*\bSXM.*\b40\s*GB",
        _A100,
        1555.0,
        f"{_A100_DS}, A100 40GB SXM column",
    ),
    GpuSpec(
        "a100-pcie-80gb",
        r"\bA100\b(.*\b80\s*GB.*PCIe|.*PCIe.*\b80\s*GB)",
        _A100,
        1935.0,
        f"{_A100_DS}, A100 80GB PCIe column",
    ),
    GpuSpec(
        "a100-pcie-40gb",
        r"\bA100\b(.*\b40\s*GB.*PCIe|.*PCIe.*\b40\s*GB)",
        _A100,
        1555.0,
        f"{_A100_DS}, A100 40GB PCIe column",
    ),
    GpuSpec(
        "l40s",
        r"\bL40S\b",  # the datasheet gives no FP64 figure, so none is claimed
        {"fp32": 91.6, "tf32": 183.0, "bf16": 362.05, "fp16": 362.05, "fp8": 733.0},
        864.0,
        "NVIDIA L40S GPU datasheet (figures as printed; its bf16 is 1.2% under half its fp8)",
    ),
    GpuSpec(
        "mi300x",
        r"\bMI300X\b",
        {
            "fp64": 163.4,
            "fp32": 163.4,
            "tf32": 653.7,
            "bf16": 1307.4,
            "fp16": 1307.4,
            "fp8": 2614.9,
        },
        5300.0,
        "AMD Instinct MI300X accelerator datasheet (peak theoretical, dense; fp64/fp32 are "
        "the matrix rates)",
    ),
)


def normalize_dtype(dtype: str) -> str:
    """``bfloat16`` -> ``bf16`` etc.; unknown names pass through lower-cased."""
    d = dtype.strip().lower()
    return _ALIASES.get(d, d)


def gpu_spec(name: str) -> GpuSpec | None:
    """The datasheet entry for a device name as ``torch.cuda.get_device_name()`` gives it."""
    return next((spec for spec in KNOWN_GPUS if spec.matches(name)), None)


# --- CPU estimates -------------------------------------------------------------------


@dataclass(frozen=True)
class CpuSources:
    """The raw texts a CPU estimate is computed from (fixed strings in tests)."""

    cpuinfo: str
    max_freq_khz: str | None = None  # /sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq
    dmidecode: str | None = None  # output of ``dmidecode -t 17``, when readable
    usable: frozenset[int] | None = None  # logical CPUs this process may run on

    @classmethod
    def from_system(cls, *, with_dmidecode: bool = False) -> CpuSources:
        return cls(
            cpuinfo=_read(Path("/proc/cpuinfo")) or "",
            max_freq_khz=_read(Path("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq")),
            dmidecode=_dmidecode() if with_dmidecode else None,
            usable=frozenset(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        )


@dataclass(frozen=True)
class CpuInfo:
    vendor: str
    model_name: str
    family: int | None
    flags: frozenset[str]
    mhz: float | None
    cores: int  # physical cores among the usable logical CPUs (SMT siblings share FMA units)
    sockets: int
    logical: int = 1  # usable logical CPUs


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except OSError:
        return None


def _dmidecode() -> str | None:
    exe = shutil.which("dmidecode")
    if exe is None:
        return None
    try:
        proc = subprocess.run(  # fixed argv, no shell
            [exe, "-t", "17"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout if proc.returncode == 0 and "Memory Device" in proc.stdout else None


def parse_cpuinfo(text: str, usable: Iterable[int] | None = None) -> CpuInfo:
    """Parse ``/proc/cpuinfo``, counting only the logical CPUs in ``usable``."""
    blocks = []
    for chunk in re.split(r"\n\s*\n", text.strip()):
        fields = {}
        for line in chunk.splitlines():
            key, sep, value = line.partition(":")
            if sep:
                fields[key.strip()] = value.strip()
        if fields:
            blocks.append(fields)
    wanted = set(usable) if usable is not None else None
    cpus = [b for b in blocks if "processor" in b and b["processor"].isdigit()]
    if wanted is not None:
        cpus = [b for b in cpus if int(b["processor"]) in wanted] or cpus
    first = cpus[0] if cpus else (blocks[0] if blocks else {})
    if cpus and all("core id" in b and "physical id" in b for b in cpus):
        cores = len({(b["physical id"], b["core id"]) for b in cpus})
        sockets = len({b["physical id"] for b in cpus})
    else:
        cores, sockets = max(len(cpus), 1), 1
    family = first.get("cpu family", "")
    mhz = first.get("cpu MHz")
    return CpuInfo(
        vendor=first.get("vendor_id", ""),
        model_name=first.get("model name", ""),
        family=int(family) if family.isdigit() else None,
        flags=frozenset((first.get("flags") or first.get("Features") or "").split()),
        mhz=float(mhz) if mhz else None,
        cores=cores,
        sockets=sockets,
        logical=max(len(cpus), 1),
    )


def cpu_clock_ghz(info: CpuInfo, max_freq_khz: str | None) -> tuple[float, str] | None:
    """Clock for the estimate, and which source gave it (best first)."""
    if max_freq_khz and max_freq_khz.strip().isdigit():
        return int(max_freq_khz.strip()) / 1e6, "cpuinfo_max_freq (max turbo)"
    found = re.search(r"@\s*([\d.]+)\s*GHz", info.model_name, re.IGNORECASE)
    if found:
        return float(found.group(1)), "the model name (base clock; turbo can run faster)"
    if info.mhz:
        return info.mhz / 1000, "cpu MHz (current or nominal clock; turbo can run faster)"
    return None


def cpu_flops_per_cycle(info: CpuInfo, dtype: str) -> tuple[float, str] | None:
    """Peak FLOP per cycle per core for ``dtype`` from the SIMD flags (FMA = 2 FLOP)."""
    f = info.flags
    zen4 = info.vendor == "AuthenticAMD" and info.family == 25
    if "avx512f" in f:
        # Zen 4 executes 512-bit operations as two 256-bit halves (Zen 5 does not).
        fp32, isa = (32.0, "AVX-512 on 256-bit units") if zen4 else (64.0, "AVX-512")
    elif "avx2" in f and "fma" in f:
        fp32, isa = 32.0, "AVX2+FMA"
    elif "avx" in f:
        fp32, isa = 16.0, "AVX, separate add and multiply"  # 8 lanes x (1 add + 1 mul)
    elif "sse2" in f:
        fp32, isa = 8.0, "SSE2, separate add and multiply"
    elif "asimd" in f:
        fp32, isa = 16.0, "NEON, assumed 2x128-bit FMA pipes"
    else:
        return None
    units = "" if "separate" in isa or "assumed" in isa else ", 2 FMA units"
    basis = f"{isa}{units}"
    if dtype == "fp32":
        return fp32, basis
    if dtype == "fp64":
        return fp32 / 2, basis
    if dtype in ("bf16", "fp16"):
        amx = "amx_bf16" if dtype == "bf16" else "amx_fp16"
        vec = "avx512_bf16" if dtype == "bf16" else "avx512_fp16"
        if amx in f:
            # Intel: one AMX TMUL per core does 1024 bf16/fp16 FLOP per cycle.
            return 1024.0, f"AMX {dtype.upper()}"
        if vec in f:
            return fp32 * 2, f"{basis}, {vec} (2 products per fp32 lane)"
        return fp32, f"{basis}; no native {dtype} arithmetic, so the fp32 rate"
    return None  # tf32 and fp8 have no CPU implementation


@dataclass(frozen=True)
class _Platform:
    name: str
    channels: int
    mts: int
    ddr: str


def cpu_memory_platform(info: CpuInfo) -> _Platform:
    """The memory system of the CPU's platform class, inferred from model name and flags."""
    f, model = info.flags, info.model_name
    if "EPYC" in model:
        if (info.family or 0) >= 26:
            return _Platform("AMD EPYC Turin class", 12, 6000, "DDR5")
        if info.family == 25 and "avx512f" in f:
            return _Platform("AMD EPYC Genoa class", 12, 4800, "DDR5")
        return _Platform("AMD EPYC Rome/Milan class", 8, 3200, "DDR4")
    if "amx_tile" in f:
        return _Platform("Sapphire Rapids class, from amx_tile", 8, 4800, "DDR5")
    if "Xeon" in model and "avx512f" in f:
        if "avx512ifma" in f:
            return _Platform("Ice Lake SP class, from AVX-512 without AMX", 8, 3200, "DDR4")
        return _Platform("Skylake/Cascade Lake SP class, AVX-512 without IFMA", 6, 2933, "DDR4")
    return _Platform("platform unknown, dual-channel desktop assumed", 2, 3200, "DDR4")


def cpu_llc_bytes(size_text: str | None = None) -> int | None:
    """Last-level cache size from ``/sys/.../cpu0/cache/index3/size`` text ("32768K")."""
    text = (
        size_text or _read(Path("/sys/devices/system/cpu/cpu0/cache/index3/size")) or ""
    ).strip()
    m = re.fullmatch(r"(\d+)\s*([KMG]?)", text)
    if m is None:
        return None
    return int(m.group(1)) * {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}[m.group(2)]


def parse_dmidecode(text: str) -> tuple[int, int] | None:
    """(populated DIMMs, slowest speed in MT/s) from ``dmidecode -t 17``, or None."""
    speeds = []
    for block in text.split("Memory Device")[1:]:
        if re.search(r"^\s*Size:\s*(No Module Installed|Not Installed|0)", block, re.M):
            continue
        m = re.search(r"Configured (?:Memory|Clock) Speed:\s*(\d+)\s*MT/s", block) or re.search(
            r"^\s*Speed:\s*(\d+)\s*MT/s", block, re.M
        )
        if m:
            speeds.append(int(m.group(1)))
    return (len(speeds), min(speeds)) if speeds else None


def cpu_peak(kind: str, dtype: str | None = None, sources: CpuSources | None = None) -> Peak | None:
    """Estimated CPU peak: FLOP/s for ``dtype`` or memory bandwidth, with its arithmetic."""
    src = sources or CpuSources.from_system(with_dmidecode=kind == "membw")
    info = parse_cpuinfo(src.cpuinfo, src.usable)
    if kind == "membw":
        platform = cpu_memory_platform(info)
        dimms = parse_dmidecode(src.dmidecode) if src.dmidecode else None
        if dimms is not None:
            # Counting populated DIMMs as channels assumes one DIMM per channel; cap by the
            # platform's channel count in case of two DIMMs per channel.
            limit = platform.channels * info.sockets
            channels = min(dimms[0], limit) if "unknown" not in platform.name else dimms[0]
            value = channels * dimms[1] * 8 / 1000
            basis = f"{channels} channels x {dimms[1]} MT/s x 8 B (dmidecode -t 17)"
        else:
            value = info.sockets * platform.channels * platform.mts * 8 / 1000
            sockets = f"{info.sockets} socket{'s' if info.sockets > 1 else ''}"
            basis = (
                f"{sockets} x {platform.channels} channels x {platform.ddr}-{platform.mts} x 8 B "
                f"({platform.name})"
            )
        return Peak(
            value=round(value, 1), unit=MEMBW_UNIT, source=f"estimated: {basis}", estimated=True
        )
    per_cycle = cpu_flops_per_cycle(info, normalize_dtype(dtype or "fp32"))
    clock = cpu_clock_ghz(info, src.max_freq_khz)
    if per_cycle is None or clock is None:
        return None
    tflops = info.cores * clock[0] * per_cycle[0] / 1000
    basis = (
        f"estimated: {info.cores} cores x {clock[0]:.2f} GHz x {per_cycle[0]:g} FLOP/cycle "
        f"({per_cycle[1]}); clock from {clock[1]}"
    )
    return Peak(value=tflops, unit=FLOPS_UNIT, source=basis, estimated=True)


# --- the public entry point -------------------------------------------------------------


def _override(kind: str, dtype: str | None) -> Peak | None:
    if kind == "membw":
        var, unit = "FLEETWISE_PEAK_MEMBW", MEMBW_UNIT
    else:
        var, unit = f"FLEETWISE_PEAK_FLOPS_{(dtype or 'fp32').upper()}", FLOPS_UNIT
    raw = os.environ.get(var)
    if raw is None or not raw.strip():
        return None
    try:
        value = float(raw)
    except ValueError:
        raise InputError(f"{var}={raw!r} is not a number ({unit})") from None
    if value <= 0:
        raise InputError(f"{var}={raw!r} must be positive ({unit})")
    return Peak(value=value, unit=unit, source=f"override: {var}")


def _cuda_name(device: str) -> str | None:
    try:
        import torch
    except ImportError:
        return None
    if not torch.cuda.is_available():
        return None
    index = int(device.partition(":")[2] or torch.cuda.current_device())
    return str(torch.cuda.get_device_name(index))


def peak_for(device: str, kind: str, dtype: str | None = None) -> Peak | None:
    """Peak of ``device`` (``cpu``, ``cuda`` or ``cuda:N``) for ``kind``: ``"flops"``
    (TFLOP/s, per ``dtype``) or ``"membw"`` (GB/s); None when no figure is known."""
    if kind not in ("flops", "membw"):
        raise ValueError(f"peak kind must be 'flops' or 'membw', not {kind!r}")
    d = normalize_dtype(dtype or "fp32") if kind == "flops" else None
    override = _override(kind, d)
    if override is not None:
        return override
    if device == "cpu":
        return cpu_peak(kind, d)
    if not device.startswith("cuda"):
        return None
    name = _cuda_name(device)
    spec = gpu_spec(name) if name else None
    if spec is None:
        return None
    value = spec.membw if kind == "membw" else spec.flops.get(d or "fp32")
    if value is None:
        return None
    return Peak(
        value=value,
        unit=MEMBW_UNIT if kind == "membw" else FLOPS_UNIT,
        source=f"{spec.source} (checked {spec.as_of}; device {name!r} matched {spec.key})",
    )
