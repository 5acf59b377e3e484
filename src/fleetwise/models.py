"""Typed records shared by every layer (pydantic v2).

These are the shapes that flow collect -> store -> analyze -> present. The store maps
them to tables (``store/schema.py``); exports serialise them with ``SCHEMA_VERSION``.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

#: Version of every exported JSON document and of the worker protocol.
SCHEMA_VERSION = 1

Direction = Literal["higher", "lower"]
Layer = Literal["compute", "storage", "orchestration", "network"]
#: Where a finding's bottleneck lives: the four benchmark layers plus the team's process.
FindingLayer = Literal["compute", "storage", "orchestration", "network", "delivery", "on-call"]


class RunStatus(StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


class ResultStatus(StrEnum):
    OK = "ok"
    FAILED = "failed"
    TIMEOUT = "timeout"
    SKIPPED = "skipped"


class Summary(BaseModel):
    """Descriptive statistics of one metric's raw samples."""

    model_config = ConfigDict(frozen=True)

    n: int
    median: float
    mean: float
    stdev: float
    iqr: float
    ci_low: float
    ci_high: float
    cv: float
    min: float
    max: float


class Peak(BaseModel):
    """A hardware peak a metric is compared with, and where the figure comes from."""

    model_config = ConfigDict(frozen=True)

    value: float
    unit: str
    source: str
    estimated: bool = False


class ResultRecord(BaseModel):
    """One metric of one benchmark case in one run."""

    id: int | None = None
    run_id: int | None = None
    case_key: str
    case_index: int
    benchmark: str
    layer: str
    params: dict[str, Any]
    metric: str
    unit: str
    direction: Direction
    status: ResultStatus = ResultStatus.OK
    error: str | None = None
    samples: list[float] = Field(default_factory=list)
    summary: Summary | None = None
    peak: Peak | None = None
    efficiency: float | None = None
    warnings: list[str] = Field(default_factory=list)
    calibration: dict[str, Any] = Field(default_factory=dict)
    environment_id: int | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None


class RunRecord(BaseModel):
    """One execution of a suite."""

    id: int
    suite: str
    status: RunStatus
    executor: str
    started_at: datetime
    finished_at: datetime | None = None
    environment_id: int | None = None
    tags: list[str] = Field(default_factory=list)
    config: dict[str, Any] = Field(default_factory=dict)
    host: str = ""
    pid: int | None = None
    end_state: dict[str, Any] = Field(default_factory=dict)
    error: str | None = None


class EnvironmentRecord(BaseModel):
    """A stored environment fingerprint; ``data`` is the full fingerprint document."""

    id: int
    fingerprint_hash: str
    host: str
    data: dict[str, Any]
    created_at: datetime


class SeriesKey(BaseModel):
    """A result identity over runs: benchmark + parameters + metric + environment class.

    The environment class is the hardware (CPU model and usable cores, GPU model and
    count): the same case on another kind of machine is another series.
    """

    model_config = ConfigDict(frozen=True)

    benchmark: str
    metric: str
    params_hash: str
    env_class: str
    params: dict[str, Any] = Field(default_factory=dict)
    unit: str = ""
    direction: Direction = "higher"
    hardware: str = ""

    @property
    def id(self) -> str:
        """``benchmark:metric:params8:env6``; a prefix of it selects series in the CLI."""
        return f"{self.benchmark}:{self.metric}:{self.params_hash[:8]}:{self.env_class[:6]}"


class SeriesPoint(BaseModel):
    """One run's result in a series (its median is the series value)."""

    run_id: int
    result_id: int
    time: datetime
    median: float
    ci_low: float
    ci_high: float
    n: int
    environment_id: int | None = None
    run_start_state: dict[str, Any] = Field(default_factory=dict)


class Series(BaseModel):
    """A series and its points, oldest first."""

    key: SeriesKey
    points: list[SeriesPoint]


class Severity(StrEnum):
    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class Evidence(BaseModel):
    """One number behind a finding and the record or file it was computed from."""

    model_config = ConfigDict(frozen=True)

    label: str
    value: float | int | str
    unit: str = ""
    #: e.g. ``trace:run1/rank0.json.gz``, ``result:42``, ``jobs:sacct.txt``.
    source: str = ""


class Cost(BaseModel):
    """What a finding costs per year, and the assumptions that turn time into money."""

    model_config = ConfigDict(frozen=True)

    gpu_hours_per_year: float
    usd_per_year: float
    #: e.g. {"fleet_gpus": 512, "usd_per_gpu_hour": 2.5, "basis": "..."}
    assumptions: dict[str, Any] = Field(default_factory=dict)


class Finding(BaseModel):
    """A bottleneck with its evidence and estimated cost: what diagnosis hands to the plan."""

    id: int | None = None
    analysis_id: int | None = None
    #: Catalog key of the finding kind, e.g. ``trace.host_bound`` or ``cluster.fragmentation``.
    kind: str
    layer: FindingLayer
    title: str
    detail: str = ""
    severity: Severity = Severity.MEDIUM
    evidence: list[Evidence] = Field(default_factory=list)
    cost: Cost | None = None
    recommendations: list[str] = Field(default_factory=list)


class AnalysisRecord(BaseModel):
    """One stored diagnosis (a trace set, a cluster log...): its summary and findings."""

    id: int
    #: What was analysed: ``trace``, ``cluster``, ``process``...
    kind: str
    #: The input it was computed from (a folder, a file, a store query).
    source: str
    created_at: datetime
    tags: list[str] = Field(default_factory=list)
    summary: dict[str, Any] = Field(default_factory=dict)
    findings: list[Finding] = Field(default_factory=list)
