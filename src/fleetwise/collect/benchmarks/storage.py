"""Storage-layer benchmarks: the device under a file, as fio and as a training job see it.

- ``storage.fio``: one fio workload on one file (bandwidth, IOPS, completion latency).
- ``storage.dataloader``: one epoch of a PyTorch DataLoader over small ``.npy`` files.
- ``storage.checkpoint``: ``torch.save`` + fsync, then ``torch.load`` of a model-like state dict.

Units: MB = 1e6 bytes and GB = 1e9 bytes throughout (fio's own "MiB/s" is 2**20; ours is
``bw_bytes / 1e6``). Reads must come from the device, not from memory: fio uses O_DIRECT
where the filesystem accepts it, and everywhere else the file's pages are evicted with
``posix_fadvise(POSIX_FADV_DONTNEED)`` before the timed read (after an fsync, because
DONTNEED only drops clean pages).
"""

from __future__ import annotations

import mmap
import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any, ClassVar, Literal, cast

from pydantic import Field, field_validator, model_validator

from fleetwise.collect.benchmarks.base import (
    Benchmark,
    BenchParams,
    MetricSpec,
    register,
    require_cuda,
)
from fleetwise.collect.importers import fio as fio_json
from fleetwise.collect.timing import resolve_device
from fleetwise.errors import BenchmarkError, InputError, MissingDependencyError

FIO_MISSING = "fio not found: install it (Debian: apt-get install fio)"
_FIO_SIZE = re.compile(r"^([1-9][0-9]*)([kKmMgG]?)$")
#: fio's default kb_base is 1024, so its "4k" is 4096 bytes and "1M" is 2**20.
_FIO_UNIT = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
#: Engines that issue one I/O at a time: fio caps their iodepth at 1.
_SYNC_ENGINES = frozenset({"psync", "sync"})


def fio_size_bytes(text: str) -> int:
    """Bytes of a fio size such as ``4k`` or ``64M`` (fio's default kb_base=1024)."""
    match = _FIO_SIZE.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a fio size like 4k, 1M or 4096")
    return int(match.group(1)) * _FIO_UNIT[match.group(2).lower()]


def drop_page_cache(path: Path) -> bool:
    """Evict a file from the page cache; False where the OS has no posix_fadvise."""
    if not hasattr(os, "posix_fadvise"):
        return False
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)  # DONTNEED skips dirty pages: write them back first
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)
    return True


def supports_o_direct(directory: Path) -> bool:
    """Whether files in ``directory`` accept O_DIRECT writes and reads of one page."""
    flag = getattr(os, "O_DIRECT", None)
    if flag is None:
        return False
    probe = directory / f".fleetwise-odirect-{os.getpid()}"
    try:
        fd = os.open(probe, os.O_RDWR | os.O_CREAT | os.O_TRUNC | flag, 0o600)
    except OSError:  # EINVAL: the filesystem refuses O_DIRECT at open
        return False
    buf = mmap.mmap(-1, mmap.PAGESIZE)  # page-aligned, as O_DIRECT requires
    try:
        os.pwrite(fd, buf, 0)
        os.preadv(fd, [buf], 0)
        return True
    except OSError:  # some filesystems accept the flag but fail the first I/O
        return False
    finally:
        buf.close()
        os.close(fd)
        probe.unlink(missing_ok=True)


def _import_torch() -> Any:
    try:
        import torch
    except ImportError as exc:
        raise MissingDependencyError("torch", "torch") from exc
    return torch


@register
class FioBench(Benchmark):
    """One fio job on one file, re-run for every sample.

    Each of the ``numjobs`` jobs has its own file of ``size`` bytes, laid out once in
    setup (fio ``--create_only``); each sample is one ``fio --time_based --runtime`` run
    with ``--group_reporting`` (all jobs reported as one). ``bw`` is fio's
    ``bw_bytes`` / 1e6 (MB/s, not MiB/s); ``clat_p50``/``clat_p99`` are fio's completion
    latency percentiles (submission to completion, without submission latency) in us.
    Buffered writes (``direct`` false or refused) add ``--fdatasync`` once per pass over
    the file and ``--end_fsync=1``, so flushing the data to the device is inside fio's
    runtime instead of the page cache absorbing it (their ``clat`` is then the copy into
    the page cache; fio reports the sync latency apart).
    """

    name: ClassVar[str] = "storage.fio"
    layer: ClassVar[Literal["storage"]] = "storage"
    description: ClassVar[str] = "fio on one file: bandwidth, IOPS, completion latency"
    LOCAL_PARAMS: ClassVar[frozenset[str]] = frozenset({"directory"})

    class Params(BenchParams):
        rw: Literal["read", "write", "randread", "randwrite"] = "randread"
        bs: str = "4k"
        size: str = "64M"
        runtime_s: float = Field(default=1.0, ge=0.01, le=3600)
        iodepth: int = Field(default=16, ge=1, le=4096)
        numjobs: int = Field(default=1, ge=1, le=256)
        #: ``auto``: libaio where this fio has it, else psync.
        ioengine: Literal["auto", "libaio", "io_uring", "posixaio", "psync", "sync"] = "auto"
        direct: bool = True
        #: Where the test file goes (a mount point under test); default: the case workdir.
        directory: str | None = None

        @field_validator("bs", "size")
        @classmethod
        def _fio_size(cls, value: str) -> str:
            fio_size_bytes(value)
            return value

        @model_validator(mode="after")
        def _size_holds_a_block(self) -> FioBench.Params:
            if fio_size_bytes(self.size) < fio_size_bytes(self.bs):
                raise ValueError(f"size {self.size} is smaller than one block of bs {self.bs}")
            return self

    params: Params

    @classmethod
    def metrics(cls, params: BenchParams) -> list[MetricSpec]:
        return [
            MetricSpec("bw", "MB/s", "higher"),
            MetricSpec("iops", "IO/s", "higher"),
            MetricSpec("clat_p50", "us", "lower"),
            MetricSpec("clat_p99", "us", "lower"),
        ]

    def setup(self) -> None:
        p = self.params
        fio = shutil.which("fio")
        if fio is None:
            raise BenchmarkError(FIO_MISSING)
        self._fio = fio
        self._version = self._run([fio, "--version"], timeout=30).strip()
        engines = self._run([fio, "--enghelp"], timeout=30).split()
        if p.ioengine == "auto":
            self._engine = "libaio" if "libaio" in engines else "psync"
        elif p.ioengine not in engines:
            raise BenchmarkError(f"storage.fio: this fio ({self._version}) has no {p.ioengine}")
        else:
            self._engine = p.ioengine
        self._dir = Path(p.directory) if p.directory else self.ctx.workdir
        if not self._dir.is_dir():
            raise InputError(f"storage.fio: directory {str(self._dir)!r} does not exist")
        self._direct = p.direct
        if p.direct and not supports_o_direct(self._dir):
            self._direct = False
            self.ctx.notes.append(
                f"O_DIRECT refused by the filesystem of {self._dir}: ran buffered (direct=0); "
                "page cache dropped with posix_fadvise DONTNEED before each sample"
            )
        self._iodepth = p.iodepth
        if self._engine in _SYNC_ENGINES and p.iodepth > 1:
            self._iodepth = 1
            self.ctx.notes.append(f"ioengine {self._engine} is synchronous: iodepth capped at 1")
        elif self._engine == "libaio" and not self._direct:
            self.ctx.notes.append("libaio on buffered I/O submits synchronously: iodepth inert")
        # One file per job (fio's $jobnum), so jobs never read pages another job cached.
        stem = f"fleetwise-fio-{os.getpid()}"
        self._files = [self._dir / f"{stem}.{job}" for job in range(p.numjobs)]
        self._file_format = f"{stem}.$jobnum"
        # A read job lays the file out with data; a write job's layout only fallocates, and
        # reads of unwritten extents return zeros without touching the device.
        layout = {"name": "layout", "rw": "read", "create_only": 1}
        self._run(self._argv(**layout), timeout=600)
        self._cache_dropped = True

    def _argv(self, **options: object) -> list[str]:
        p = self.params
        opts = {
            "directory": self._dir,
            "filename_format": self._file_format,
            "size": p.size,
            "bs": p.bs,
            "numjobs": p.numjobs,
            **options,
        }
        return [self._fio, *(f"--{k}={v}" for k, v in opts.items()), "--output-format=json"]

    def _job_options(self) -> dict[str, object]:
        p = self.params
        opts: dict[str, object] = {
            "name": f"fleetwise-{p.rw}",
            "rw": p.rw,
            "ioengine": self._engine,
            "direct": int(self._direct),
            "iodepth": self._iodepth,
            "time_based": 1,
            "runtime": f"{round(p.runtime_s * 1000)}ms",
            "group_reporting": 1,
        }
        if self._direct:
            return opts
        if p.rw.endswith("write"):
            # Buffered writes would otherwise rewrite the page cache for the whole runtime:
            # sync once per pass over the file and at the end, inside fio's runtime.
            blocks = fio_size_bytes(p.size) // fio_size_bytes(p.bs)
            opts.update(fdatasync=blocks, end_fsync=1)
        else:
            # A time-based loop would re-read the file from the page cache after its first
            # pass: read it once, cold, with the runtime as a cap (bw is then noisier).
            del opts["time_based"]
        return opts

    def sample(self) -> dict[str, float]:
        if not self._direct:
            for path in self._files:
                self._cache_dropped &= drop_page_cache(path)
        argv = self._argv(**self._job_options())
        out = self._run(argv, timeout=self.params.runtime_s * 10 + 120)
        report = fio_json.parse_text(out, source="fio stdout")
        job = report.jobs[0]
        if job.error:
            raise RuntimeError(f"fio job failed with error {job.error}")
        ddir = "read" if self.params.rw.endswith("read") else "write"
        result = job.directions.get(ddir)
        if result is None:
            raise RuntimeError(f"fio did no {ddir} I/O")
        if result.clat_p50_us is None or result.clat_p99_us is None:
            raise RuntimeError("fio reported no completion-latency percentiles")
        return {
            "bw": result.bw_bytes_per_s / 1e6,
            "iops": result.iops,
            "clat_p50": result.clat_p50_us,
            "clat_p99": result.clat_p99_us,
        }

    def teardown(self) -> None:
        for path in self._files:
            path.unlink(missing_ok=True)

    def resolved_params(self) -> dict[str, Any]:
        if self._direct:
            cache = "bypassed (O_DIRECT)"
        elif self._cache_dropped:
            cache = "dropped before each sample (fsync + posix_fadvise DONTNEED)"
        else:
            cache = "NOT dropped (no posix_fadvise here): reads may come from memory"
        return {
            **self.params.model_dump(mode="json"),
            "ioengine": self._engine,
            "direct": self._direct,
            "iodepth": self._iodepth,
            "directory": str(self._dir.resolve()),
            "bs_bytes": fio_size_bytes(self.params.bs),
            "size_bytes_per_job": fio_size_bytes(self.params.size),
            "fio_args": self._argv(**self._job_options())[1:],
            "page_cache": cache,
            "fio_version": self._version,
            "bw_unit": "MB/s = 1e6 bytes/s",
        }

    def calibration(self) -> dict[str, Any]:
        timed = "time_based" in self._job_options()
        kind = "fio --time_based" if timed else "fio, one pass (runtime is a cap)"
        return {"timer": kind, "runtime_s": self.params.runtime_s, "loops": 1}

    @staticmethod
    def _run(argv: list[str], timeout: float) -> str:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
        if proc.returncode != 0:
            tail = (proc.stderr or proc.stdout).strip()[-800:]
            raise RuntimeError(f"{' '.join(argv[:2])} ... exited {proc.returncode}: {tail}")
        return proc.stdout


class NpyFiles:
    """Map-style dataset: item i is file i read with ``numpy.load`` as a tensor.

    Module-level (not nested) so DataLoader workers can unpickle it under spawn too.
    """

    def __init__(self, paths: list[Path]) -> None:
        self.paths = paths

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> Any:
        import numpy as np
        import torch

        return torch.from_numpy(np.load(self.paths[index]))


@register
class DataLoaderBench(Benchmark):
    """One epoch of ``torch.utils.data.DataLoader`` over ``files`` small ``.npy`` files.

    The files (random float32, so no filesystem can compress them away) are written
    and fsynced once in setup. With ``cache: cold`` every file is evicted from the page
    cache before each epoch, so the epoch reads from the device; ``warm`` measures the
    loader itself over cached data. With ``persistent_workers: false`` (the default and
    PyTorch's) worker start-up is inside the timed epoch, as a training job pays it each
    epoch. ``mb_per_s`` counts the bytes of the files read (array data + .npy header).
    """

    name: ClassVar[str] = "storage.dataloader"
    layer: ClassVar[Literal["storage"]] = "storage"
    description: ClassVar[str] = "DataLoader epoch over small .npy files: samples/s, MB/s"

    class Params(BenchParams):
        files: int = Field(default=256, ge=1, le=1_000_000)
        file_kb: int = Field(default=64, ge=1, le=1 << 20)
        batch_size: int = Field(default=32, ge=1)
        num_workers: int = Field(default=2, ge=0, le=256)
        pin_memory: bool = False
        cache: Literal["cold", "warm"] = "cold"
        persistent_workers: bool = False
        #: batches each worker loads ahead; unset: PyTorch's default (2 with workers)
        prefetch_factor: int | None = Field(default=None, ge=1, le=64)

        @model_validator(mode="after")
        def _persistent_needs_workers(self) -> DataLoaderBench.Params:
            if self.persistent_workers and self.num_workers == 0:
                raise ValueError("persistent_workers needs num_workers >= 1")
            if self.prefetch_factor is not None and self.num_workers == 0:
                raise ValueError("prefetch_factor needs num_workers >= 1")
            return self

    params: Params

    @classmethod
    def metrics(cls, params: BenchParams) -> list[MetricSpec]:
        return [
            MetricSpec("samples_per_s", "samples/s", "higher"),
            MetricSpec("mb_per_s", "MB/s", "higher"),
        ]

    def setup(self) -> None:
        import numpy as np

        torch = _import_torch()
        p = self.params
        self._torch = torch
        data_dir = self.ctx.workdir / "dataloader"
        data_dir.mkdir(parents=True, exist_ok=True)
        rng = np.random.default_rng(self.ctx.seed)
        self._paths = [data_dir / f"{i:06d}.npy" for i in range(p.files)]
        for path in self._paths:
            with path.open("wb") as fh:
                np.save(fh, rng.standard_normal(p.file_kb * 256, dtype=np.float32))
                fh.flush()
                os.fsync(fh.fileno())
        self._bytes = sum(path.stat().st_size for path in self._paths)
        accel = getattr(torch, "accelerator", None)
        has_accel = accel.is_available() if accel is not None else torch.cuda.is_available()
        # Pinning needs an accelerator; without one torch only warns and ignores the flag.
        self._pin = p.pin_memory and bool(has_accel)
        if p.pin_memory and not self._pin:
            self.ctx.notes.append("pin_memory requested but no accelerator: ran unpinned")
        self._pinned_seen: bool | None = None
        self._cache_dropped = True
        self._loader = self._make_loader() if p.persistent_workers else None

    def _make_loader(self) -> Any:
        p = self.params
        return self._torch.utils.data.DataLoader(
            NpyFiles(self._paths),
            batch_size=p.batch_size,
            shuffle=False,
            num_workers=p.num_workers,
            pin_memory=self._pin,
            persistent_workers=p.persistent_workers,
            prefetch_factor=p.prefetch_factor,
        )

    def sample(self) -> dict[str, float]:
        if self.params.cache == "cold":
            for path in self._paths:
                self._cache_dropped &= drop_page_cache(path)
        loader = self._loader if self._loader is not None else self._make_loader()
        seen = 0
        start = time.perf_counter()
        for batch in loader:
            seen += int(batch.shape[0])
            if self._pin and self._pinned_seen is None:
                self._pinned_seen = bool(batch.is_pinned())
        elapsed = time.perf_counter() - start
        if seen != len(self._paths):
            raise RuntimeError(f"epoch yielded {seen} samples, expected {len(self._paths)}")
        return {"samples_per_s": seen / elapsed, "mb_per_s": self._bytes / elapsed / 1e6}

    def teardown(self) -> None:
        self._loader = None
        for path in self._paths:
            path.unlink(missing_ok=True)

    def resolved_params(self) -> dict[str, Any]:
        return {
            **self.params.model_dump(mode="json"),
            "pin_memory_applied": bool(self._pinned_seen) if self._pin else False,
            "bytes_per_epoch": self._bytes,
            "worker_start_method": self._torch.multiprocessing.get_start_method(),
            "page_cache": (
                "dropped before each epoch (fsync + posix_fadvise DONTNEED)"
                if self.params.cache == "cold" and self._cache_dropped
                else "warm"
                if self.params.cache == "warm"
                else "NOT dropped (no posix_fadvise here)"
            ),
            "torch_version": str(self._torch.__version__),
        }

    def calibration(self) -> dict[str, Any]:
        return {"timer": "perf_counter", "loops": 1, "unit": "one epoch"}


@register
class CheckpointBench(Benchmark):
    """``torch.save`` of a model-like state dict to a new file, fsync, then ``torch.load``.

    ``save`` runs from the call to the end of ``os.fsync``, so the data has reached the
    device. Before ``load`` the file is evicted from the page cache, so it is read back
    from the device; ``weights_only=True`` as a safe loader would. With ``device: cuda``
    the tensors live on the GPU, so ``save`` includes the device-to-host copy and
    ``load`` (``map_location=cuda``, then a synchronise) the host-to-device copy.
    GB/s counts tensor bytes (GB = 1e9), not the file's few extra bytes of pickle/zip.
    """

    name: ClassVar[str] = "storage.checkpoint"
    layer: ClassVar[Literal["storage"]] = "storage"
    description: ClassVar[str] = "checkpoint save (+fsync) and cold load of a state dict, GB/s"

    class Params(BenchParams):
        #: Total tensor payload in MB (1e6 bytes) of float32.
        size_mb: float = Field(default=128, gt=0, le=1_000_000)
        tensors: int = Field(default=16, ge=1, le=100_000)
        device: str = "auto"

        @field_validator("device")
        @classmethod
        def _known_device(cls, value: str) -> str:
            if value not in ("auto", "cpu") and not value.startswith("cuda"):
                raise ValueError("device must be auto, cpu or cuda[:N]")
            return value

    params: Params

    @classmethod
    def metrics(cls, params: BenchParams) -> list[MetricSpec]:
        return [MetricSpec("save", "GB/s", "higher"), MetricSpec("load", "GB/s", "higher")]

    def setup(self) -> None:
        torch = _import_torch()
        p = self.params
        self._torch = torch
        self._device = resolve_device(p.device)
        if self._device.startswith("cuda"):
            require_cuda("storage.checkpoint on cuda")
        elems = max(1, int(p.size_mb * 1e6) // 4 // p.tensors)
        cols = min(1024, elems)
        self._shape = (elems // cols, cols)
        gen = torch.Generator().manual_seed(self.ctx.seed)
        # Random values: a compressing filesystem (ZFS, btrfs) cannot shrink them.
        self._state = {
            f"layers.{i}.weight": torch.randn(self._shape, generator=gen).to(self._device)
            for i in range(p.tensors)
        }
        self._bytes = sum(int(t.numel()) * t.element_size() for t in self._state.values())
        self._path = self.ctx.workdir / f"fleetwise-checkpoint-{os.getpid()}.pt"
        self._file_bytes = 0
        self._cache_dropped = True

    def _sync(self) -> None:
        if self._device.startswith("cuda"):
            self._torch.cuda.synchronize()

    def sample(self) -> dict[str, float]:
        torch = self._torch
        self._path.unlink(missing_ok=True)  # a new file each time, as a new checkpoint is
        self._sync()
        start = time.perf_counter()
        with self._path.open("wb") as fh:
            torch.save(self._state, fh)
            fh.flush()
            os.fsync(fh.fileno())
        saved = time.perf_counter()
        self._file_bytes = self._path.stat().st_size
        self._cache_dropped &= drop_page_cache(self._path)
        start_load = time.perf_counter()
        loaded = torch.load(self._path, map_location=self._device, weights_only=True)
        self._sync()
        done = time.perf_counter()
        if len(cast(dict[str, Any], loaded)) != len(self._state):
            raise RuntimeError("checkpoint loaded with a different number of tensors")
        del loaded
        return {
            "save": self._bytes / (saved - start) / 1e9,
            "load": self._bytes / (done - start_load) / 1e9,
        }

    def teardown(self) -> None:
        self._path.unlink(missing_ok=True)
        self._state = {}

    def resolved_params(self) -> dict[str, Any]:
        return {
            **self.params.model_dump(mode="json"),
            "device": self._device,
            "dtype": "float32",
            "tensor_shape": list(self._shape),
            "tensor_bytes": self._bytes,
            "file_bytes": self._file_bytes,
            "page_cache": "dropped before load (fsync + posix_fadvise DONTNEED)"
            if self._cache_dropped
            else "NOT dropped (no posix_fadvise here): load may come from memory",
            "torch_version": str(self._torch.__version__),
        }

    def calibration(self) -> dict[str, Any]:
        return {"timer": "perf_counter", "loops": 1, "unit": "one save + one load"}
