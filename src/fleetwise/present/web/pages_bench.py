"""Data of the benchmarks page: recent runs, series, one series' history with change
points, and an A/B comparison of two runs (the ``bench`` commands' library functions)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from fleetwise.analyze.changepoints import ChangePointConfig
from fleetwise.analyze.compare import compare_runs, history_for
from fleetwise.errors import InputError
from fleetwise.models import SCHEMA_VERSION, Series
from fleetwise.present.charts import benchmark_history
from fleetwise.present.run_specs import resolve_runs
from fleetwise.present.web.page import Page, add_chart
from fleetwise.present.web.reader import StoreReader
from fleetwise.store import Store
from fleetwise.units import params_text
from fleetwise.usecases.infra import series_changes

#: Change-point detection is quadratic in the points it sees: the history shows the
#: latest points only (the CLI's ``bench history`` sees them all).
HISTORY_POINTS = 200


class RunRow(BaseModel):
    id: int
    suite: str
    status: str
    executor: str
    started_at: datetime
    finished_at: datetime | None
    tags: list[str]


class SeriesRow(BaseModel):
    id: str
    #: What a person reads: benchmark, metric and parameters (the id is for links and JSON).
    label: str = ""
    benchmark: str
    metric: str
    unit: str
    direction: str
    hardware: str
    points: int
    latest: float | None


class HistoryPoint(BaseModel):
    run_id: int
    time: datetime
    median: float
    ci_low: float
    ci_high: float


class ChangeRow(BaseModel):
    index: int
    time: datetime
    before: str
    after: str
    change: float
    pvalue: float
    kind: str
    #: Platform changes between the two runs (driver, CUDA, NCCL...), oldest first.
    infra: list[str] = []


class History(BaseModel):
    series: str
    label: str = ""
    unit: str
    direction: str
    points_total: int
    points: list[HistoryPoint]
    change_points: list[ChangeRow]


class BenchmarksPage(BaseModel):
    schema_version: int = SCHEMA_VERSION
    runs_total: int
    runs: list[RunRow]
    series_total: int
    series: list[SeriesRow]
    history: History | None
    compare: list[dict[str, Any]] | None
    compare_note: str = ""


def _series_row(s: Series) -> SeriesRow:
    return SeriesRow(
        id=s.key.id,
        label=f"{s.key.benchmark} {s.key.metric} ({params_text(s.key.params)})",
        benchmark=s.key.benchmark,
        metric=s.key.metric,
        unit=s.key.unit,
        direction=s.key.direction,
        hardware=s.key.hardware,
        points=len(s.points),
        latest=s.points[-1].median if s.points else None,
    )


def history_of(store: Store, s: Series) -> History:
    shown = Series(key=s.key, points=s.points[-HISTORY_POINTS:])
    changes = series_changes(store, [shown], ChangePointConfig())
    return History(
        series=s.key.id,
        label=f"{s.key.benchmark} {s.key.metric} ({params_text(s.key.params)})",
        unit=s.key.unit,
        direction=s.key.direction,
        points_total=len(s.points),
        points=[
            HistoryPoint(
                run_id=p.run_id, time=p.time, median=p.median, ci_low=p.ci_low, ci_high=p.ci_high
            )
            for p in shown.points
        ],
        change_points=[
            ChangeRow(
                index=c.index,
                time=c.time,
                before=c.before,
                after=c.after,
                change=c.change,
                pvalue=c.pvalue,
                kind=c.kind,
                infra=list(c.infra),
            )
            for c in changes
        ],
    )


def _comparison(reader: StoreReader, a: str, b: str) -> list[dict[str, Any]]:
    """``bench compare A B``: each side a run id, run ids (``3,4,5``) or a tag."""
    store = reader.store
    ra, rb = resolve_runs(store, a), resolve_runs(store, b)
    if ra == rb and len(ra) == 1:
        raise InputError(f"compare: A and B are the same run ({ra[0]})")
    if set(ra) & set(rb):
        raise InputError(f"compare: A and B share runs {sorted(set(ra) & set(rb))}")
    runs = [*ra, *rb]
    rows = compare_runs(
        [r for run in ra for r in store.results(run)],
        [r for run in rb for r in store.results(run)],
        history=history_for(reader.series(), ra, rb),
        run_times={run: store.get_run(run).started_at for run in runs},
    )
    return [{**asdict(c), "change": c.change} for c in rows]


def benchmarks_page(
    reader: StoreReader,
    *,
    limit: int = 50,
    tag: str | None = None,
    series: str | None = None,
    a: str | None = None,
    b: str | None = None,
    charts: bool = False,
) -> Page[BenchmarksPage]:
    """Runs newest first (``limit`` of them, optionally of a tag); the series; the history
    of ``series`` (an id or prefix; the first series without one); ``a`` vs ``b`` (run ids
    or tags, as ``bench compare`` takes them)."""
    store = reader.store
    runs = store.list_runs(limit=limit, tag=tag)
    all_series = reader.series()
    chosen = [s for s in all_series if series is None or s.key.id.startswith(series)]
    if series is not None and not chosen:
        raise InputError(f"series {series!r}: no such series")
    compare = None
    note = ""
    if (a is None) != (b is None):
        raise InputError("compare: give both a and b (run ids or tags)")
    if a is not None and b is not None:
        compare = _comparison(reader, a, b)
        if not compare:
            note = f"{a} and {b} have no successful result in common"
    history = None
    if chosen:
        first = chosen[0]
        history = reader.from_series_and_events(
            f"history:{first.key.id}", lambda: history_of(store, first)
        )
    data = BenchmarksPage(
        runs_total=reader.runs_total(),
        runs=[
            RunRow(
                id=r.id,
                suite=r.suite,
                status=r.status.value,
                executor=r.executor,
                started_at=r.started_at,
                finished_at=r.finished_at,
                tags=r.tags,
            )
            for r in runs
        ],
        series_total=len(all_series),
        series=[_series_row(s) for s in (chosen if series else all_series)[:limit]],
        history=history,
        compare=compare,
        compare_note=note,
    )
    page = Page(data)
    if history is not None:
        shown = Series(key=chosen[0].key, points=chosen[0].points[-HISTORY_POINTS:])
        marks = [c.index for c in history.change_points]
        add_chart(
            page,
            "history",
            lambda: benchmark_history(shown, marks),
            charts,
            lambda f: reader.from_series(f"chart:history:{shown.key.id}", f),
        )
    return page
