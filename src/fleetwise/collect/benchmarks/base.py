"""The contract every benchmark follows, and the registry that finds them.

A benchmark class declares its name (``layer.what``), its parameters as a pydantic model
(unknown keys are rejected, so a typo in a suite file is an error, not a silent default),
and the metrics it produces. The worker process (``collect/worker.py``) instantiates it
once per case, calls :meth:`Benchmark.setup`, discards the warm-up samples, and collects
``repeat`` calls of :meth:`Benchmark.sample`, each returning one value per metric.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError

from fleetwise.errors import BenchmarkError, InputError
from fleetwise.models import Direction, Layer, Peak


class BenchParams(BaseModel):
    """Base of every benchmark's parameter model: strict, no unknown keys."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class MetricSpec:
    """What one metric of a benchmark measures."""

    name: str
    unit: str
    direction: Direction
    #: Which hardware peak this metric is compared with: ``"flops"`` (per dtype),
    #: ``"membw"``, or ``None`` when no peak applies.
    peak: str | None = None


@dataclass
class CaseContext:
    """What the worker hands to a benchmark: where to put files, how long to sample."""

    workdir: Path
    min_sample_time: float = 0.05
    seed: int = 0
    #: Notes the benchmark wants attached to its results (e.g. "O_DIRECT unsupported").
    notes: list[str] = field(default_factory=list)


class Benchmark(ABC):
    """One benchmark. Subclasses set the class variables and implement the hooks."""

    name: ClassVar[str]
    layer: ClassVar[Layer]
    description: ClassVar[str]
    Params: ClassVar[type[BenchParams]] = BenchParams
    #: Parameters that name a place on this machine (a directory): they are recorded with
    #: the result's details but kept out of its identity, so series compare across hosts.
    LOCAL_PARAMS: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, params: BenchParams, ctx: CaseContext) -> None:
        self.params = params
        self.ctx = ctx

    @classmethod
    def parse_params(cls, raw: Mapping[str, Any]) -> BenchParams:
        """Validate raw suite parameters; raises pydantic's ValidationError."""
        return cls.Params.model_validate(dict(raw))

    @classmethod
    @abstractmethod
    def metrics(cls, params: BenchParams) -> list[MetricSpec]:
        """The metrics a case with these parameters produces (known before running)."""

    def setup(self) -> None:  # noqa: B027 - optional hook
        """Allocate inputs, start helpers. Raise BenchmarkError when it cannot run here.

        :meth:`teardown` is called only after ``setup`` returned, so a ``setup`` that fails
        half-way must release what it already started (processes, files) itself.
        """

    @abstractmethod
    def sample(self) -> dict[str, float]:
        """Take one sample: one value for every metric in :meth:`metrics`."""

    def teardown(self) -> None:  # noqa: B027 - optional hook
        """Release what setup took."""

    def resolved_params(self) -> dict[str, Any]:
        """Parameters as actually run (e.g. ``device: auto`` resolved to ``cpu``)."""
        return self.params.model_dump(mode="json")

    def peak(self, spec: MetricSpec) -> Peak | None:
        """The hardware peak for a metric whose ``spec.peak`` is set, or None."""
        return None

    def calibration(self) -> dict[str, Any]:
        """Calibration facts to store with the results (loop count, timer kind)."""
        return {}


#: module path of every built-in benchmark module; importing one registers its classes.
BUILTIN_MODULES = (
    "fleetwise.collect.benchmarks.compute",
    "fleetwise.collect.benchmarks.storage",
    "fleetwise.collect.benchmarks.orchestration",
    "fleetwise.collect.benchmarks.network",
)

_REGISTRY: dict[str, type[Benchmark]] = {}


def register(cls: type[Benchmark]) -> type[Benchmark]:
    """Class decorator: make a benchmark findable by its name."""
    if cls.name in _REGISTRY and _REGISTRY[cls.name] is not cls:
        raise ValueError(f"benchmark {cls.name!r} registered twice")
    _REGISTRY[cls.name] = cls
    return cls


def _load_builtins() -> None:
    for module in BUILTIN_MODULES:
        importlib.import_module(module)


def registry() -> dict[str, type[Benchmark]]:
    """All known benchmarks by name (built-ins are imported on first call)."""
    _load_builtins()
    return dict(sorted(_REGISTRY.items()))


def get_benchmark(name: str) -> type[Benchmark]:
    bench = registry().get(name)
    if bench is None:
        known = ", ".join(registry())
        raise InputError(f"unknown benchmark {name!r}; known: {known}")
    return bench


def validate_params(bench: type[Benchmark], raw: Mapping[str, Any]) -> BenchParams:
    """Validate parameters, turning pydantic's error into an InputError naming the key."""
    try:
        return bench.parse_params(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"]) or "params"
        raise InputError(f"{bench.name}: parameter {key!r}: {first['msg']}") from exc


def require_cuda(what: str) -> None:
    """Raise BenchmarkError unless a CUDA device is usable."""
    import torch

    if not torch.cuda.is_available():
        raise BenchmarkError(f"{what} needs a CUDA GPU and none is available")
