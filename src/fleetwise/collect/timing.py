"""Timing a callable: loop-count calibration, wall clock on CPU, CUDA events on GPU.

Calibration follows pyperf's idea: double the loop count until one sample lasts at
least ``min_sample_time``, so timer resolution and call overhead stay negligible.
On CUDA the work is asynchronous, so time is taken with CUDA events after a
synchronisation, and for cache-sensitive kernels the L2 cache is flushed before every
timed call by writing a buffer larger than it (as Triton's ``do_bench`` does); the flush
itself is outside the timed region.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

#: Upper bound for calibration, so a pathological fast no-op cannot loop forever.
MAX_LOOPS = 1 << 24
#: Bytes written to evict the L2 cache (H100 L2 is 50 MB, B200 126 MB).
L2_FLUSH_BYTES = 256 * 1024 * 1024


def resolve_device(device: str) -> str:
    """``auto`` -> ``cuda`` when a GPU is usable, else ``cpu``; others pass through."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _event() -> Any:
    import torch

    return torch.cuda.Event(enable_timing=True)  # type: ignore[no-untyped-call]


class Timer:
    """Times ``fn`` in seconds per call, with a calibrated loop count."""

    def __init__(self, device: str, min_sample_time: float, *, flush_l2: bool = False) -> None:
        self.device = device
        self.min_sample_time = min_sample_time
        self.flush_l2 = flush_l2 and device.startswith("cuda")
        self.loops = 0
        self._flush_buf: Any = None

    @property
    def kind(self) -> str:
        if self.device.startswith("cuda"):
            return "cuda-events+l2-flush" if self.flush_l2 else "cuda-events"
        return "perf_counter"

    def calibrate(self, fn: Callable[[], object]) -> int:
        """Find the loop count that makes one sample last ``min_sample_time``."""
        loops = 1
        while True:
            elapsed = self._run(fn, loops)
            if elapsed >= self.min_sample_time or loops >= MAX_LOOPS:
                break
            # Jump close to the target at once when the estimate is reliable.
            if elapsed > 0.001:
                loops = max(loops * 2, int(loops * self.min_sample_time / elapsed * 1.1))
            else:
                loops *= 2
        self.loops = min(loops, MAX_LOOPS)
        return self.loops

    def time(self, fn: Callable[[], object]) -> float:
        """Seconds per call of ``fn``, averaged over the calibrated loop count."""
        if self.loops == 0:
            self.calibrate(fn)
        return self._run(fn, self.loops) / self.loops

    def info(self) -> dict[str, Any]:
        return {"loops": self.loops, "timer": self.kind, "min_sample_time": self.min_sample_time}

    def _run(self, fn: Callable[[], object], loops: int) -> float:
        if self.device.startswith("cuda"):
            return self._run_cuda(fn, loops)
        start = time.perf_counter()
        for _ in range(loops):
            fn()
        return time.perf_counter() - start

    def _run_cuda(self, fn: Callable[[], object], loops: int) -> float:
        import torch

        torch.cuda.synchronize()
        if not self.flush_l2:
            start = _event()
            end = _event()
            start.record()
            for _ in range(loops):
                fn()
            end.record()
            torch.cuda.synchronize()
            return float(start.elapsed_time(end)) / 1e3
        if self._flush_buf is None:
            self._flush_buf = torch.empty(
                L2_FLUSH_BYTES // 4, dtype=torch.int32, device=self.device
            )
        starts = [_event() for _ in range(loops)]
        ends = [_event() for _ in range(loops)]
        for i in range(loops):
            self._flush_buf.zero_()
            starts[i].record()
            fn()
            ends[i].record()
        torch.cuda.synchronize()
        return sum(float(s.elapsed_time(e)) for s, e in zip(starts, ends, strict=True)) / 1e3
