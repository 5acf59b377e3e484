"""Suite files: YAML validated by pydantic, with errors that name the file, line and key.

A suite is a list of cases; a case names a benchmark, its parameters, and optionally a
``matrix`` whose cartesian product expands into several cases. Unknown keys anywhere,
including a benchmark's parameters, are errors: a typo must never silently fall back to a
default and measure something else.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from fleetwise.collect.benchmarks.base import registry
from fleetwise.errors import SuiteError
from fleetwise.textfile import first_problem, read_yaml

SUITE_SCHEMA_VERSION = 1


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


#: A day, in seconds: no single case samples or waits longer.
_DAY_S = 86_400
#: Samples or warm-up runs of one case.
_MAX_REPEAT = 100_000
#: Worker processes of one case.
_MAX_PROCESSES = 1_000
#: Worker processes per case when a suite file sets none. Measured with
#: ``benchmarks/harness.py`` (benchmarks/README.md): ten workers of three values each bring
#: the workers' own share of a run's run-to-run spread (the bootstrap SE of the median over
#: processes) to 0.4-1.2% on GEMM and copy, below this VM's drift between runs, where one
#: worker leaves a run at one process's luck (copy 3.1-11.3%, dispatch 7-22% CV of runs).
#: pyperf runs 20. The quick suite sets 1 (its budget is two minutes), the gpu suite fewer.
DEFAULT_PROCESSES = 10
#: Workers an adaptive case may add when the suite sets no ``max_processes``: pyperf's 20
#: processes are the fixed plan it trusts; adaptive stopping may need a few more on a noisy host.
DEFAULT_MAX_PROCESSES = 30


class Defaults(_Strict):
    warmup: int = Field(default=1, ge=0, le=_MAX_REPEAT)
    repeat: int = Field(default=5, ge=1, le=_MAX_REPEAT)
    min_sample_time: float = Field(default=0.05, gt=0, le=_DAY_S)
    #: seconds before the case's process is killed and the case stored as timed out
    timeout: float = Field(default=120.0, gt=0, le=_DAY_S)
    #: optional sampling budget in seconds (at least 3 samples are always taken)
    max_time: float | None = Field(default=None, gt=0, le=_DAY_S)
    #: worker processes per case, each with its own warm-up, calibration and ``repeat``
    #: samples (pyperf's lesson); with ``ci_target`` set, the workers taken before the
    #: first stopping check
    processes: int = Field(default=DEFAULT_PROCESSES, ge=1, le=_MAX_PROCESSES)
    #: adaptive stopping: add workers until the 95% CI half-width of the headline metric's
    #: median over processes is at most this fraction of the median (0.01 = 1%)
    ci_target: float | None = Field(default=None, gt=0, lt=1)
    #: adaptive stopping: the most workers a case may use
    max_processes: int = Field(default=DEFAULT_MAX_PROCESSES, ge=1, le=_MAX_PROCESSES)
    #: adaptive stopping: seconds after which no further worker is started
    budget: float | None = Field(default=None, gt=0, le=_DAY_S)


class CaseSpec(_Strict):
    benchmark: str
    params: dict[str, Any] = Field(default_factory=dict)
    matrix: dict[str, list[Any]] = Field(default_factory=dict)
    warmup: int | None = Field(default=None, ge=0, le=_MAX_REPEAT)
    repeat: int | None = Field(default=None, ge=1, le=_MAX_REPEAT)
    min_sample_time: float | None = Field(default=None, gt=0, le=_DAY_S)
    timeout: float | None = Field(default=None, gt=0, le=_DAY_S)
    max_time: float | None = Field(default=None, gt=0, le=_DAY_S)
    processes: int | None = Field(default=None, ge=1, le=_MAX_PROCESSES)
    ci_target: float | None = Field(default=None, gt=0, lt=1)
    max_processes: int | None = Field(default=None, ge=1, le=_MAX_PROCESSES)
    budget: float | None = Field(default=None, gt=0, le=_DAY_S)


class SuiteFile(_Strict):
    schema_version: int = SUITE_SCHEMA_VERSION
    name: str
    description: str = ""
    defaults: Defaults = Field(default_factory=lambda: Defaults())
    cases: list[CaseSpec] = Field(min_length=1)


class Case(BaseModel):
    """One resolved case: a benchmark with validated parameters and its sampling plan."""

    index: int
    key: str
    benchmark: str
    params: dict[str, Any]
    #: the parameter names the suite file set (the rest are defaults), for display
    declared: list[str] = Field(default_factory=list)
    warmup: int
    repeat: int
    min_sample_time: float
    timeout: float
    max_time: float | None = None
    #: worker processes (the minimum when ``ci_target`` is set); 1 is a single worker
    processes: int = 1
    ci_target: float | None = None
    max_processes: int = DEFAULT_MAX_PROCESSES
    budget: float | None = None

    @property
    def adaptive(self) -> bool:
        return self.ci_target is not None


class Suite(BaseModel):
    name: str
    description: str = ""
    source: str
    cases: list[Case]

    def config(self) -> dict[str, Any]:
        """The resolved suite as stored with a run (enough to resume or re-run it)."""
        return self.model_dump(mode="json")

    def with_plan(
        self,
        *,
        processes: int | None = None,
        ci_target: float | None = None,
        max_processes: int | None = None,
        budget: float | None = None,
    ) -> Suite:
        """This suite with the worker-process plan of every case overridden where given
        (``bench run --processes/--ci-target/--max-processes/--budget``)."""
        given = {
            "processes": processes,
            "ci_target": ci_target,
            "max_processes": max_processes,
            "budget": budget,
        }
        changes = {k: v for k, v in given.items() if v is not None}
        plan = Defaults.model_validate(changes)  # the suite file's bounds apply
        update = {k: getattr(plan, k) for k in changes}
        return self.model_copy(update={"cases": [c.model_copy(update=update) for c in self.cases]})


def builtin_suites() -> list[str]:
    folder = resources.files("fleetwise.collect") / "suites"
    return sorted(
        p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml")
    )


def resolve_suite_path(name_or_path: str) -> Path:
    """A built-in suite name (``quick``) or a path to a YAML file."""
    path = Path(name_or_path)
    if path.suffix in {".yaml", ".yml"} or path.exists():
        if not path.is_file():
            raise SuiteError(f"{path}: suite file not found")
        return path
    folder = resources.files("fleetwise.collect") / "suites"
    candidate = folder / f"{name_or_path}.yaml"
    if not candidate.is_file():
        known = ", ".join(builtin_suites())
        raise SuiteError(
            f"{name_or_path}: no such suite file or built-in suite (built-in: {known})"
        )
    return Path(str(candidate))


def case_key(index: int, benchmark: str, params: dict[str, Any]) -> str:
    blob = json.dumps(params, sort_keys=True, separators=(",", ":"), default=str)
    digest = hashlib.sha256(f"{benchmark}|{blob}".encode()).hexdigest()[:10]
    return f"{index:03d}-{digest}"


def _line_of(node: yaml.Node | None, loc: Sequence[int | str]) -> int | None:
    """1-based line of the YAML node at ``loc`` (a pydantic error location)."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if key_node.value == str(part):
                    line = key_node.start_mark.line + 1
                    node = value_node
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                return line
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def _error(path: Path, root: yaml.Node | None, loc: Sequence[int | str], msg: str) -> SuiteError:
    line = _line_of(root, loc)
    where = f"{path}:{line}" if line else str(path)
    key = ".".join(str(p) for p in loc)
    return SuiteError(f"{where}: {key}: {msg}" if key else f"{where}: {msg}")


def load_suite(name_or_path: str) -> Suite:
    """Read, validate and expand a suite file. Raises SuiteError naming file, line, key."""
    path = resolve_suite_path(name_or_path)
    root, raw = read_yaml(path, SuiteError)
    if not isinstance(raw, dict):
        raise SuiteError(f"{path}: a suite file must be a YAML mapping with 'name' and 'cases'")
    try:
        doc = SuiteFile.model_validate(raw)
    except ValidationError as exc:
        loc, msg = first_problem(exc)
        raise _error(path, root, loc, msg) from exc
    if doc.schema_version > SUITE_SCHEMA_VERSION:
        raise SuiteError(
            f"{path}: schema_version {doc.schema_version} is newer than this fleetwise "
            f"reads ({SUITE_SCHEMA_VERSION}); upgrade fleetwise"
        )
    return Suite(
        name=doc.name, description=doc.description, source=str(path), cases=_expand(path, root, doc)
    )


def _expand(path: Path, root: yaml.Node | None, doc: SuiteFile) -> list[Case]:
    benches = registry()
    cases: list[Case] = []
    for i, spec in enumerate(doc.cases):
        bench = benches.get(spec.benchmark)
        if bench is None:
            msg = f"unknown benchmark {spec.benchmark!r}; known: {', '.join(benches)}"
            raise _error(path, root, ("cases", i, "benchmark"), msg)
        keys = list(spec.matrix)
        for key in keys:
            if not spec.matrix[key]:
                raise _error(path, root, ("cases", i, "matrix", key), "empty list")
        combos = itertools.product(*(spec.matrix[k] for k in keys)) if keys else [()]
        for combo in combos:
            raw = {**spec.params, **dict(zip(keys, combo, strict=True))}
            try:
                params = bench.parse_params(raw)
            except ValidationError as exc:
                first = exc.errors()[0]
                where = "matrix" if first["loc"] and first["loc"][0] in spec.matrix else "params"
                msg = "unknown parameter" if first["type"] == "extra_forbidden" else first["msg"]
                raise _error(path, root, ("cases", i, where, *first["loc"]), msg) from exc
            dumped = params.model_dump(mode="json")
            index = len(cases)
            cases.append(
                Case(
                    index=index,
                    key=case_key(index, bench.name, dumped),
                    benchmark=bench.name,
                    params=dumped,
                    declared=sorted(raw),
                    warmup=spec.warmup if spec.warmup is not None else doc.defaults.warmup,
                    repeat=spec.repeat or doc.defaults.repeat,
                    min_sample_time=spec.min_sample_time or doc.defaults.min_sample_time,
                    timeout=spec.timeout or doc.defaults.timeout,
                    max_time=spec.max_time or doc.defaults.max_time,
                    processes=spec.processes or doc.defaults.processes,
                    ci_target=spec.ci_target or doc.defaults.ci_target,
                    max_processes=spec.max_processes or doc.defaults.max_processes,
                    budget=spec.budget or doc.defaults.budget,
                )
            )
    return cases
