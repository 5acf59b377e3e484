"""Platform changes: the change log and what run fingerprints show, judged as deployments,
and benchmark change points annotated with the changes just before them.

``bench history``, ``regressions``, ``process infra``, the dashboard's benchmark pages and
the reports call these, so every face shows the same changes beside the same points.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from fleetwise.analyze.changepoints import ChangePointConfig
from fleetwise.analyze.infra_changes import (
    InfraReport,
    RunSnapshot,
    changes_between,
    infer_from_runs,
    infra_report,
    label,
    merge,
)
from fleetwise.analyze.regressions import SeriesChange, store_series_changes
from fleetwise.models import ProcessEvent, Series
from fleetwise.store import Store

#: Every stored run is read for inference; far above any real history on one store.
_ALL_RUNS = 1_000_000


def _environments(store: Store, ids: set[int]) -> dict[int, dict[str, Any]]:
    return {i: store.get_environment(i).data for i in ids}


def platform_changes(store: Store) -> list[ProcessEvent]:
    """The imported change log plus the changes inferred from run fingerprints (the log
    wins where both see the same change), oldest first."""
    runs = [r for r in store.list_runs(limit=_ALL_RUNS) if r.environment_id is not None]
    envs = _environments(store, {r.environment_id for r in runs if r.environment_id})
    snaps = [
        RunSnapshot(
            run_id=r.id,
            host=str(envs[r.environment_id].get("host") or r.host),
            time=r.started_at,
            fingerprint=envs[r.environment_id],
        )
        for r in runs
        if r.environment_id is not None
    ]
    return merge(store.process_events(["infra_change"]), infer_from_runs(snaps))


def annotate(
    changes: Sequence[SeriesChange],
    series: Series,
    platform: Sequence[ProcessEvent],
    envs: dict[int, dict[str, Any]],
) -> list[SeriesChange]:
    """Each change point with the platform changes between its two runs, on its host."""
    out = []
    points = series.points
    for ch in changes:
        before = points[ch.index - 1 if ch.before_index is None else ch.before_index]
        after = points[ch.index]
        env = envs.get(after.environment_id) if after.environment_id is not None else None
        host = str(env.get("host")) if env and env.get("host") else None
        found = changes_between(platform, host, before.time, after.time)
        out.append(
            dataclasses.replace(
                ch,
                infra=tuple(label(c) for c in found),
                infra_keys=tuple(c.key for c in found),
            )
        )
    return out


def series_changes(
    store: Store,
    series: Sequence[Series],
    config: ChangePointConfig,
    *,
    platform: Sequence[ProcessEvent] | None = None,
    include_unhealthy: bool = False,
) -> list[SeriesChange]:
    """Change points of ``series`` with the environment fields and platform changes
    between the runs on either side; points taken on an unhealthy or throttled host are
    left out unless ``include_unhealthy`` (``analyze.regressions.left_out`` counts them)."""
    ids = {p.environment_id for s in series for p in s.points if p.environment_id is not None}
    envs = _environments(store, ids)
    platform = platform_changes(store) if platform is None else platform
    out: list[SeriesChange] = []
    for s in series:
        found = store_series_changes(s, config, envs, include_unhealthy=include_unhealthy)
        out += annotate(found, s, platform, envs)
    return out


def platform_report(store: Store, window: timedelta) -> InfraReport:
    """Change failure rate and recovery time of the platform's changes; a benchmark
    regression right after a change counts as that change's failure."""
    platform = platform_changes(store)
    changes = series_changes(store, store.series(), ChangePointConfig(), platform=platform)
    regressions: dict[str, list[str]] = {}
    for ch in changes:
        if ch.kind == "regression":
            for key in ch.infra_keys:
                regressions.setdefault(key, []).append(ch.series)
    # A platform's failures page its on-call (PagerDuty, Opsgenie) more often than they
    # reach an incident tracker: both are failure signals of the change before them.
    incidents = store.process_events(["incident", "page"])
    return infra_report(platform, incidents, regressions=regressions, window=window)
