"""Sustainment of the store: done actions' KPIs under watch (``plan.sustain``), stored as a
``sustain`` analysis whose eroding gains are findings. Watching again supersedes the
previous watch (the latest analysis of a source is the current one), it never adds."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Any

from fleetwise.plan.kpis import readings
from fleetwise.plan.sustain import DEFAULT_GUARD, GainWatch, SustainReport, sustain_report
from fleetwise.store import Store

KIND = "sustain"
SOURCE = "store:kpi-watch"


def sustain_state(store: Store, today: date, guard: float = DEFAULT_GUARD) -> SustainReport:
    """The watch as of ``today`` (nothing is stored)."""
    series, analyses = store.series(), store.analyses()
    kpis = store.kpis()
    found = {k.name: readings(k, series, analyses) for k in kpis}
    return sustain_report(store.actions("done"), kpis, found, today, guard)


def watch_doc(w: GainWatch) -> dict[str, Any]:
    return {
        "action_id": w.action.id,
        "action": w.action.title,
        "owner": w.action.owner,
        "kpi": w.kpi.name,
        "unit": w.kpi.unit,
        "direction": w.kpi.direction,
        "closed": w.closed.isoformat() if w.closed else None,
        "verdict": w.verdict,
        "before": w.before,
        "measured": w.measured,
        "measured_ref": w.measured_ref,
        "gain": w.gain,
        "latest": w.latest,
        "latest_ref": w.latest_ref,
        "kept": w.kept,
        "change_point_at": w.change_point_at.isoformat() if w.change_point_at else None,
        "checkpoints": [{**asdict(c), "due": c.due.isoformat()} for c in w.checkpoints],
        "note": w.note,
    }


def sustain_doc(r: SustainReport) -> dict[str, Any]:
    return {
        "today": r.today.isoformat(),
        "guard": r.guard,
        "watches": [watch_doc(w) for w in r.watches],
        "recognition": [
            {"owner": c.owner, "actions": [a.id for a in c.actions], "kpis": c.kpis}
            for c in r.recognition
        ],
        "eroding": sum(w.verdict == "eroding" for w in r.watches),
    }


def watch_gains(
    store: Store, today: date, guard: float = DEFAULT_GUARD
) -> tuple[int, SustainReport]:
    """Watch, and store the watch with its ``process.gain_eroding`` findings."""
    report = sustain_state(store, today, guard)
    analysis_id = store.save_analysis(
        kind=KIND,
        source=SOURCE,
        summary=sustain_doc(report),
        findings=report.findings,
        tags=[KIND],
    )
    return analysis_id, report
