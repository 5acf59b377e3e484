"""Analyses and findings round-trip through the store; a new schema revision migrates."""

from __future__ import annotations

from fleetwise.models import Cost, Evidence, Finding, Severity
from fleetwise.store import Store


def _finding() -> Finding:
    return Finding(
        kind="trace.host_bound",
        layer="compute",
        title="GPU idle 78% of the step, 95% of it waiting on the host",
        detail="CPU-bound input pipeline",
        severity=Severity.HIGH,
        evidence=[Evidence(label="idle share", value=0.78, unit="fraction", source="trace:r0")],
        cost=Cost(
            gpu_hours_per_year=1000.0,
            usd_per_year=2500.0,
            assumptions={"fleet_gpus": 8, "usd_per_gpu_hour": 2.5},
        ),
        recommendations=["CUDA graphs", "more data-loader workers"],
    )


def test_analysis_round_trip(db_url: str) -> None:
    store = Store(db_url)
    aid = store.save_analysis("trace", "traces/run1", {"ranks": 2}, [_finding()], ["base"])
    store.save_analysis("cluster", "jobs.csv", {}, [], [])
    store.close()
    again = Store(db_url)
    (a,) = again.analyses(kind="trace")
    assert a.id == aid and a.tags == ["base"] and a.summary == {"ranks": 2}
    (f,) = a.findings
    assert f.model_dump(exclude={"id", "analysis_id"}) == _finding().model_dump(
        exclude={"id", "analysis_id"}
    )
    assert f.analysis_id == aid
    assert again.findings(tag="base") == [f]
    assert again.findings(tag="other") == []
    assert len(again.analyses()) == 2
    again.close()
