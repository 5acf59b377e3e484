"""Series queries: one benchmark case's metric over runs, grouped by environment class."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fleetwise.collect.host_health import health_reasons
from fleetwise.models import Series, SeriesKey, SeriesPoint
from fleetwise.store.schema import EnvironmentRow, ResultRow, RunRow
from fleetwise.timeutil import as_utc


def env_class(cpu_model: str, cpu_cores: int, gpu_model: str, gpu_count: int) -> str:
    """Hash of the hardware fields that make results comparable."""
    blob = f"{cpu_model}|{cpu_cores}|{gpu_model}|{gpu_count}"
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _hardware(cpu_model: str, cpu_cores: int, gpu_model: str, gpu_count: int) -> str:
    gpu = f"{gpu_count}x {gpu_model}" if gpu_count else "no GPU"
    return f"{cpu_cores} cores {cpu_model} / {gpu}"


def _rows(session: Session) -> Sequence[Any]:
    stmt = (
        select(
            ResultRow.id,
            ResultRow.run_id,
            ResultRow.benchmark,
            ResultRow.metric,
            ResultRow.params_hash,
            ResultRow.params,
            ResultRow.unit,
            ResultRow.direction,
            ResultRow.median,
            ResultRow.ci_low,
            ResultRow.ci_high,
            ResultRow.n,
            ResultRow.warnings,
            ResultRow.environment_id,
            RunRow.started_at,
            RunRow.config,
            EnvironmentRow.cpu_model,
            EnvironmentRow.cpu_cores,
            EnvironmentRow.gpu_model,
            EnvironmentRow.gpu_count,
        )
        .join(RunRow, RunRow.id == ResultRow.run_id)
        .join(EnvironmentRow, EnvironmentRow.id == ResultRow.environment_id)
        .where(ResultRow.status == "ok", ResultRow.median.is_not(None))
        .order_by(RunRow.started_at, ResultRow.run_id, ResultRow.id)
    )
    return session.execute(stmt).all()


def all_series(session: Session) -> list[Series]:
    """Every series in the store with its points in run order (oldest first)."""
    out: dict[str, Series] = {}
    for row in _rows(session):
        hw = (row.cpu_model, row.cpu_cores, row.gpu_model, row.gpu_count)
        key = SeriesKey(
            benchmark=row.benchmark,
            metric=row.metric,
            params_hash=row.params_hash,
            env_class=env_class(*hw),
            params=row.params,
            unit=row.unit,
            direction=row.direction,
            hardware=_hardware(*hw),
        )
        out.setdefault(key.id, Series(key=key, points=[])).points.append(
            SeriesPoint(
                run_id=row.run_id,
                result_id=row.id,
                time=as_utc(row.started_at),
                median=row.median,
                ci_low=row.ci_low if row.ci_low is not None else row.median,
                ci_high=row.ci_high if row.ci_high is not None else row.median,
                n=row.n or 0,
                environment_id=row.environment_id,
                run_start_state=(row.config or {}).get("start_state", {}),
                unhealthy=health_reasons(row.warnings or []),
            )
        )
    return sorted(out.values(), key=lambda series: series.key.id)
