"""Typed records shared by every layer (pydantic v2).

These are the shapes that flow collect -> store -> analyze -> present. The store maps
them to tables (``store/schema.py``); exports serialise them with ``SCHEMA_VERSION``.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from fleetwise.checked import Change, Day, EffortDays, Finite, Impact, Moment, Money, Reach, Share

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
    #: Why the host was unhealthy or throttled when this result was taken (XID, ECC, GPU
    #: throttled, CPU thermal throttling, CPU steal); such points are left out of
    #: change-point detection unless asked for.
    unhealthy: list[str] = Field(default_factory=list)


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

    @classmethod
    def of_gpu_hours(cls, hours: float, usd_per_gpu_hour: float, basis: str, **more: Any) -> Cost:
        """GPU-hours a year priced at ``usd_per_gpu_hour`` (hours to 0.1, dollars to the
        cent), with the price, the basis and any other assumption kept beside them."""
        return cls(
            gpu_hours_per_year=round(hours, 1),
            usd_per_year=round(hours * usd_per_gpu_hour, 2),
            assumptions={**more, "usd_per_gpu_hour": usd_per_gpu_hour, "basis": basis},
        )


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
    #: Share of the subject's GPU time the problem wastes (traces, benchmarks), from which
    #: the ledger prices it for the GPUs the subject represents.
    share: float | None = Field(default=None, ge=0, le=1)


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


#: What a delivery or on-call event is (see ``ProcessEvent``).
ProcessEventKind = Literal[
    "change", "deployment", "incident", "pipeline_stage", "page", "infra_change"
]


class ProcessEvent(BaseModel):
    """One delivery or on-call event, as imported from Four Keys, CI or paging exports.

    The meaning of the times depends on ``kind``:

    - ``change``: ``time`` committed.
    - ``deployment``: ``time`` deployed; ``links`` the changes it shipped.
    - ``incident``: ``time`` created, ``ended_at`` resolved; ``links`` root-cause changes.
    - ``pipeline_stage``: ``time`` queued, ``started_at`` started, ``ended_at`` finished,
      ``status`` the result; ``group`` the pipeline (CI run) it belongs to.
    - ``page``: ``time`` created, ``acknowledged_at``, ``ended_at`` resolved, ``status``
      urgency or priority; ``payload`` carries title, escalations and assignee.
    - ``infra_change``: ``time`` the platform change (driver, CUDA, NCCL, firmware, kernel,
      scheduler...) was done, ``ended_at`` rolled back; ``group`` its component; ``payload``
      carries from/to versions and scope.
    """

    id: int | None = None
    kind: ProcessEventKind
    #: The export it came from, e.g. ``fourkeys:deployments.csv`` or ``pagerduty:pd.json``.
    source: str
    #: Natural id in that export (change sha, deploy id, ``pipeline/stage/attempt``...).
    key: str
    time: datetime
    started_at: datetime | None = None
    acknowledged_at: datetime | None = None
    ended_at: datetime | None = None
    team: str = ""
    service: str = ""
    group: str = ""
    status: str = ""
    links: list[str] = Field(default_factory=list)
    payload: dict[str, Any] = Field(default_factory=dict)


class JobState(StrEnum):
    """A cluster job's final (or current) state, common to Slurm, Kubernetes, Philly, Helios."""

    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    TIMEOUT = "timeout"
    RUNNING = "running"
    PENDING = "pending"
    UNKNOWN = "unknown"


class JobRecord(BaseModel):
    """One job of a cluster's log (DESIGN.md, "Job"): who, when, how many GPUs, outcome."""

    id: int | None = None
    job_id: str
    user: str = ""
    #: Team, account or virtual cluster (Slurm account, Philly/Helios VC, Kubernetes QoS).
    team: str = ""
    submit_time: datetime
    start_time: datetime | None = None
    end_time: datetime | None = None
    gpus: int = 0
    nodes: int | None = None
    state: JobState = JobState.UNKNOWN
    #: The file and format it was imported from, e.g. ``helios:cluster_log.csv``.
    source: str = ""
    #: GPUs per host of the job's (last) allocation, e.g. ``{"gpu01": 8, "gpu02": 8}``;
    #: empty when the log does not say where the job ran (Helios, Alibaba pods).
    placement: dict[str, int] = Field(default_factory=dict)


class NodeRecord(BaseModel):
    """One node of a cluster: its GPUs from an inventory and, in a
    node-state snapshot (``scontrol show node``), how many were allocated at ``captured_at``."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(min_length=1)
    gpus: int = Field(ge=0)
    #: GPU model or type (``a100``, ``V100M32``); gangs do not span models.
    model: str = ""
    partition: str = ""
    #: GPUs allocated at ``captured_at``; ``None`` in an inventory without state.
    gpus_used: int | None = Field(default=None, ge=0)
    #: False for nodes that take no new work: down, drained, failed, in maintenance.
    available: bool = True
    state: str = ""
    captured_at: datetime | None = None
    source: str = ""


# -- the plan: backlog, KPIs, experiments, decisions, retrospectives ----------------------


class ActionStatus(StrEnum):
    PROPOSED = "proposed"
    APPROVED = "approved"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    REJECTED = "rejected"


class KPIEffect(BaseModel):
    """An action's expected effect on one KPI, as a relative change (+0.2 = 20% more)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kpi: str = Field(min_length=1)
    change: Change


class Action(BaseModel):
    """A backlog item: what to do, what it should bring, what it costs, who owns it.

    WSJF inputs (``value``, ``time_criticality``, ``risk_reduction``, ``job_size``) and
    RICE inputs (``reach``, ``impact``) are optional: ``plan.scoring`` derives what is
    missing from the money and effort figures and says so.
    """

    model_config = ConfigDict(extra="forbid")

    id: int | None = None
    title: str = Field(min_length=1)
    description: str = ""
    #: Catalog key of the finding kind it answers (``bench.dataloader_workers``...).
    finding_kind: str = ""
    finding_ids: list[int] = Field(default_factory=list)
    effects: list[KPIEffect] = Field(default_factory=list)
    savings_usd_per_year: Money = 0.0
    #: Share of its findings' ledger claims the action typically wins back (the catalog's);
    #: set for seeded actions, whose savings then follow the ledger. None: hand-written
    #: savings, not backed by the ledger.
    recovers: Share | None = None
    one_time_cost_usd: Money = 0.0
    effort_days: EffortDays = 1.0
    confidence: Share = 0.5
    owner: str = ""
    team: str = ""
    status: ActionStatus = ActionStatus.PROPOSED
    value: int | None = Field(default=None, ge=1, le=100)
    time_criticality: int | None = Field(default=None, ge=1, le=100)
    risk_reduction: int | None = Field(default=None, ge=1, le=100)
    job_size: int | None = Field(default=None, ge=1, le=100)
    #: RICE reach: GPUs (or people) affected per quarter; impact on Intercom's scale.
    reach: Reach | None = None
    impact: Impact | None = None
    depends_on: list[int] = Field(default_factory=list)
    start: Day | None = None
    end: Day | None = None
    #: Where it came from: ``finding:12``, ``yaml:actions.yaml``, ``retro:3``, ``cli``.
    source: str = ""
    created_at: datetime | None = None

    @model_validator(mode="after")
    def _ends_after_start(self) -> Action:
        if self.start is not None and self.end is not None and self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self


class KPI(BaseModel):
    """A key performance indicator bound to data in the store.

    ``source`` is ``series:<series id prefix>`` (a benchmark series, one match) or
    ``analysis:<kind>:<dotted.summary.key>`` (a cluster, DORA or on-call figure of each
    stored analysis of that kind). Without a stated baseline the first reading is it.
    """

    model_config = ConfigDict(extra="forbid")

    id: int | None = None
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.:-]+$")
    description: str = ""
    source: str = Field(min_length=1)
    unit: str = ""
    direction: Direction = "higher"
    baseline_value: Finite | None = None
    baseline_date: Moment | None = None
    goal_value: Finite
    goal_date: Day
    created_at: datetime | None = None


class ExperimentOutcome(BaseModel):
    """One variant measured against the baseline, and what the difference is worth."""

    variant: str
    metric: str
    unit: str
    direction: Direction
    baseline_value: float
    variant_value: float
    #: > 1 means the variant is better (for either direction).
    speedup: float
    speedup_low: float | None = None
    speedup_high: float | None = None
    pvalue: float | None = None
    verdict: str
    method: str
    gpu_hours_per_year: float
    usd_per_year: float
    usd_per_year_low: float | None = None
    usd_per_year_high: float | None = None
    notes: list[str] = Field(default_factory=list)


class Experiment(BaseModel):
    """An A/B run of a benchmark configuration and its variants (the optimization lab)."""

    id: int | None = None
    name: str
    source: str = ""
    status: Literal["running", "completed", "failed"] = "running"
    action_id: int | None = None
    #: The validated experiment file, as run.
    spec: dict[str, Any] = Field(default_factory=dict)
    #: Side name -> run ids in the order they ran.
    runs: dict[str, list[int]] = Field(default_factory=dict)
    outcomes: list[ExperimentOutcome] = Field(default_factory=list)
    error: str | None = None
    created_at: datetime | None = None
    finished_at: datetime | None = None


class DecisionKind(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    DEFER = "defer"
    #: The subject was taken out of the store (``plan remove``, ``kpi remove``,
    #: ``analysis remove``); only those commands log it.
    REMOVE = "remove"


#: What a decision is about: a backlog action, a KPI, or a stored analysis and its findings.
DecisionSubject = Literal["action", "kpi", "analysis"]


class Decision(BaseModel):
    """One entry of the alignment log: who decided what, when and why, about an action (or
    who removed an action, a KPI or an analysis).

    ``subject_id`` and ``subject_name`` (title, KPI name, analysis kind and source as they
    were) keep the entry readable once its subject is removed; ``action_id`` links the
    action while it is in the backlog and is None otherwise.
    """

    id: int | None = None
    subject: DecisionSubject = "action"
    subject_id: int | None = None
    subject_name: str = ""
    action_id: int | None = None
    decision: DecisionKind
    by: str = Field(min_length=1)
    note: str = ""
    decided_at: datetime | None = None

    @model_validator(mode="after")
    def _action_is_the_subject(self) -> Decision:
        if self.subject == "action" and self.subject_id is None:
            self.subject_id = self.action_id
        if self.subject == "action" and self.subject_id is None:
            raise ValueError("a decision about an action needs the action's id")
        return self


class AffectedAction(BaseModel):
    """An action kept when a record it pointed at was removed, and what changed for it."""

    id: int
    title: str
    #: One line for a person: "loses finding 12; no finding left", "no longer waits for #3".
    note: str
    #: The findings it still answers after the removal.
    finding_ids: list[int] = Field(default_factory=list)


class Removal(BaseModel):
    """What a removal took out of the store, its decision-log entry, and the actions kept
    whose links to it were cut."""

    decision: Decision
    #: Findings removed with an analysis.
    finding_ids: list[int] = Field(default_factory=list)
    affected: list[AffectedAction] = Field(default_factory=list)


class Retrospective(BaseModel):
    """A sprint retrospective: observations and the backlog actions it created."""

    id: int | None = None
    date: Day
    team: str = Field(min_length=1)
    sprint: str = ""
    went_well: list[str] = Field(default_factory=list)
    to_improve: list[str] = Field(default_factory=list)
    action_ids: list[int] = Field(default_factory=list)
    created_at: datetime | None = None


# -- the people side: stakeholders, RACI, meetings (plan.alignment, plan.meetings) ----------
Stance = Literal["opposed", "neutral", "supportive"]
RaciRole = Literal["R", "A", "C", "I"]
_LEVEL_WORDS = {"low": 1, "medium": 3, "high": 5}


def _level(value: Any) -> Any:
    if isinstance(value, str) and value.strip().lower() in _LEVEL_WORDS:
        return _LEVEL_WORDS[value.strip().lower()]
    if isinstance(value, str):
        raise ValueError("must be low, medium, high or a whole number 1-5")
    return value


#: Influence or interest: low / medium / high (1 / 3 / 5) or a whole number 1-5.
Level = Annotated[int, BeforeValidator(_level), Field(ge=1, le=5)]


class Stakeholder(BaseModel):
    """A person the initiative must win and keep: the register's entry."""

    model_config = ConfigDict(extra="forbid")

    id: int | None = None
    name: str = Field(min_length=1, max_length=255)
    role: str = ""
    team: str = ""
    influence: Level
    interest: Level
    #: The stance they started with (meetings record how it moves).
    stance: Stance | None = None


class Raci(BaseModel):
    """One action's RACI by stakeholder name: Responsible, Accountable (one), Consulted,
    Informed."""

    model_config = ConfigDict(frozen=True)

    action_id: int
    responsible: tuple[str, ...] = ()
    accountable: str
    consulted: tuple[str, ...] = ()
    informed: tuple[str, ...] = ()

    def letters(self) -> list[tuple[RaciRole, str]]:
        out: list[tuple[RaciRole, str]] = [("R", n) for n in self.responsible]
        out.append(("A", self.accountable))
        out += [("C", n) for n in self.consulted]
        out += [("I", n) for n in self.informed]
        return out

    def roles_of(self, name: str) -> str:
        return "".join(r for r in "RACI" if (r, name) in self.letters())


class _MeetingPart(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MeetingDecision(_MeetingPart):
    action: str = Field(min_length=1)
    decision: DecisionKind
    by: str = Field(min_length=1)
    note: str = ""
    #: Filled when the file is read: the action the reference names.
    action_id: int | None = None
    action_title: str = ""


class Objection(_MeetingPart):
    key: str = ""
    by: str = Field(min_length=1)
    text: str = Field(min_length=1)
    action: str = ""
    answer: str = ""
    answered_by: str = ""
    action_title: str = ""


class Answer(_MeetingPart):
    objection: str = Field(min_length=1)
    answer: str = Field(min_length=1)
    answered_by: str = ""


class StanceChange(_MeetingPart):
    stakeholder: str = Field(min_length=1)
    stance: Stance
    note: str = ""


class Meeting(_MeetingPart):
    """A stakeholder meeting of the alignment log (``fleetwise meeting add FILE``)."""

    schema_version: int = 1
    id: str = ""
    date: Day
    title: str = Field(min_length=1)
    attendees: list[str] = Field(default_factory=list)
    decisions: list[MeetingDecision] = Field(default_factory=list)
    objections: list[Objection] = Field(default_factory=list)
    answers: list[Answer] = Field(default_factory=list)
    stances: list[StanceChange] = Field(default_factory=list)
    notes: str = ""

    @property
    def key(self) -> str:
        """Its identity: the file's ``id``, else its date and title."""
        slug = re.sub(r"[^a-z0-9]+", "-", self.title.lower()).strip("-")
        return self.id or f"{self.date}:{slug}"
