"""Compute benchmarks with PyTorch, on CPU or GPU: GEMM, STREAM memory bandwidth, a
GPT training step (tokens/s and MFU) and batched inference latency.

torch is an optional extra: it is imported inside ``setup()``, so listing the registry
works without it and a case without it is *skipped* with the install hint.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field, model_validator

from fleetwise import hardware
from fleetwise.collect.benchmarks.base import (
    Benchmark,
    BenchParams,
    MetricSpec,
    register,
    require_cuda,
)
from fleetwise.collect.timing import Timer, resolve_device
from fleetwise.errors import BenchmarkError, MissingDependencyError
from fleetwise.models import Layer, Peak

if TYPE_CHECKING:
    import torch

    from fleetwise.collect.benchmarks.gpt import TinyGPT


def _require_torch() -> None:
    try:
        import torch  # noqa: F401
    except ImportError:
        raise MissingDependencyError("torch", "torch") from None


def _torch_dtype(name: str) -> torch.dtype:
    import torch

    table = {
        "fp64": torch.float64,
        "fp32": torch.float32,
        "tf32": torch.float32,
        "bf16": torch.bfloat16,
        "fp16": torch.float16,
    }
    return table[name]


class TorchParams(BenchParams):
    device: str = Field("auto", pattern=r"^(auto|cpu|cuda(:\d+)?)$")
    #: torch.set_num_threads is called only when this is given; the count in effect is
    #: recorded in the resolved parameters either way.
    threads: int | None = Field(None, ge=1)


class _TorchBenchmark(Benchmark):
    """Device resolution, thread count, timer and peak lookup shared by these benchmarks."""

    layer: ClassVar[Layer] = "compute"
    params: TorchParams
    device = "cpu"
    threads = 0
    timer: Timer | None = None

    def _start(self) -> str:
        _require_torch()
        import torch

        self.device = resolve_device(self.params.device)
        if self.device.startswith("cuda"):
            require_cuda(self.name)
            index = int(self.device.partition(":")[2] or 0)
            if index >= torch.cuda.device_count():
                raise BenchmarkError(
                    f"{self.name}: no {self.device} (found {torch.cuda.device_count()} GPUs)"
                )
            torch.cuda.set_device(index)
        if self.params.threads is not None:
            torch.set_num_threads(self.params.threads)
        self.threads = torch.get_num_threads()
        return self.device

    def _peak_dtype(self) -> str:
        return "fp32"

    def peak(self, spec: MetricSpec) -> Peak | None:
        if spec.peak is None:
            return None
        return hardware.peak_for(self.device, spec.peak, self._peak_dtype())

    def resolved_params(self) -> dict[str, Any]:
        return {**super().resolved_params(), "device": self.device, "threads": self.threads}

    def calibration(self) -> dict[str, Any]:
        return self.timer.info() if self.timer is not None else {}

    def teardown(self) -> None:
        if self.device.startswith("cuda"):
            import torch

            torch.cuda.empty_cache()


# --- compute.gemm -----------------------------------------------------------------------


class GemmParams(TorchParams):
    size: int | None = Field(None, ge=1, description="m = n = k unless given one by one")
    m: int | None = Field(None, ge=1)
    n: int | None = Field(None, ge=1)
    k: int | None = Field(None, ge=1)
    dtype: Literal["fp64", "fp32", "tf32", "bf16", "fp16", "fp8"] = "fp32"

    @model_validator(mode="after")
    def _fp8_shape(self) -> GemmParams:
        dims = [d for d in (self.size, self.m, self.n, self.k) if d is not None]
        if self.dtype == "fp8" and any(d % 16 for d in dims):
            raise ValueError("fp8 (torch._scaled_mm) needs m, n and k to be multiples of 16")
        return self


@register
class Gemm(_TorchBenchmark):
    name = "compute.gemm"
    description = "Dense matrix multiply C = A @ B; TFLOP/s = 2mnk / time."
    Params = GemmParams
    params: GemmParams
    _fn: Callable[[], object]
    _precision: str | None = None

    @classmethod
    def metrics(cls, params: BenchParams) -> list[MetricSpec]:
        return [MetricSpec("tflops", "TFLOP/s", "higher", peak="flops")]

    def _peak_dtype(self) -> str:
        return self.params.dtype

    def setup(self) -> None:
        device = self._start()  # first: it turns a missing torch into a skip
        import torch

        p = self.params
        if device == "cpu" and p.dtype in ("tf32", "fp8"):
            raise BenchmarkError(
                f"{self.name}: {p.dtype} is a GPU tensor-core format; torch has no CPU "
                f"{p.dtype} GEMM to measure"
            )
        # Small GEMMs measure launch overhead, not the math units: large defaults on GPU.
        default = 8192 if device.startswith("cuda") else 1024
        self.m, self.n, self.k = (d or p.size or default for d in (p.m, p.n, p.k))
        gen = torch.Generator(device=device).manual_seed(self.ctx.seed)
        if p.dtype == "fp8":
            self._fn = self._fp8_matmul(gen)
        else:
            dt = _torch_dtype(p.dtype)
            a = torch.randn(self.m, self.k, device=device, dtype=dt, generator=gen)
            b = torch.randn(self.k, self.n, device=device, dtype=dt, generator=gen)
            c = torch.empty(self.m, self.n, device=device, dtype=dt)
            self._fn = lambda: torch.mm(a, b, out=c)
        if device.startswith("cuda"):
            # The new fp32_precision API only: torch refuses to mix it with allow_tf32.
            matmul = torch.backends.cuda.matmul
            self._precision = matmul.fp32_precision
            matmul.fp32_precision = "tf32" if p.dtype == "tf32" else "ieee"
        elif p.dtype in ("bf16", "fp16"):
            self.ctx.notes.append(
                f"{p.dtype} GEMM on CPU: its speed depends on native {p.dtype} instructions "
                "(AMX, AVX-512 BF16/FP16); without them torch computes in fp32"
            )
        self._fn()  # library initialisation (cuBLAS handles, oneDNN primitives) untimed
        # Flush L2 between calls on GPU: at small sizes A and B would stay cache-resident.
        self.timer = Timer(device, self.ctx.min_sample_time, flush_l2=True)
        self.timer.calibrate(self._fn)

    def _fp8_matmul(self, gen: torch.Generator) -> Callable[[], object]:
        import torch

        require_cuda(f"{self.name} with fp8")
        if torch.version.hip:
            arch = torch.cuda.get_device_properties(self.device).gcnArchName
            if "gfx94" not in arch and "gfx95" not in arch:
                raise BenchmarkError(f"{self.name}: fp8 needs MI300 or newer, not {arch}")
            # CDNA3 (gfx94x) implements the FNUZ variant of e4m3; later parts use OCP e4m3.
            f8 = torch.float8_e4m3fnuz if "gfx94" in arch else torch.float8_e4m3fn
        else:
            cap = torch.cuda.get_device_capability(self.device)
            if cap < (8, 9):
                raise BenchmarkError(f"{self.name}: fp8 needs compute capability 8.9+, not {cap}")
            f8 = torch.float8_e4m3fn
        dev = self.device
        a = torch.randn(self.m, self.k, device=dev, generator=gen).to(f8)
        # _scaled_mm wants the second operand column-major: a (n, k) row-major, transposed.
        b = torch.randn(self.n, self.k, device=dev, generator=gen).to(f8).t()
        one = torch.ones((), device=dev, dtype=torch.float32)
        out = torch.empty(self.m, self.n, device=dev, dtype=torch.bfloat16)
        return lambda: torch._scaled_mm(a, b, one, one, out_dtype=torch.bfloat16, out=out)

    def sample(self) -> dict[str, float]:
        assert self.timer is not None
        seconds = self.timer.time(self._fn)
        return {"tflops": 2 * self.m * self.n * self.k / seconds / 1e12}

    def resolved_params(self) -> dict[str, Any]:
        out = {**super().resolved_params(), "m": self.m, "n": self.n, "k": self.k}
        if self.device.startswith("cuda"):
            out["fp32_precision"] = "tf32" if self.params.dtype == "tf32" else "ieee"
        return out

    def teardown(self) -> None:
        if self._precision is not None:
            import torch

            torch.backends.cuda.matmul.fp32_precision = self._precision
        super().teardown()


# --- compute.membw ----------------------------------------------------------------------


class MembwParams(TorchParams):
    size_mib: float | None = Field(None, gt=0, description="size of each of the 3 arrays")


@register
class MemoryBandwidth(_TorchBenchmark):
    name = "compute.membw"
    description = "STREAM-style copy and triad over float32 arrays; GB/s (10^9 bytes/s)."
    Params = MembwParams
    params: MembwParams
    SCALAR = 3.0  # STREAM's q
    _copy: Callable[[], object]
    _triad: Callable[[], object]

    @classmethod
    def metrics(cls, params: BenchParams) -> list[MetricSpec]:
        return [
            MetricSpec("copy", "GB/s", "higher", peak="membw"),
            MetricSpec("triad", "GB/s", "higher", peak="membw"),
        ]

    def setup(self) -> None:
        device = self._start()
        import psutil
        import torch

        gpu = device.startswith("cuda")
        # 64 Mi float32 (256 MiB) per array on CPU as STREAM's usual minimum; more on GPU.
        self.size_mib = self.params.size_mib or (1024.0 if gpu else 256.0)
        self.elements = int(self.size_mib * (1 << 20)) // 4
        need = 3 * self.elements * 4
        free = torch.cuda.mem_get_info()[0] if gpu else psutil.virtual_memory().available
        if need > 0.8 * free:
            raise BenchmarkError(
                f"{self.name}: 3 arrays of {self.size_mib:g} MiB do not fit "
                f"in the {free / 2**20:.0f} MiB free on {device}"
            )
        if not gpu:
            llc = hardware.cpu_llc_bytes()
            if llc is not None and self.elements * 4 < 4 * llc:
                self.ctx.notes.append(
                    f"STREAM asks for arrays of at least 4x the last-level cache "
                    f"({llc / 2**20:.0f} MiB here); at {self.size_mib:g} MiB some traffic may "
                    "hit cache: raise size_mib"
                )
        kw: dict[str, Any] = {"device": device, "dtype": torch.float32}
        a = torch.empty(self.elements, **kw).fill_(1.0)  # filled, so pages are touched
        b = torch.empty(self.elements, **kw).fill_(2.0)
        c = torch.empty(self.elements, **kw).fill_(0.0)
        # Copy reads b rather than STREAM's a so that repeated calls keep the values
        # bounded without STREAM's scale/add kernels in between; the traffic is the same.
        self._copy = lambda: c.copy_(b)
        self._triad = lambda: torch.add(b, c, alpha=self.SCALAR, out=a)  # a = b + q*c
        self._copy()
        self._triad()
        self.timer = Timer(device, self.ctx.min_sample_time)
        self.timer.calibrate(self._copy)
        self._triad_timer = Timer(device, self.ctx.min_sample_time)
        self._triad_timer.calibrate(self._triad)

    def sample(self) -> dict[str, float]:
        assert self.timer is not None
        t_copy = self.timer.time(self._copy)
        t_triad = self._triad_timer.time(self._triad)
        # Bytes counted as STREAM does (stream.c, "bytes" array): copy moves 2 words per
        # element (read b, write c), triad 3 (read b and c, write a); write-allocate
        # traffic is not counted. GB = 10^9 bytes.
        word = 4
        return {
            "copy": 2 * word * self.elements / t_copy / 1e9,
            "triad": 3 * word * self.elements / t_triad / 1e9,
        }

    def resolved_params(self) -> dict[str, Any]:
        return {
            **super().resolved_params(),
            "size_mib": self.size_mib,
            "elements": self.elements,
            "dtype": "fp32",
        }

    def calibration(self) -> dict[str, Any]:
        assert self.timer is not None
        return {"copy": self.timer.info(), "triad": self._triad_timer.info()}


# --- the GPT model cases ----------------------------------------------------------------


class ModelParams(TorchParams):
    # Defaults: ~0.1 s per training step on 2 CPU cores (4.2 M parameters).
    layers: int = Field(4, ge=1)
    d_model: int = Field(256, ge=8)
    heads: int = Field(4, ge=1)
    seq_len: int = Field(128, ge=1)
    vocab: int = Field(4096, ge=2)

    @model_validator(mode="after")
    def _heads_divide(self) -> ModelParams:
        if self.d_model % self.heads:
            raise ValueError(f"d_model ({self.d_model}) must be divisible by heads ({self.heads})")
        return self


def _model(p: ModelParams, device: str, seed: int) -> TinyGPT:
    from fleetwise.collect.benchmarks.gpt import GPTConfig, build_model

    return build_model(GPTConfig(p.layers, p.d_model, p.heads, p.seq_len, p.vocab), device, seed)


class TrainParams(ModelParams):
    batch: int = Field(8, ge=1)
    dtype: Literal["fp32", "bf16"] = Field("fp32", description="bf16 = autocast mixed precision")
    compile: bool = False


@register
class TrainStep(_TorchBenchmark):
    name = "compute.train_step"
    description = "GPT-style decoder training step (fwd, bwd, AdamW) on random tokens; MFU."
    Params = TrainParams
    params: TrainParams
    _step: Callable[[], None]

    @classmethod
    def metrics(cls, params: BenchParams) -> list[MetricSpec]:
        # MFU is already a fraction of the peak, so neither metric carries a peak itself.
        return [
            MetricSpec("tokens_per_s", "tokens/s", "higher"),
            MetricSpec("mfu", "fraction", "higher"),
        ]

    def _peak_dtype(self) -> str:
        return self.params.dtype

    def setup(self) -> None:
        device = self._start()
        import torch

        from fleetwise.collect.benchmarks.gpt import (
            attention_flops_per_token,
            matmul_params,
            train_step,
        )

        p = self.params
        model = _model(p, device, self.ctx.seed)
        gen = torch.Generator(device=device).manual_seed(self.ctx.seed)
        tokens = torch.randint(p.vocab, (p.batch, p.seq_len + 1), device=device, generator=gen)
        self._step = train_step(model, tokens, bf16=p.dtype == "bf16", compile=p.compile)
        # MFU (PaLM, Chowdhery et al. 2022, appendix B) = model FLOPs per token x tokens/s
        # / peak FLOP/s. Model FLOPs here are 6N, N = the parameters that take part in a
        # matmul: all of them, the tied embedding/LM head included, as PaLM counts, except
        # the positional table, a lookup (gpt.matmul_params). PaLM adds 12*L*H*Q*T for the
        # attention score and value matmuls; we leave it out, as most trainers' reported
        # MFU does, so figures compare with theirs. The omitted term is recorded as
        # attention_flops_share: PaLM's MFU = this MFU x (1 + attention_flops_share).
        self.n_params = matmul_params(model)
        self.attention_share = attention_flops_per_token(model.cfg) / (6 * self.n_params)
        self.tokens_per_step = p.batch * p.seq_len
        self.flops_peak = hardware.peak_for(device, "flops", p.dtype)
        if self.flops_peak is None:
            self.ctx.notes.append(
                f"mfu: no {p.dtype} peak known for {device}; set "
                f"FLEETWISE_PEAK_FLOPS_{p.dtype.upper()} (TFLOP/s) to get one"
            )
        self._step()  # the first step allocates optimizer state (and compiles) untimed
        self.timer = Timer(device, self.ctx.min_sample_time)
        self.timer.calibrate(self._step)

    def sample(self) -> dict[str, float]:
        assert self.timer is not None
        tokens_per_s = self.tokens_per_step / self.timer.time(self._step)
        if self.flops_peak is None:
            mfu = math.nan
        else:
            mfu = 6 * self.n_params * tokens_per_s / (self.flops_peak.value * 1e12)
        return {"tokens_per_s": tokens_per_s, "mfu": mfu}

    def resolved_params(self) -> dict[str, Any]:
        peak = self.flops_peak
        return {
            **super().resolved_params(),
            "n_params_mfu": self.n_params,
            "attention_flops_share": round(self.attention_share, 4),
            "mfu_peak_tflops": peak.value if peak else None,
            "mfu_peak_source": peak.source if peak else None,
        }


class InferenceParams(ModelParams):
    batch_size: int = Field(1, ge=1)
    requests: int = Field(100, ge=1, description="forward passes per sample")
    dtype: Literal["fp32", "bf16", "fp16"] = "fp32"


@register
class Inference(_TorchBenchmark):
    name = "compute.inference"
    description = "Latency percentiles and throughput of GPT-style forward passes."
    Params = InferenceParams
    params: InferenceParams
    _request: Callable[[], None]

    @classmethod
    def metrics(cls, params: BenchParams) -> list[MetricSpec]:
        return [
            MetricSpec("latency_p50", "ms", "lower"),
            MetricSpec("latency_p90", "ms", "lower"),
            MetricSpec("latency_p99", "ms", "lower"),
            MetricSpec("throughput", "samples/s", "higher"),
        ]

    def setup(self) -> None:
        device = self._start()
        import torch

        from fleetwise.collect.benchmarks.gpt import forward_request

        p = self.params
        model = _model(p, device, self.ctx.seed).to(_torch_dtype(p.dtype))
        gen = torch.Generator(device=device).manual_seed(self.ctx.seed)
        tokens = torch.randint(p.vocab, (p.batch_size, p.seq_len), device=device, generator=gen)
        self._request = forward_request(model, tokens)
        self._request()

    def sample(self) -> dict[str, float]:
        import numpy as np

        # Each request is timed on its own with perf_counter after a synchronisation, so
        # latency includes launch overhead as a caller sees it. Percentiles interpolate
        # linearly; p99 means little with fewer than ~100 requests per sample.
        latencies = []
        start = time.perf_counter()
        for _ in range(self.params.requests):
            t0 = time.perf_counter()
            self._request()
            latencies.append(time.perf_counter() - t0)
        total = time.perf_counter() - start
        p50, p90, p99 = np.percentile(np.asarray(latencies) * 1e3, [50, 90, 99])
        return {
            "latency_p50": float(p50),
            "latency_p90": float(p90),
            "latency_p99": float(p99),
            "throughput": self.params.batch_size * self.params.requests / total,
        }

    def calibration(self) -> dict[str, Any]:
        return {"timer": "perf_counter per request, synchronised", "loops": self.params.requests}
