"""The value-stream map of the store: built from a YAML map or the stored pipeline, stored
as a ``process`` analysis (tag ``valuestream``), and set beside the future state the
backlog's open actions promise. CLI, dashboard and reports call these."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import date
from typing import Any

from fleetwise.analyze.valuestream import ValueStream, from_pipeline, value_stream
from fleetwise.errors import InputError
from fleetwise.models import KPI, Action, AnalysisRecord
from fleetwise.plan.rollout import ScheduledItem, schedule
from fleetwise.plan.valuestream import FutureState, future_state, map_doc, map_from_doc
from fleetwise.store import Store

#: The tag of a stored value-stream map among the ``process`` analyses.
TAG = "valuestream"
NO_MAP = (
    "no process map stored: fleetwise process map --from-yaml FILE "
    "(or --from-store after fleetwise process import PIPELINE)"
)


def pipeline_map(store: Store) -> ValueStream:
    """The map of the pipeline stages in the store."""
    steps = from_pipeline(store.process_events(["pipeline_stage"]))
    if not steps:
        raise InputError(
            "no pipeline stages in the store; import a pipeline CSV or GitHub run, "
            "or map the steps by hand with --from-yaml FILE"
        )
    return value_stream(steps, "delivery pipeline", "store:pipeline")


def _timeline(actions: Sequence[Action], today: date) -> list[ScheduledItem]:
    try:
        return schedule(actions, today, today)
    except InputError:
        return []  # a dependency cycle: no planned dates, the effects still count


def with_future(
    current: ValueStream, actions: Sequence[Action], kpis: Sequence[KPI], today: date
) -> FutureState:
    return future_state(current, actions, kpis, _timeline(actions, today))


def state_doc(fs: FutureState) -> dict[str, Any]:
    """The current map (whose ``steps.<name>.<figure>`` KPIs bind to), the future state
    and the effects behind it, as stored and as ``--json`` prints them."""
    return {
        **map_doc(fs.current),
        "future": map_doc(fs.future),
        "effects": [
            {**asdict(e), "planned_end": e.planned_end.isoformat() if e.planned_end else None}
            for e in fs.effects
        ],
        "lead_time_saved_hours": fs.lead_time_saved_hours,
        "ready_by": fs.ready_by.isoformat() if fs.ready_by else None,
    }


def map_store(store: Store, current: ValueStream | None, today: date) -> tuple[int, FutureState]:
    """Store ``current`` (a map read with ``load_map``; None: the stored pipeline's) and
    its future state (a map of the same source stored again supersedes the earlier one);
    returns the analysis id and the states."""
    fs = with_future(current or pipeline_map(store), store.actions(), store.kpis(), today)
    analysis_id = store.save_analysis(
        kind="process", source=fs.current.source, summary=state_doc(fs), findings=[], tags=[TAG]
    )
    return analysis_id, fs


def latest_map(analyses: Sequence[AnalysisRecord]) -> AnalysisRecord | None:
    found = [a for a in analyses if a.kind == "process" and TAG in a.tags]
    return max(found, key=lambda a: a.id) if found else None


def stored_state(
    analyses: Sequence[AnalysisRecord],
    actions: Sequence[Action],
    kpis: Sequence[KPI],
    timeline: Sequence[ScheduledItem],
) -> tuple[AnalysisRecord, FutureState] | None:
    """The latest stored map with the future state of today's backlog (actions approved
    or turned down since it was stored count as they stand now)."""
    record = latest_map(analyses)
    if record is None:
        return None
    return record, future_state(map_from_doc(record.summary), actions, kpis, timeline)


def latest_state(
    store: Store, analyses: Sequence[AnalysisRecord], today: date
) -> tuple[AnalysisRecord, FutureState] | None:
    """``stored_state`` with the store's backlog and KPIs, the rollout planned from today."""
    if latest_map(analyses) is None:
        return None
    actions = store.actions()
    return stored_state(analyses, actions, store.kpis(), _timeline(actions, today))
