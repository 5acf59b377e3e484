"""Hardware peaks: datasheet lookups by real torch device names, CPU estimates from fixed
``/proc/cpuinfo`` text, and the FLEETWISE_PEAK_* overrides."""

from __future__ import annotations

import re

import pytest

from fleetwise import hardware
from fleetwise.errors import InputError
from fleetwise.hardware import CpuSources, cpu_peak, gpu_spec, parse_cpuinfo, peak_for

# (name as torch.cuda.get_device_name() reports it, key, bf16, fp32, tf32, membw GB/s)
REAL_NAMES = [
    ("NVIDIA H100 80GB HBM3", "h100-sxm5", 989.4, 66.9, 494.7, 3350.0),
    ("NVIDIA H100 PCIe", "h100-pcie", 756.0, 51.2, 378.0, 2000.0),
    ("NVIDIA H200", "h200-sxm", 989.4, 66.9, 494.7, 4800.0),
    ("NVIDIA B200", "b200", 2250.0, 75.0, 1100.0, 7700.0),
    ("NVIDIA A100-SXM4-80GB", "a100-sxm4-80gb", 312.0, 19.5, 156.0, 2039.0),
    ("NVIDIA A100-SXM4-40GB", "a100-sxm4-40gb", 312.0, 19.5, 156.0, 1555.0),
    ("NVIDIA A100 80GB PCIe", "a100-pcie-80gb", 312.0, 19.5, 156.0, 1935.0),
    ("NVIDIA A100-PCIE-40GB", "a100-pcie-40gb", 312.0, 19.5, 156.0, 1555.0),
    ("NVIDIA L40S", "l40s", 362.05, 91.6, 183.0, 864.0),
    ("AMD Instinct MI300X", "mi300x", 1307.4, 163.4, 653.7, 5300.0),
]


@pytest.mark.parametrize(("name", "key", "bf16", "fp32", "tf32", "membw"), REAL_NAMES)
def test_gpu_lookup_by_torch_name(
    name: str, key: str, bf16: float, fp32: float, tf32: float, membw: float
) -> None:
    spec = gpu_spec(name)
    assert spec is not None and spec.key == key
    assert spec.flops["bf16"] == bf16
    assert spec.flops["fp32"] == fp32
    assert spec.flops["tf32"] == tf32
    assert spec.membw == membw


@pytest.mark.parametrize(
    "name",
    [
        "NVIDIA H100 NVL",  # different clocks and memory: not the SXM entry
        "NVIDIA H200 NVL",
        "NVIDIA GH200 480GB",
        "NVIDIA GB200",
        "NVIDIA L40",
        "NVIDIA GeForce RTX 4090",
        "AMD Instinct MI300A",
        "Tesla V100-SXM2-16GB",
    ],
)
def test_unknown_gpu_has_no_spec(name: str) -> None:
    assert gpu_spec(name) is None


def test_every_entry_is_sourced_dated_and_dense() -> None:
    for spec in hardware.KNOWN_GPUS:
        assert spec.source and re.fullmatch(r"\d{4}-\d{2}-\d{2}", spec.as_of)
        assert set(spec.flops) <= set(hardware.DTYPES)
        assert spec.flops["fp16"] == spec.flops["bf16"]
        # Dense tensor-core ratios: tf32 is half of bf16, fp8 twice, within the datasheets'
        # rounding (HGX B200 prints TF32 as 2.2 PFLOPS sparse for 2.25; the L40S sheet's
        # 362.05 bf16 is 1.2% under half its 733 fp8). A sparse figure would be 2x off.
        assert spec.flops["tf32"] == pytest.approx(spec.flops["bf16"] / 2, rel=0.025)
        if "fp8" in spec.flops:
            assert spec.flops["fp8"] == pytest.approx(spec.flops["bf16"] * 2, rel=0.025)
    assert "fp64" not in gpu_spec("NVIDIA L40S").flops  # type: ignore[union-attr]


def test_peak_for_cuda_uses_the_device_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hardware, "_cuda_name", lambda device: "NVIDIA H100 80GB HBM3")
    peak = peak_for("cuda:0", "flops", "bfloat16")
    assert peak is not None and peak.value == 989.4 and peak.unit == "TFLOP/s"
    assert not peak.estimated and "H100" in peak.source and "checked" in peak.source
    bw = peak_for("cuda", "membw")
    assert bw is not None and bw.value == 3350.0 and bw.unit == "GB/s"
    monkeypatch.setattr(hardware, "_cuda_name", lambda device: "NVIDIA L40S")
    assert peak_for("cuda", "flops", "fp64") is None  # no datasheet figure, no claim


def test_peak_for_unknown_device_or_gpu_is_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hardware, "_cuda_name", lambda device: "NVIDIA GeForce GTX 1080")
    assert peak_for("cuda", "flops", "fp32") is None
    assert peak_for("mps", "flops", "fp32") is None
    with pytest.raises(ValueError, match="kind"):
        peak_for("cpu", "iops")


SPR_TWO_CORES = """\
processor\t: 0
vendor_id\t: GenuineIntel
cpu family\t: 6
model name\t: Intel(R) Xeon(R) Platinum 8480+ @ 2.60GHz
physical id\t: 0
core id\t\t: 0
cpu MHz\t\t: 1900.000
flags\t\t: fpu sse2 avx fma avx2 avx512f avx512ifma avx512_bf16 avx512_fp16 amx_bf16 amx_tile

processor\t: 1
vendor_id\t: GenuineIntel
cpu family\t: 6
model name\t: Intel(R) Xeon(R) Platinum 8480+ @ 2.60GHz
physical id\t: 0
core id\t\t: 0
cpu MHz\t\t: 1900.000
flags\t\t: fpu sse2 avx fma avx2 avx512f avx512ifma avx512_bf16 avx512_fp16 amx_bf16 amx_tile

processor\t: 2
vendor_id\t: GenuineIntel
cpu family\t: 6
model name\t: Intel(R) Xeon(R) Platinum 8480+ @ 2.60GHz
physical id\t: 0
core id\t\t: 1
cpu MHz\t\t: 1900.000
flags\t\t: fpu sse2 avx fma avx2 avx512f avx512ifma avx512_bf16 avx512_fp16 amx_bf16 amx_tile
"""


def _cpuinfo(
    model: str,
    flags: str,
    *,
    vendor: str = "GenuineIntel",
    family: int = 6,
    sockets: int = 1,
    cores: int = 2,
) -> str:
    blocks = []
    for s in range(sockets):
        for c in range(cores):
            blocks.append(
                f"processor\t: {s * cores + c}\nvendor_id\t: {vendor}\ncpu family\t: {family}\n"
                f"model name\t: {model}\nphysical id\t: {s}\ncore id\t\t: {c}\n"
                f"cpu MHz\t\t: 3000.000\nflags\t\t: {flags}\n"
            )
    return "\n".join(blocks)


def test_parse_cpuinfo_counts_physical_cores_of_usable_cpus() -> None:
    info = parse_cpuinfo(SPR_TWO_CORES)
    assert (info.cores, info.sockets, info.logical) == (2, 1, 3)  # cpus 0 and 1 are SMT siblings
    assert parse_cpuinfo(SPR_TWO_CORES, usable={0, 1}).cores == 1
    assert "amx_bf16" in info.flags and info.family == 6 and info.mhz == 1900.0


def test_cpu_flops_estimate_from_fixed_cpuinfo() -> None:
    src = CpuSources(cpuinfo=SPR_TWO_CORES)
    fp32 = cpu_peak("flops", "fp32", src)
    assert fp32 is not None and fp32.estimated and fp32.unit == "TFLOP/s"
    assert fp32.value == pytest.approx(2 * 2.6 * 64 / 1000)  # 2 cores x 16 lanes x FMA x 2 units
    assert "2 cores x 2.60 GHz x 64 FLOP/cycle (AVX-512, 2 FMA units)" in fp32.source
    assert "model name" in fp32.source
    fp64 = cpu_peak("flops", "fp64", src)
    assert fp64 is not None and fp64.value == pytest.approx(fp32.value / 2)
    bf16 = cpu_peak("flops", "bf16", src)
    assert bf16 is not None and bf16.value == pytest.approx(2 * 2.6 * 1024 / 1000)
    assert "AMX" in bf16.source
    fp16 = cpu_peak("flops", "fp16", src)  # avx512_fp16 but no amx_fp16
    assert fp16 is not None and fp16.value == pytest.approx(2 * fp32.value)
    assert cpu_peak("flops", "tf32", src) is None
    assert cpu_peak("flops", "fp8", src) is None


def test_cpu_clock_prefers_max_freq_then_model_name_then_cpu_mhz() -> None:
    with_max = cpu_peak("flops", "fp32", CpuSources(SPR_TWO_CORES, max_freq_khz="3800000\n"))
    assert with_max is not None and with_max.value == pytest.approx(2 * 3.8 * 64 / 1000)
    assert "cpuinfo_max_freq" in with_max.source
    no_at = SPR_TWO_CORES.replace(" @ 2.60GHz", "")
    from_mhz = cpu_peak("flops", "fp32", CpuSources(no_at))
    assert from_mhz is not None and from_mhz.value == pytest.approx(2 * 1.9 * 64 / 1000)
    assert "cpu MHz" in from_mhz.source


def test_cpu_simd_classes() -> None:
    desktop = CpuSources(_cpuinfo("Intel(R) Core(TM) i7-9700K CPU @ 3.60GHz", "sse2 avx fma avx2"))
    p = cpu_peak("flops", "bf16", desktop)  # no native bf16: the fp32 rate
    assert p is not None and p.value == pytest.approx(2 * 3.6 * 32 / 1000)
    assert "AVX2+FMA" in p.source and "fp32 rate" in p.source
    zen4 = _cpuinfo(
        "AMD EPYC 9654 96-Core Processor",
        "avx2 fma avx512f avx512_bf16",
        vendor="AuthenticAMD",
        family=25,
    )
    p = cpu_peak("flops", "fp32", CpuSources(zen4))
    assert p is not None and "32 FLOP/cycle" in p.source  # 512-bit ops on 256-bit units


def test_cpu_membw_platform_estimates() -> None:
    spr = cpu_peak("membw", sources=CpuSources(SPR_TWO_CORES))
    assert spr is not None and spr.value == 307.2 and spr.estimated and spr.unit == "GB/s"
    assert "Sapphire Rapids" in spr.source and "8 channels x DDR5-4800" in spr.source
    icx = _cpuinfo("Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz", "avx2 fma avx512f avx512ifma")
    assert cpu_peak("membw", sources=CpuSources(icx)).value == 204.8  # type: ignore[union-attr]
    genoa = _cpuinfo(
        "AMD EPYC 9654 96-Core Processor",
        "avx2 fma avx512f",
        vendor="AuthenticAMD",
        family=25,
        sockets=2,
    )
    p = cpu_peak("membw", sources=CpuSources(genoa))
    assert p is not None and p.value == pytest.approx(2 * 460.8) and "2 sockets" in p.source
    desk = _cpuinfo("Intel(R) Core(TM) i7-9700K CPU @ 3.60GHz", "avx2 fma")
    assert cpu_peak("membw", sources=CpuSources(desk)).value == 51.2  # type: ignore[union-attr]


DMIDECODE = """\
# dmidecode 3.4
Handle 0x0040, DMI type 17, 92 bytes
Memory Device
\tSize: 32 GB
\tSpeed: 4800 MT/s
\tConfigured Memory Speed: 4400 MT/s

Handle 0x0041, DMI type 17, 92 bytes
Memory Device
\tSize: No Module Installed
\tSpeed: Unknown
"""


def test_cpu_membw_from_dmidecode() -> None:
    text = DMIDECODE * 12  # 12 populated DIMMs on an 8-channel platform
    assert hardware.parse_dmidecode(DMIDECODE) == (1, 4400)
    p = cpu_peak("membw", sources=CpuSources(SPR_TWO_CORES, dmidecode=text))
    assert p is not None and p.estimated
    assert p.value == pytest.approx(8 * 4400 * 8 / 1000)  # capped at the platform's 8 channels
    assert "dmidecode" in p.source


def test_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLEETWISE_PEAK_FLOPS_BF16", "123.5")
    monkeypatch.setenv("FLEETWISE_PEAK_MEMBW", "400")
    p = peak_for("cpu", "flops", "bfloat16")
    assert p is not None and p.value == 123.5 and p.unit == "TFLOP/s" and not p.estimated
    assert p.source == "override: FLEETWISE_PEAK_FLOPS_BF16"
    monkeypatch.setattr(hardware, "_cuda_name", lambda device: "NVIDIA H100 80GB HBM3")
    assert peak_for("cuda", "flops", "bf16").value == 123.5  # type: ignore[union-attr]
    bw = peak_for("cpu", "membw")
    assert bw is not None and bw.value == 400.0 and bw.source == "override: FLEETWISE_PEAK_MEMBW"
    fp32 = peak_for("cpu", "flops", "fp32")  # no override for fp32: the estimate
    assert fp32 == hardware.cpu_peak("flops", "fp32")
    assert fp32 is None or (fp32.estimated and fp32.source.startswith("estimated"))
    monkeypatch.setenv("FLEETWISE_PEAK_MEMBW", "fast")
    with pytest.raises(InputError, match="FLEETWISE_PEAK_MEMBW"):
        peak_for("cpu", "membw")


def test_llc_size_text() -> None:
    assert hardware.cpu_llc_bytes("32768K\n") == 32 << 20
    assert hardware.cpu_llc_bytes("4M") == 4 << 20
