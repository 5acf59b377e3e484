"""Network-layer benchmarks: collective bandwidth between ranks, host<->device copies.

- ``network.allreduce``: torch.distributed all-reduce across local ranks (gloo on CPU,
  NCCL on GPUs), reported as algorithm and bus bandwidth the way nccl-tests does, so the
  figures can be set beside ``all_reduce_perf`` output.
- ``network.host_device_copy``: PCIe / NVLink-C2C copy bandwidth from pageable and pinned
  host memory, the path every input batch and checkpoint takes.

Sizes are decimal: ``size_mb`` is 10^6 bytes and GB/s is 10^9 bytes per second, as in
nccl-tests and vendor datasheets.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import socket
import time
from datetime import timedelta
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any, ClassVar, Literal

from pydantic import Field

from fleetwise.collect.benchmarks.base import (
    Benchmark,
    BenchParams,
    MetricSpec,
    register,
    require_cuda,
)
from fleetwise.collect.benchmarks.orchestration import cuda_device
from fleetwise.collect.timing import MAX_LOOPS, Timer
from fleetwise.errors import BenchmarkError

#: Seconds the ranks get to import torch and form the process group.
RANK_START_TIMEOUT_S = 180.0
#: Seconds a rank gets to answer a command beyond the time the command should take.
RANK_REPLY_SLACK_S = 60.0
#: Seconds a rank gets to leave the group and exit before it is terminated, then killed.
RANK_EXIT_TIMEOUT_S = 10.0
#: Default message size per backend: 16 MB keeps a CPU case short; 256 MB is where NVLink
#: all-reduce bus bandwidth is close to its plateau in nccl-tests sweeps.
DEFAULT_SIZE_MB = {"gloo": 16.0, "nccl": 256.0}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _rank_main(
    rank: int, world_size: int, backend: str, port: int, numel: int, conn: Connection
) -> None:
    """One rank: join the group, then run all-reduce bursts on command until told to stop.

    Replies are ``("ready", None)``, ``("done", seconds)`` or ``("error", text)``; an
    EOF on the pipe (the parent died) ends the rank, so none outlives the case.
    """
    try:
        import torch
        import torch.distributed as dist

        if backend == "nccl":
            torch.cuda.set_device(rank)
            device = torch.device("cuda", rank)
        else:
            device = torch.device("cpu")
        dist.init_process_group(
            backend,
            init_method=f"tcp://127.0.0.1:{port}",
            rank=rank,
            world_size=world_size,
            timeout=timedelta(seconds=RANK_START_TIMEOUT_S),
        )
        # Zeros stay zeros under repeated SUM, so no value overflows to inf over a long burst.
        buf = torch.zeros(numel, dtype=torch.float32, device=device)

        def barrier() -> None:
            if backend == "nccl":
                dist.barrier(device_ids=[rank])
                torch.cuda.synchronize()
            else:
                dist.barrier()

        dist.all_reduce(buf)  # first call sets up connections and algorithm state
        barrier()
        conn.send(("ready", None))
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which raises
        conn.send(("error", f"rank {rank}: {type(exc).__name__}: {exc}"))
        return
    try:
        while True:
            try:
                command, iters = conn.recv()
            except EOFError:
                return
            if command == "stop":
                return
            barrier()
            t0 = time.perf_counter()
            for _ in range(iters):
                dist.all_reduce(buf)
            if backend == "nccl":
                torch.cuda.synchronize()
            conn.send(("done", time.perf_counter() - t0))
    except Exception as exc:  # noqa: BLE001
        conn.send(("error", f"rank {rank}: {type(exc).__name__}: {exc}"))
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


@register
class AllReduce(Benchmark):
    """All-reduce bandwidth across ``world_size`` local ranks, as nccl-tests reports it.

    Each sample runs a calibrated burst of all-reduces (SUM, in place, float32) after a
    barrier; rank 0's wall time over the burst gives the time ``t`` per all-reduce.
    """

    name: ClassVar[str] = "network.allreduce"
    layer: ClassVar[Literal["network"]] = "network"
    description: ClassVar[str] = "torch.distributed all-reduce algbw/busbw (gloo CPU, NCCL GPU)"

    class Params(BenchParams):
        #: auto: NCCL when at least world_size CUDA devices are visible, else gloo on CPU.
        backend: Literal["auto", "gloo", "nccl"] = "auto"
        world_size: int = Field(default=2, ge=2, le=64)
        #: message size in MB (10^6 bytes); None: 16 for gloo, 256 for NCCL.
        size_mb: float | None = Field(default=None, gt=0, le=65536)

    params: Params

    @classmethod
    def metrics(cls, params: BenchParams) -> list[MetricSpec]:
        return [MetricSpec("busbw", "GB/s", "higher"), MetricSpec("algbw", "GB/s", "higher")]

    def _resolve_backend(self) -> str:
        import torch
        import torch.distributed as dist

        if not dist.is_available():
            raise BenchmarkError(f"{self.name}: this torch build has no torch.distributed")
        n = self.params.world_size
        gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
        backend = self.params.backend
        if backend == "auto":
            backend = "nccl" if gpus >= n and dist.is_nccl_available() else "gloo"
            if backend == "gloo" and gpus > 0:
                self.ctx.notes.append(f"{gpus} CUDA device(s) < world_size {n}: ran gloo on CPU")
        if backend == "nccl":
            if not dist.is_nccl_available():
                raise BenchmarkError(f"{self.name}: this torch build has no NCCL backend")
            if gpus < n:
                raise BenchmarkError(
                    f"{self.name}: NCCL with world_size {n} needs {n} CUDA GPUs, {gpus} visible"
                )
        elif not dist.is_gloo_available():
            raise BenchmarkError(f"{self.name}: this torch build has no gloo backend")
        return backend

    def setup(self) -> None:
        self._backend = self._resolve_backend()
        size_mb = self.params.size_mb or DEFAULT_SIZE_MB[self._backend]
        self._numel = max(1, int(size_mb * 1e6) // 4)
        self._nbytes = self._numel * 4
        self._ranks: list[BaseProcess] = []
        self._conns: list[Connection] = []
        self._iters = 0
        self._seconds_per_iter = 1.0  # a first guess for reply time-outs until measured
        ctx = multiprocessing.get_context("spawn")
        port = _free_port()
        try:
            for rank in range(self.params.world_size):
                parent_end, child_end = ctx.Pipe()
                proc = ctx.Process(
                    target=_rank_main,
                    args=(
                        rank,
                        self.params.world_size,
                        self._backend,
                        port,
                        self._numel,
                        child_end,
                    ),
                    name=f"fleetwise-allreduce-rank{rank}",
                    daemon=True,
                )
                proc.start()
                child_end.close()
                self._ranks.append(proc)
                self._conns.append(parent_end)
            self._gather("ready", RANK_START_TIMEOUT_S)
            self._calibrate()
        except BaseException:
            # The worker only tears down a case whose set-up succeeded: clean up here.
            self._stop_ranks()
            raise

    def _gather(self, expected: str, timeout: float) -> list[Any]:
        """One reply from every rank, in rank order; raises as soon as one fails or dies,
        or when ``timeout`` seconds pass (a rank that hangs)."""
        deadline = time.monotonic() + timeout
        pending = dict(enumerate(self._conns))
        values: dict[int, Any] = {}
        while pending:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RuntimeError(
                    f"all-reduce ranks {sorted(pending)} gave no reply in {timeout:.0f} s"
                )
            sentinels = [self._ranks[rank].sentinel for rank in pending]
            wait([*pending.values(), *sentinels], remaining)
            for rank, conn in list(pending.items()):
                if conn.poll():
                    try:
                        kind, value = conn.recv()
                    except EOFError:
                        raise RuntimeError(
                            f"all-reduce rank {rank} exited without replying"
                        ) from None
                    if kind == "error":
                        raise RuntimeError(value)
                    if kind != expected:
                        raise RuntimeError(
                            f"all-reduce rank {rank}: expected {expected!r}, got {kind!r}"
                        )
                    values[rank] = value
                    del pending[rank]
                elif not self._ranks[rank].is_alive():
                    code = self._ranks[rank].exitcode
                    raise RuntimeError(f"all-reduce rank {rank} exited ({code}) without replying")
        return [values[rank] for rank in range(len(self._conns))]

    def _burst(self, iters: int) -> float:
        """Seconds rank 0 took for ``iters`` back-to-back all-reduces."""
        for conn in self._conns:
            conn.send(("run", iters))
        # Generous: a burst that takes 4x its calibrated time plus the slack has hung.
        timeout = 4 * iters * self._seconds_per_iter + RANK_REPLY_SLACK_S
        seconds: float = self._gather("done", timeout)[0]
        return seconds

    def _calibrate(self) -> None:
        # As Timer.calibrate: grow the burst until it lasts min_sample_time.
        iters = 1
        while True:
            elapsed = self._burst(iters)
            self._seconds_per_iter = max(elapsed / iters, 1e-9)
            if elapsed >= self.ctx.min_sample_time or iters >= MAX_LOOPS:
                break
            if elapsed > 0.001:
                iters = max(iters * 2, int(iters * self.ctx.min_sample_time / elapsed * 1.1))
            else:
                iters *= 2
        self._iters = min(iters, MAX_LOOPS)

    def sample(self) -> dict[str, float]:
        t = self._burst(self._iters) / self._iters
        n = self.params.world_size
        # nccl-tests doc/PERFORMANCE.md: algbw = S / t; for all-reduce
        # busbw = algbw * 2(n-1)/n, the per-link rate a ring all-reduce needs.
        algbw = self._nbytes / t / 1e9
        return {"algbw": algbw, "busbw": algbw * 2 * (n - 1) / n}

    def teardown(self) -> None:
        self._stop_ranks()

    def _stop_ranks(self) -> None:
        for conn in self._conns:
            with contextlib.suppress(OSError):  # the rank already exited
                conn.send(("stop", 0))
        deadline = time.monotonic() + RANK_EXIT_TIMEOUT_S
        for proc in self._ranks:
            proc.join(max(0.0, deadline - time.monotonic()))
        for proc in self._ranks:
            if proc.is_alive():
                self.ctx.notes.append(f"{proc.name} did not exit; terminated")
                proc.terminate()
                proc.join(2.0)
            if proc.is_alive():
                proc.kill()
                proc.join()
        for conn in self._conns:
            conn.close()
        self._ranks, self._conns = [], []

    def resolved_params(self) -> dict[str, Any]:
        return {
            **self.params.model_dump(mode="json"),
            "backend": self._backend,
            "size_mb": self._nbytes / 1e6,
            "bytes": self._nbytes,
            "dtype": "float32",
            "device": "cuda" if self._backend == "nccl" else "cpu",
        }

    def calibration(self) -> dict[str, Any]:
        return {
            "loops": self._iters,
            "timer": "perf_counter on rank 0 after a barrier",
            "min_sample_time": self.ctx.min_sample_time,
        }


@register
class HostDeviceCopy(Benchmark):
    """Host->device and device->host copy bandwidth, pageable vs pinned host memory.

    Each direction and memory kind has its own calibrated Timer (CUDA events around the
    loop); pinned copies are issued with ``non_blocking=True`` so they go straight to the
    DMA engine, pageable ones go through the driver's staging buffer, as in CUDA's
    ``bandwidthTest`` sample.
    """

    name: ClassVar[str] = "network.host_device_copy"
    layer: ClassVar[Literal["network"]] = "network"
    description: ClassVar[str] = "host<->device copy bandwidth, pageable and pinned memory"

    class Params(BenchParams):
        device: str = "auto"
        size_mb: float = Field(default=256.0, gt=0, le=65536)

    params: Params
    METRICS: ClassVar[tuple[str, ...]] = (
        "h2d_pageable",
        "h2d_pinned",
        "d2h_pageable",
        "d2h_pinned",
    )

    @classmethod
    def metrics(cls, params: BenchParams) -> list[MetricSpec]:
        # No peak: PCIe generation/width and NVLink-C2C differ per system, not per GPU model.
        return [MetricSpec(m, "GB/s", "higher") for m in cls.METRICS]

    def setup(self) -> None:
        require_cuda(self.name)
        import torch

        dev = cuda_device(self.name, self.params.device)
        self._device = str(dev)
        self._torch = torch
        torch.cuda.set_device(dev)
        self._nbytes = max(1, int(self.params.size_mb * 1e6))
        pageable = torch.ones(self._nbytes, dtype=torch.uint8)  # touched: pages are resident
        pinned = torch.ones(self._nbytes, dtype=torch.uint8).pin_memory()
        dev = torch.ones(self._nbytes, dtype=torch.uint8, device=self._device)
        self._bufs = (pageable, pinned, dev)
        self._copies = {
            "h2d_pageable": lambda: dev.copy_(pageable),
            "h2d_pinned": lambda: dev.copy_(pinned, non_blocking=True),
            "d2h_pageable": lambda: pageable.copy_(dev),
            "d2h_pinned": lambda: pinned.copy_(dev, non_blocking=True),
        }
        self._timers = {m: Timer(self._device, self.ctx.min_sample_time) for m in self.METRICS}

    def sample(self) -> dict[str, float]:
        return {m: self._nbytes / self._timers[m].time(fn) / 1e9 for m, fn in self._copies.items()}

    def teardown(self) -> None:
        del self._copies, self._bufs
        self._torch.cuda.empty_cache()

    def resolved_params(self) -> dict[str, Any]:
        return {
            **self.params.model_dump(mode="json"),
            "device": self._device,
            "device_name": self._torch.cuda.get_device_name(self._device),
            "bytes": self._nbytes,
        }

    def calibration(self) -> dict[str, Any]:
        return {m: t.info() for m, t in self._timers.items()}
