"""Orchestration-layer benchmarks: what it costs to start, feed and launch work.

- ``orchestration.spawn``: creating a process and waiting for it (job launchers, data-loader
  workers and shell-outs all pay this).
- ``orchestration.dispatch``: handing a task to a warm process pool and getting the answer
  back (the overhead floor of task-parallel frameworks built on the same pattern).
- ``orchestration.kernel_launch``: the host and device cost of launching one minimal CUDA
  operation through PyTorch (what a training step with many small kernels is bound by).
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import time
from typing import Any, ClassVar, Literal

from pydantic import Field

from fleetwise.collect.benchmarks.base import (
    Benchmark,
    BenchParams,
    MetricSpec,
    register,
    require_cuda,
)
from fleetwise.collect.timing import Timer, resolve_device
from fleetwise.errors import BenchmarkError


def cuda_device(bench: str, device: str) -> Any:
    """``device`` resolved to an indexed ``torch.device("cuda", i)``, or BenchmarkError.

    ``require_cuda`` must have passed. An index is needed because ``torch.cuda.set_device``
    rejects a bare ``"cuda"``; that one means the current device.
    """
    import torch

    try:
        dev = torch.device(resolve_device(device))
    except RuntimeError as exc:
        raise BenchmarkError(f"{bench}: bad device {device!r}: {exc}") from exc
    if dev.type != "cuda":
        raise BenchmarkError(f"{bench} needs a CUDA device, got {device!r}")
    if dev.index is None:
        dev = torch.device("cuda", torch.cuda.current_device())
    if dev.index >= torch.cuda.device_count():
        raise BenchmarkError(f"{bench}: {dev} does not exist here")
    return dev


def echo_task(value: int) -> int:
    """The no-op task of ``orchestration.dispatch``; module-level so that it pickles."""
    return value


def _pid_task(hold_s: float) -> int:
    # Holding the worker a moment makes the pool hand the next warm-up task to another one.
    time.sleep(hold_s)
    return os.getpid()


@register
class ProcessSpawn(Benchmark):
    """Mean wall time from ``Popen`` to the return of ``wait()`` for a trivial child.

    ``command: true`` runs ``/bin/true`` (the cost of creating and reaping a process; on
    Linux CPython's ``subprocess`` uses vfork+exec or posix_spawn, not a plain fork, so
    the parent's size matters little). ``command: python`` starts a fresh interpreter
    with ``sys.executable -c pass`` (site import included, as a real Python worker pays).
    """

    name: ClassVar[str] = "orchestration.spawn"
    layer: ClassVar[Literal["orchestration"]] = "orchestration"
    description: ClassVar[str] = "process spawn latency: Popen -> wait() of /bin/true or python"

    class Params(BenchParams):
        command: Literal["true", "python"] = "true"
        #: spawns per sample; None calibrates the count to the case's min_sample_time.
        spawns: int | None = Field(default=None, ge=1, le=100_000)

    params: Params

    @classmethod
    def metrics(cls, params: BenchParams) -> list[MetricSpec]:
        return [MetricSpec("latency", "ms", "lower")]

    def setup(self) -> None:
        if self.params.command == "true":
            true_path = shutil.which("true")
            if true_path is None:
                raise BenchmarkError("orchestration.spawn: no 'true' executable on PATH")
            self._argv = [true_path]
        else:
            self._argv = [sys.executable, "-c", "pass"]
        self._timer = Timer("cpu", self.ctx.min_sample_time)
        if self.params.spawns is not None:
            self._timer.loops = self.params.spawns
        self._devnull = os.open(os.devnull, os.O_RDWR)

    def _spawn_once(self) -> None:
        proc = subprocess.Popen(
            self._argv, stdin=self._devnull, stdout=self._devnull, stderr=self._devnull
        )
        if proc.wait() != 0:
            raise RuntimeError(f"{self._argv[0]} exited with status {proc.returncode}")

    def sample(self) -> dict[str, float]:
        return {"latency": self._timer.time(self._spawn_once) * 1e3}

    def teardown(self) -> None:
        os.close(self._devnull)

    def calibration(self) -> dict[str, Any]:
        # The calibrated count stays out of the params: it varies run to run, and params
        # are part of a result series' identity.
        return {**self._timer.info(), "calibrated": self.params.spawns is None, "argv": self._argv}


@register
class PoolDispatch(Benchmark):
    """Round-trip latency and throughput of no-op tasks on a warm ProcessPoolExecutor.

    - ``latency_p50``: median over ``tasks`` single round trips, each submitted only after
      the previous result came back (pool idle): submit -> ``result()`` in microseconds.
      It includes pickling, the call queue, the manager thread and the result queue.
    - ``throughput``: ``tasks`` submitted at once, divided by the time from the first
      submit to the last result; the pool keeps at most ``workers + 1`` calls in flight
      (``concurrent.futures`` queues the rest), so this is the executor's own pipeline
      rate, not the speed of raw pipes.

    Workers are started with the ``spawn`` method (fork is unsafe once torch or CUDA
    threads exist in the parent) and warmed in set-up, so start-up is not measured.
    """

    name: ClassVar[str] = "orchestration.dispatch"
    layer: ClassVar[Literal["orchestration"]] = "orchestration"
    description: ClassVar[str] = "process-pool task dispatch: round-trip latency and throughput"

    class Params(BenchParams):
        workers: int = Field(default=2, ge=1, le=256)
        tasks: int = Field(default=200, ge=1, le=1_000_000)

    params: Params
    #: Seconds to wait for the pool to show every worker alive during warm-up.
    WARMUP_TIMEOUT_S: ClassVar[float] = 60.0

    @classmethod
    def metrics(cls, params: BenchParams) -> list[MetricSpec]:
        return [
            MetricSpec("latency_p50", "us", "lower"),
            MetricSpec("throughput", "tasks/s", "higher"),
        ]

    def setup(self) -> None:
        self._pool = concurrent.futures.ProcessPoolExecutor(
            max_workers=self.params.workers, mp_context=multiprocessing.get_context("spawn")
        )
        try:
            self._warm_up()
        except BaseException:
            self._pool.shutdown(wait=True, cancel_futures=True)
            raise

    def _warm_up(self) -> None:
        # A pool started with spawn creates workers on demand; keep submitting overlapping
        # tasks until every worker has answered once (interpreter up, this module imported).
        seen: set[int] = set()
        deadline = time.monotonic() + self.WARMUP_TIMEOUT_S
        while len(seen) < self.params.workers:
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"only {len(seen)} of {self.params.workers} pool workers started "
                    f"within {self.WARMUP_TIMEOUT_S:.0f} s"
                )
            futures = [self._pool.submit(_pid_task, 0.02) for _ in range(self.params.workers)]
            seen.update(f.result() for f in futures)

    def sample(self) -> dict[str, float]:
        round_trips = []
        for i in range(self.params.tasks):
            t0 = time.perf_counter()
            self._pool.submit(echo_task, i).result()
            round_trips.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        futures = [self._pool.submit(echo_task, i) for i in range(self.params.tasks)]
        for f in futures:
            f.result()
        elapsed = time.perf_counter() - t0
        return {
            "latency_p50": statistics.median(round_trips) * 1e6,
            "throughput": self.params.tasks / elapsed,
        }

    def teardown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def resolved_params(self) -> dict[str, Any]:
        return {**self.params.model_dump(mode="json"), "start_method": "spawn"}

    def calibration(self) -> dict[str, Any]:
        return {"timer": "perf_counter", "tasks_per_sample": self.params.tasks}


@register
class KernelLaunch(Benchmark):
    """Launch overhead of a minimal CUDA op (``x.add_(1)`` on a one-element tensor).

    - ``launch_us``: host time per launch, perf_counter around ``launches`` asynchronous
      launches before synchronising: the CPU cost of the PyTorch dispatcher plus
      ``cudaLaunchKernel`` (not of the bare driver call). ``launches`` stays below the
      ~1024-entry launch queue so the host never waits for the device.
    - ``latency_us``: per launch, CUDA events recorded just before and after the op on an
      idle stream, with a synchronise after each: the device-side time from the start
      event to the end of the kernel, which includes the launch delay and the kernel.
    """

    name: ClassVar[str] = "orchestration.kernel_launch"
    layer: ClassVar[Literal["orchestration"]] = "orchestration"
    description: ClassVar[str] = "CUDA kernel-launch overhead: host cost and device round trip"

    class Params(BenchParams):
        device: str = "auto"
        launches: int = Field(default=500, ge=1, le=1000)

    params: Params

    @classmethod
    def metrics(cls, params: BenchParams) -> list[MetricSpec]:
        return [MetricSpec("launch_us", "us", "lower"), MetricSpec("latency_us", "us", "lower")]

    def setup(self) -> None:
        require_cuda(self.name)
        import torch

        dev = cuda_device(self.name, self.params.device)
        self._device = str(dev)
        self._torch = torch
        torch.cuda.set_device(dev)
        self._x = torch.zeros(1, dtype=torch.float32, device=self._device)
        self._x.add_(1)  # loads the kernel's module before anything is timed
        torch.cuda.synchronize()

    def sample(self) -> dict[str, float]:
        torch = self._torch
        x = self._x
        n = self.params.launches
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(n):
            x.add_(1)
        host_s = time.perf_counter() - t0
        torch.cuda.synchronize()

        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        device_ms = 0.0
        for _ in range(n):
            start.record()
            x.add_(1)
            end.record()
            end.synchronize()
            device_ms += float(start.elapsed_time(end))
        return {"launch_us": host_s / n * 1e6, "latency_us": device_ms / n * 1e3}

    def resolved_params(self) -> dict[str, Any]:
        return {
            **self.params.model_dump(mode="json"),
            "device": self._device,
            "device_name": self._torch.cuda.get_device_name(self._device),
            "op": "float32[1].add_(1)",
        }

    def calibration(self) -> dict[str, Any]:
        return {
            "launches_per_sample": self.params.launches,
            "timer": "perf_counter (launch_us), cuda-events with synchronize (latency_us)",
        }
