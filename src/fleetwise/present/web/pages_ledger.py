"""The Ledger page: where the fleet's GPU-hours go (the waterfall), per team and per month
(the trend), with the findings' bounded claims; the same use-case calls as ``fleetwise
ledger`` and the briefing."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from fleetwise.analyze.ledger import BUCKETS, LABELS
from fleetwise.models import SCHEMA_VERSION
from fleetwise.present import charts
from fleetwise.present.web.page import Page, add_chart
from fleetwise.present.web.reader import StoreReader
from fleetwise.store.schema import AnalysisRow, JobRow, NodeRow, ProcessEventRow, RunRow
from fleetwise.usecases import story
from fleetwise.usecases.ledger import BucketLine, ledger_for
from fleetwise.usecases.plan import plan_totals
from fleetwise.usecases.provenance import inputs


class SliceRow(BaseModel):
    name: str
    #: Bucket -> GPU-hours over the slice (a team's share of the period, or one month).
    buckets: dict[str, float]


class LedgerPage(BaseModel):
    schema_version: int = SCHEMA_VERSION
    headline: str
    period: str
    capacity_gpu_hours: float
    capacity_gpu_hours_per_year: float
    buckets: list[BucketLine]
    goodput: dict[str, float | None]
    ettr: list[dict[str, Any]]
    teams: list[SliceRow]
    months: list[SliceRow]
    claims_gpu_hours_per_year: float
    claims_usd_per_year: float
    people_usd_per_year: float
    notes: list[str]
    assumptions: str
    #: Every input and where it comes from (measured here, a real log, an example file).
    inputs: list[dict[str, str]]
    #: False when no job log is stored: allocation is unknown and all of it unattributed.
    has_jobs: bool


def ledger_page(reader: StoreReader, charts_wanted: bool = False) -> Page[LedgerPage]:
    totals = plan_totals(reader.store, reader.profile, view=reader.ledger())
    view = totals.view
    by_month = reader.cached(
        "ledger:month",
        (JobRow, NodeRow, AnalysisRow, RunRow),
        lambda: ledger_for(reader.store, reader.profile, by="month"),
    )
    lg = view.ledger
    data = LedgerPage(
        headline=story.headline(view, totals.recoverable, totals.ranked_open),
        period=(
            f"{view.period.start:%Y-%m-%d} to {view.period.end:%Y-%m-%d} ({view.period.label})"
        ),
        capacity_gpu_hours=lg.capacity,
        capacity_gpu_hours_per_year=lg.capacity * view.per_year,
        buckets=view.lines(),
        goodput=dict(lg.goodput),
        ettr=[dict(r) for r in lg.ettr],
        teams=[SliceRow(name=n, buckets=dict(v)) for n, v in lg.by_team.items()],
        months=[SliceRow(name=n, buckets=dict(r.buckets)) for n, r in by_month.rows.items()],
        claims_gpu_hours_per_year=view.claims.gpu_hours,
        claims_usd_per_year=view.claims.gpu_usd,
        people_usd_per_year=view.claims.people_usd,
        notes=view.notes,
        assumptions=reader.profile.describe(),
        inputs=reader.cached(
            "inputs",
            (RunRow, JobRow, NodeRow, AnalysisRow, ProcessEventRow),
            lambda: [
                {"what": i.what, "where": i.where, "origin": i.origin, "note": i.note}
                for i in inputs(reader.store, reader.profile)
            ],
        ),
        has_jobs="(no job log)" not in lg.by_team,
    )
    page = Page(data)
    bars = story.waterfall(view)
    add_chart(page, "waterfall", lambda: charts.waterfall(bars), charts_wanted)
    trend = [
        {"month": m.name, "bucket": LABELS[b], "gpu_hours": m.buckets.get(b, 0.0)}
        for m in data.months
        for b in BUCKETS
    ]
    add_chart(page, "trend", lambda: charts.ledger_trend(trend), charts_wanted and bool(trend))
    return page
