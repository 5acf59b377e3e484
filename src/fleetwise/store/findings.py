"""Analyses and findings in the store: rows to records and back (used by the Store facade)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fleetwise.models import AnalysisRecord, Cost, Evidence, Finding, Severity
from fleetwise.store.schema import AnalysisRow, FindingRow
from fleetwise.timeutil import as_utc


def finding_row(f: Finding) -> FindingRow:
    data: dict[str, Any] = {
        "detail": f.detail,
        "evidence": [e.model_dump(mode="json") for e in f.evidence],
        "cost": f.cost.model_dump(mode="json") if f.cost else None,
        "recommendations": list(f.recommendations),
        "share": f.share,
    }
    return FindingRow(
        kind=f.kind,
        layer=f.layer,
        title=f.title,
        severity=f.severity.value,
        usd_per_year=f.cost.usd_per_year if f.cost else None,
        gpu_hours_per_year=f.cost.gpu_hours_per_year if f.cost else None,
        data=data,
    )


def finding_record(row: FindingRow) -> Finding:
    data = row.data or {}
    cost = data.get("cost")
    return Finding(
        id=row.id,
        analysis_id=row.analysis_id,
        kind=row.kind,
        layer=row.layer,  # type: ignore[arg-type]  # validated by pydantic
        title=row.title,
        detail=str(data.get("detail", "")),
        severity=Severity(row.severity),
        evidence=[Evidence.model_validate(e) for e in data.get("evidence", [])],
        cost=Cost.model_validate(cost) if cost else None,
        recommendations=[str(r) for r in data.get("recommendations", [])],
        share=data.get("share"),
    )


def analysis_record(row: AnalysisRow) -> AnalysisRecord:
    findings = sorted(row.findings, key=lambda f: f.id)
    return AnalysisRecord(
        id=row.id,
        kind=row.kind,
        source=row.source,
        created_at=as_utc(row.created_at),
        tags=[str(t) for t in row.tags or []],
        summary=row.summary or {},
        findings=[finding_record(f) for f in findings],
    )


def add_analysis(
    s: Session,
    kind: str,
    source: str,
    summary: dict[str, Any],
    findings: Sequence[Finding],
    tags: Sequence[str],
) -> int:
    row = AnalysisRow(
        kind=kind,
        source=source,
        created_at=datetime.now(UTC),
        tags=sorted(set(tags)),
        summary=summary,
    )
    row.findings = [finding_row(f) for f in findings]
    s.add(row)
    s.flush()
    return row.id


def query_analyses(s: Session, kind: str | None, tag: str | None) -> list[AnalysisRecord]:
    stmt = select(AnalysisRow).order_by(AnalysisRow.id)
    if kind is not None:
        stmt = stmt.where(AnalysisRow.kind == kind)
    rows = [analysis_record(r) for r in s.execute(stmt).scalars()]
    return [r for r in rows if tag is None or tag in r.tags]
