"""Process events round-trip through the store: times stay the same instants, re-imports
add nothing, filters select by kind, team and service."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from alembic import command

from fleetwise.models import ProcessEvent
from fleetwise.store import Store

PST = timezone(timedelta(hours=-8))


def _page(key: str, team: str, service: str) -> ProcessEvent:
    t = datetime(2026, 11, 18, 1, 5, tzinfo=PST)
    return ProcessEvent(
        kind="page",
        source="pagerduty:x.json",
        key=key,
        time=t,
        acknowledged_at=t + timedelta(minutes=7),
        team=team,
        service=service,
        status="high",
        payload={"title": "latency", "escalations": 1},
    )


def test_round_trip_dedupe_and_filters(store: Store) -> None:
    events = [_page("a", "serving", "gw"), _page("b", "infra", "storage"), _page("a", "x", "y")]
    assert store.add_process_events(events) == (2, 1)
    assert store.add_process_events(events[:2]) == (0, 2)
    back = store.process_events(["page"])
    assert [e.key for e in back] == ["a", "b"]
    assert back[0].time == events[0].time and back[0].time.tzinfo is not None
    assert back[0].time.utcoffset() == timedelta(0)  # stored as UTC, same instant
    assert back[0].acknowledged_at == datetime(2026, 11, 18, 9, 12, tzinfo=UTC)
    assert back[0].payload == {"title": "latency", "escalations": 1}
    assert [e.key for e in store.process_events(team="infra")] == ["b"]
    assert [e.key for e in store.process_events(service="gw")] == ["a"]
    assert store.process_events(["deployment"]) == []


def test_migration_0004_downgrades_and_upgrades(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    store = Store(url)
    store.add_process_events([_page("a", "t", "s")])
    cfg = store._alembic_config()
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0003")
        command.upgrade(cfg, "head")
    assert store.process_events() == []  # the table was dropped and created again
    store.close()
