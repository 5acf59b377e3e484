"""Properties of the process analytics: row order, empty periods and time zones."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from fleetwise.analyze.dora import DoraConfig, dora_metrics, dora_report
from fleetwise.analyze.oncall import OnCallConfig, oncall_report
from fleetwise.analyze.pipeline_flow import pipeline_report
from fleetwise.models import ProcessEvent

T0 = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday
offsets = st.sampled_from(
    [UTC, timezone(timedelta(hours=-8)), timezone(timedelta(hours=5, minutes=30))]
)


@st.composite
def delivery(draw: st.DrawFn) -> list[ProcessEvent]:
    """Changes, deployments shipping them, and incidents, over up to ten weeks."""
    n_dep = draw(st.integers(0, 12))
    events: list[ProcessEvent] = []
    for d in range(n_dep):
        dep_at = T0 + timedelta(minutes=draw(st.integers(0, 70 * 24 * 60)))
        links = []
        for c in range(draw(st.integers(1, 3))):
            key = f"c{d}-{c}"
            lead = timedelta(minutes=draw(st.integers(0, 20 * 24 * 60)))
            events.append(ProcessEvent(kind="change", source="s", key=key, time=dep_at - lead))
            links.append(key)
        events.append(
            ProcessEvent(kind="deployment", source="s", key=f"d{d}", time=dep_at, links=links)
        )
        if draw(st.booleans()):
            hit = dep_at + timedelta(minutes=draw(st.integers(1, 600)))
            events.append(
                ProcessEvent(
                    kind="incident",
                    source="s",
                    key=f"i{d}",
                    time=hit,
                    ended_at=hit + timedelta(minutes=draw(st.integers(1, 3000))),
                    links=[links[0]] if draw(st.booleans()) else [],
                )
            )
    return events


def _in_zone(events: list[ProcessEvent], tz: timezone) -> list[ProcessEvent]:
    def conv(t: datetime | None) -> datetime | None:
        return t.astimezone(tz) if t is not None else None

    return [
        e.model_copy(
            update={
                "time": conv(e.time),
                "ended_at": conv(e.ended_at),
                "started_at": conv(e.started_at),
                "acknowledged_at": conv(e.acknowledged_at),
            }
        )
        for e in events
    ]


@settings(max_examples=40, deadline=None)
@given(delivery(), st.randoms(use_true_random=False), offsets)
def test_dora_is_invariant_to_row_order_and_time_zone_of_the_input(
    events: list[ProcessEvent], rnd: object, tz: timezone
) -> None:
    shuffled = list(events)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    for definition in ("fleetwise", "fourkeys"):
        cfg = DoraConfig(definition=definition)  # type: ignore[arg-type]
        base = dora_metrics(events, cfg)
        assert dora_metrics(shuffled, cfg) == base
        # The same instants written with another UTC offset are the same events.
        assert dora_metrics(_in_zone(shuffled, tz), cfg) == base
    assert dora_report(shuffled).weeks == dora_report(events).weeks


@settings(max_examples=40, deadline=None)
@given(delivery())
def test_empty_weeks_are_rows_of_zeros_and_rates_stay_in_range(events: list[ProcessEvent]) -> None:
    report = dora_report(events)
    m = report.overall
    if m.deployments == 0:
        assert m.lead_time_hours is None and m.change_failure_rate is None
        return
    assert 0 <= (m.change_failure_rate or 0) <= 1
    assert sum(w.deployments for w in report.weeks) == m.deployments
    days = [w.week for w in report.weeks]
    assert all(b - a == timedelta(weeks=1) for a, b in itertools.pairwise(days))
    for w in report.weeks:
        if w.deployments == 0:
            assert w.change_failure_rate is None and w.deploy_days == 0


def test_no_events_at_all() -> None:
    assert dora_metrics([]).deployments == 0
    assert dora_metrics([], DoraConfig(definition="fourkeys")).lead_time_hours is None
    assert dora_report([]).weeks == []
    assert pipeline_report([]).pipelines == 0
    assert oncall_report([]).pages == 0


def test_days_and_weeks_follow_the_configured_zone() -> None:
    # 23:30 UTC on Sunday is Monday morning in Tokyo: another ISO week.
    dep = ProcessEvent(
        kind="deployment", source="s", key="d", time=datetime(2026, 1, 11, 23, 30, tzinfo=UTC)
    )
    utc = dora_report([dep], DoraConfig(tz="UTC")).weeks
    tokyo = dora_report([dep], DoraConfig(tz="Asia/Tokyo")).weeks
    assert utc[0].week.isoformat() == "2026-01-05"
    assert tokyo[0].week.isoformat() == "2026-01-12"


@st.composite
def pages(draw: st.DrawFn) -> list[ProcessEvent]:
    out = []
    for i in range(draw(st.integers(1, 25))):
        t = T0 + timedelta(minutes=draw(st.integers(0, 14 * 24 * 60)))
        ack = t + timedelta(minutes=draw(st.integers(0, 60))) if draw(st.booleans()) else None
        end = t + timedelta(minutes=draw(st.integers(0, 600)))
        out.append(
            ProcessEvent(
                kind="page",
                source="s",
                key=f"p{i}",
                time=t,
                acknowledged_at=ack,
                ended_at=max(end, ack or end),
                payload={"title": draw(st.sampled_from(["disk", "latency", "gpu"]))},
            )
        )
    return out


@settings(max_examples=40, deadline=None)
@given(pages(), st.randoms(use_true_random=False), offsets)
def test_oncall_is_invariant_to_row_order_and_input_offsets(
    evs: list[ProcessEvent], rnd: object, tz: timezone
) -> None:
    shuffled = list(evs)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    cfg = OnCallConfig(tz="Europe/Berlin")
    base = oncall_report(evs, cfg)
    assert oncall_report(shuffled, cfg) == base
    assert oncall_report(_in_zone(shuffled, tz), cfg) == base
    assert base.pages == len(evs)
    assert 0 <= (base.actionable_ratio or 0) <= 1
    # sleep hours (22-07) lie outside business hours: a sleep page is an after-hours page
    assert base.sleep_hours <= base.after_hours <= base.pages


def test_sleep_and_after_hours_use_the_local_zone() -> None:
    # 06:00 UTC is 22:00 the evening before in Los Angeles (PST).
    page = ProcessEvent(
        kind="page", source="s", key="p", time=datetime(2026, 1, 7, 6, 0, tzinfo=UTC)
    )
    assert oncall_report([page], OnCallConfig(tz="UTC")).sleep_hours == 1  # 06:00 < 07:00
    la = oncall_report([page], OnCallConfig(tz="America/Los_Angeles"))
    assert la.sleep_hours == 1 and la.after_hours == 1
    berlin = oncall_report([page], OnCallConfig(tz="Europe/Berlin"))  # 07:00 local
    assert berlin.sleep_hours == 0 and berlin.after_hours == 1


@st.composite
def stage_runs(draw: st.DrawFn) -> list[ProcessEvent]:
    out = []
    for p in range(draw(st.integers(1, 8))):
        clock = T0 + timedelta(minutes=draw(st.integers(0, 5000)))
        for stage in ("build", "test"):
            for attempt in (1, 2) if draw(st.booleans()) else (1,):
                started = clock + timedelta(seconds=draw(st.integers(0, 3000)))
                ended = started + timedelta(seconds=draw(st.integers(1, 3000)))
                out.append(
                    ProcessEvent(
                        kind="pipeline_stage",
                        source="s",
                        key=f"{p}/{stage}/{attempt}",
                        time=clock,
                        started_at=started,
                        ended_at=ended,
                        group=str(p),
                        status="failure" if attempt == 1 and draw(st.booleans()) else "success",
                        payload={"stage": stage, "attempt": attempt},
                    )
                )
                clock = ended
    return out


@settings(max_examples=40, deadline=None)
@given(stage_runs(), st.randoms(use_true_random=False), offsets)
def test_pipeline_is_invariant_to_row_order_and_offsets(
    evs: list[ProcessEvent], rnd: object, tz: timezone
) -> None:
    shuffled = list(evs)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    base = pipeline_report(evs)
    assert pipeline_report(shuffled) == base
    assert pipeline_report(_in_zone(shuffled, tz)) == base
    assert 0 < (base.flow_efficiency or 0) <= 1 + 1e-9
    law = base.littles_law
    assert law is not None and abs(law.ratio - 1) < 1e-9  # complete intervals: L = lambda W
