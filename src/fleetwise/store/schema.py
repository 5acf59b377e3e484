"""The store's tables (SQLAlchemy 2). Changes go through an Alembic migration.

The same schema serves SQLite (the default, one file) and PostgreSQL (a team's store):
only portable types are used (JSON for nested documents, timezone-aware timestamps).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


class EnvironmentRow(Base):
    """An environment fingerprint, stored once per distinct hash."""

    __tablename__ = "environments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fingerprint_hash: Mapped[str] = mapped_column(String(64), unique=True)
    host: Mapped[str] = mapped_column(String(255))
    cpu_model: Mapped[str] = mapped_column(String(255), default="")
    cpu_cores: Mapped[int] = mapped_column(Integer, default=0)
    memory_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    gpu_model: Mapped[str] = mapped_column(String(255), default="")
    gpu_count: Mapped[int] = mapped_column(Integer, default=0)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class RunRow(Base):
    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    suite: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), index=True)
    executor: Mapped[str] = mapped_column(String(32), default="local")
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    environment_id: Mapped[int | None] = mapped_column(ForeignKey("environments.id"), nullable=True)
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    host: Mapped[str] = mapped_column(String(255), default="")
    pid: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: load average, CPU steal and the like read when the run ended.
    end_state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)

    tags: Mapped[list[RunTagRow]] = relationship(
        back_populates="run", cascade="all, delete-orphan", lazy="selectin"
    )


class RunTagRow(Base):
    __tablename__ = "run_tags"

    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(255), primary_key=True, index=True)
    run: Mapped[RunRow] = relationship(back_populates="tags")


class ResultRow(Base):
    """One metric of one case of one run: raw samples and their summary."""

    __tablename__ = "results"
    __table_args__ = (Index("ix_results_series", "benchmark", "params_hash", "metric"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    case_key: Mapped[str] = mapped_column(String(64))
    case_index: Mapped[int] = mapped_column(Integer)
    benchmark: Mapped[str] = mapped_column(String(128))
    layer: Mapped[str] = mapped_column(String(32))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    params_hash: Mapped[str] = mapped_column(String(64))
    metric: Mapped[str] = mapped_column(String(64))
    unit: Mapped[str] = mapped_column(String(32))
    direction: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    samples: Mapped[list[Any]] = mapped_column(JSON)
    n: Mapped[int | None] = mapped_column(Integer, nullable=True)
    median: Mapped[float | None] = mapped_column(Float, nullable=True)
    mean: Mapped[float | None] = mapped_column(Float, nullable=True)
    stdev: Mapped[float | None] = mapped_column(Float, nullable=True)
    iqr: Mapped[float | None] = mapped_column(Float, nullable=True)
    ci_low: Mapped[float | None] = mapped_column(Float, nullable=True)
    ci_high: Mapped[float | None] = mapped_column(Float, nullable=True)
    cv: Mapped[float | None] = mapped_column(Float, nullable=True)
    min: Mapped[float | None] = mapped_column(Float, nullable=True)
    max: Mapped[float | None] = mapped_column(Float, nullable=True)
    peak: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    efficiency: Mapped[float | None] = mapped_column(Float, nullable=True)
    warnings: Mapped[list[Any]] = mapped_column(JSON, default=list)
    calibration: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    environment_id: Mapped[int | None] = mapped_column(ForeignKey("environments.id"), nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class AnalysisRow(Base):
    """One stored diagnosis: what was analysed, its summary document, its tags."""

    __tablename__ = "analyses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    source: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    tags: Mapped[list[Any]] = mapped_column(JSON, default=list)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    findings: Mapped[list[FindingRow]] = relationship(
        back_populates="analysis", cascade="all, delete-orphan", lazy="selectin"
    )


class FindingRow(Base):
    """A finding of an analysis; evidence, cost and recommendations live in ``data``."""

    __tablename__ = "findings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    analysis_id: Mapped[int] = mapped_column(
        ForeignKey("analyses.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(64), index=True)
    layer: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(Text)
    severity: Mapped[str] = mapped_column(String(16))
    usd_per_year: Mapped[float | None] = mapped_column(Float, nullable=True)
    gpu_hours_per_year: Mapped[float | None] = mapped_column(Float, nullable=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)

    analysis: Mapped[AnalysisRow] = relationship(back_populates="findings")


class JobRow(Base):
    """One cluster job; ``(source, job_id)`` is unique so re-importing a log adds nothing."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ux_jobs_source_job", "source", "job_id", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(255))
    job_id: Mapped[str] = mapped_column(String(255))
    user: Mapped[str] = mapped_column(String(255), default="")
    team: Mapped[str] = mapped_column(String(255), default="", index=True)
    submit_time: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    start_time: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    end_time: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    gpus: Mapped[int] = mapped_column(Integer, default=0)
    nodes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    state: Mapped[str] = mapped_column(String(16))
    #: GPUs per host, ``{"gpu01": 8}``; NULL when the log does not say where the job ran.
    placement: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class NodeRow(Base):
    """One node of an imported inventory or node-state snapshot (``models.NodeRecord``).
    Importing a source again replaces its rows."""

    __tablename__ = "cluster_nodes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(255), index=True)
    name: Mapped[str] = mapped_column(String(255))
    gpus: Mapped[int] = mapped_column(Integer)
    model: Mapped[str] = mapped_column(String(64), default="")
    partition: Mapped[str] = mapped_column(String(255), default="")
    gpus_used: Mapped[int | None] = mapped_column(Integer, nullable=True)
    available: Mapped[bool] = mapped_column(Boolean, default=True)
    state: Mapped[str] = mapped_column(String(64), default="")
    captured_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class ProcessEventRow(Base):
    """A delivery or on-call event (``models.ProcessEvent``); ``(kind, source, key)`` is
    unique so importing the same export twice adds nothing."""

    __tablename__ = "process_events"
    __table_args__ = (
        Index("ux_process_events_identity", "kind", "source", "key", unique=True),
        Index("ix_process_events_kind_time", "kind", "time"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(255))
    key: Mapped[str] = mapped_column(String(255))
    time: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    team: Mapped[str] = mapped_column(String(255), default="", index=True)
    service: Mapped[str] = mapped_column(String(255), default="", index=True)
    group_key: Mapped[str] = mapped_column(String(255), default="")
    status: Mapped[str] = mapped_column(String(32), default="")
    links: Mapped[list[Any]] = mapped_column(JSON, default=list)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ActionRow(Base):
    """A backlog action (``models.Action``); figures, effects and links live in ``data``."""

    __tablename__ = "plan_actions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), index=True)
    owner: Mapped[str] = mapped_column(String(255), default="")
    finding_kind: Mapped[str] = mapped_column(String(64), default="")
    source: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)


class KPIRow(Base):
    """A KPI (``models.KPI``); its name is unique, baseline and goal live in ``data``."""

    __tablename__ = "plan_kpis"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    source: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)


class ExperimentRow(Base):
    """An experiment (``models.Experiment``): spec, run ids and outcomes in ``data``."""

    __tablename__ = "plan_experiments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16))
    action_id: Mapped[int | None] = mapped_column(
        ForeignKey("plan_actions.id", ondelete="SET NULL"), nullable=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)


class DecisionRow(Base):
    """One entry of the decision log: about an action, a KPI or an analysis. The subject's
    id and name stay when it is removed; ``action_id`` links the action while it exists."""

    __tablename__ = "plan_decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject: Mapped[str] = mapped_column(String(16), default="action")
    subject_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    subject_name: Mapped[str] = mapped_column(Text, default="")
    action_id: Mapped[int | None] = mapped_column(
        ForeignKey("plan_actions.id", ondelete="SET NULL"), nullable=True, index=True
    )
    decision: Mapped[str] = mapped_column(String(16))
    decided_by: Mapped[str] = mapped_column(String(255))
    note: Mapped[str] = mapped_column(Text, default="")
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class RetrospectiveRow(Base):
    """A sprint retrospective; observations and action ids live in ``data``."""

    __tablename__ = "plan_retrospectives"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    held_on: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    team: Mapped[str] = mapped_column(String(255), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)


class SurveyWaveRow(Base):
    """One imported survey wave; its name is unique, so importing a wave again replaces it
    (its responses go with it). ``items`` is the question map as applied."""

    __tablename__ = "survey_waves"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    source: Mapped[str] = mapped_column(Text)
    format: Mapped[str] = mapped_column(String(32))
    team_size: Mapped[int | None] = mapped_column(Integer, nullable=True)
    first_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    items: Mapped[list[Any]] = mapped_column(JSON)


class SurveyResponseRow(Base):
    """One response of a wave: the line it came from and its answers by item key."""

    __tablename__ = "survey_responses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    wave_id: Mapped[int] = mapped_column(
        ForeignKey("survey_waves.id", ondelete="CASCADE"), index=True
    )
    line: Mapped[int] = mapped_column(Integer)
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    team: Mapped[str] = mapped_column(String(255), default="")
    answers: Mapped[dict[str, Any]] = mapped_column(JSON)


class NoteRow(Base):
    """An interview, shadowing or focus-group note; ``key`` (its front-matter id, else its
    path) is unique, so adding the same note again replaces it."""

    __tablename__ = "people_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(512), unique=True)
    path: Mapped[str] = mapped_column(Text)
    held_on: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    team: Mapped[str] = mapped_column(String(255), index=True)
    method: Mapped[str] = mapped_column(String(32))
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: Title, roles, tags, links, quotes and the body.
    data: Mapped[dict[str, Any]] = mapped_column(JSON)


class StakeholderRow(Base):
    """A stakeholder of the initiative (``plan.alignment.Stakeholder``): the register's
    name is unique; influence and interest on 1-5; the stance they started with."""

    __tablename__ = "alignment_stakeholders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    role: Mapped[str] = mapped_column(String(255), default="")
    team: Mapped[str] = mapped_column(String(255), default="")
    influence: Mapped[int] = mapped_column(Integer)
    interest: Mapped[int] = mapped_column(Integer)
    stance: Mapped[str | None] = mapped_column(String(16), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)


class RaciRow(Base):
    """One letter of an action's RACI: who is Responsible, Accountable, Consulted, Informed."""

    __tablename__ = "alignment_raci"

    action_id: Mapped[int] = mapped_column(
        ForeignKey("plan_actions.id", ondelete="CASCADE"), primary_key=True
    )
    stakeholder_id: Mapped[int] = mapped_column(
        ForeignKey("alignment_stakeholders.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role: Mapped[str] = mapped_column(String(1), primary_key=True)


class MeetingRow(Base):
    """A stakeholder meeting; ``key`` (date and title, or the file's own id) is unique so
    adding the same file again replaces it. Attendees, objections, answers and the
    decisions it logged live in ``data``."""

    __tablename__ = "alignment_meetings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    held_on: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    title: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)


class StanceRow(Base):
    """A stakeholder's stance as a meeting recorded it (opposed, neutral, supportive)."""

    __tablename__ = "alignment_stances"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    stakeholder_id: Mapped[int] = mapped_column(
        ForeignKey("alignment_stakeholders.id", ondelete="CASCADE"), index=True
    )
    meeting_id: Mapped[int] = mapped_column(
        ForeignKey("alignment_meetings.id", ondelete="CASCADE"), index=True
    )
    held_on: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    stance: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")
