"""Platform changes: the change log importer, inference from fingerprints, and the verdicts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fleetwise.analyze.infra_changes import (
    RunSnapshot,
    changes_between,
    in_scope,
    infer_from_runs,
    infra_report,
    label,
    merge,
)
from fleetwise.collect.importers.incidents import parse_pagerduty
from fleetwise.collect.importers.infra_changes import parse_infra_changes, sniff_infra_changes
from fleetwise.errors import InputError
from fleetwise.models import ProcessEvent

DATA = Path(__file__).parents[1] / "data" / "process"
T0 = datetime(2026, 11, 1, tzinfo=UTC)


def test_the_yaml_and_csv_logs_read_the_same_changes() -> None:
    yml = parse_infra_changes(DATA / "infra_changes.yaml")
    csv = parse_infra_changes(DATA / "infra_changes.csv")
    assert [e.model_dump(exclude={"source"}) for e in yml] == [
        e.model_dump(exclude={"source"}) for e in csv
    ]
    assert [e.key for e in yml][:3] == ["kernel-6.1-fleet", "driver-560-a-rack", "ckpt-client-2.4"]
    driver = yml[1]
    assert (driver.kind, driver.group, driver.service, driver.status) == (
        "infra_change",
        "driver",
        "training-cluster",
        "",
    )
    assert driver.payload["from"] == "550.54.15" and driver.payload["to"] == "560.35.03"
    assert driver.time == datetime(2026, 11, 15, 22, tzinfo=UTC)
    assert yml[2].status == "rolled_back" and yml[2].ended_at == datetime(
        2026, 11, 17, 5, tzinfo=UTC
    )
    assert label(driver) == "driver 550.54.15 -> 560.35.03 (gpu-a[01-32], 2026-11-15)"
    assert sniff_infra_changes(DATA / "infra_changes.yaml")
    assert sniff_infra_changes(DATA / "infra_changes.csv")
    assert not sniff_infra_changes(DATA / "pipeline_runs.csv")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "infra_changes:\n  - {id: a, time: 2026-01-01, component: driver, to: '1', owner: x}\n",
            "infra_changes[0]: unknown key 'owner'",
        ),
        (
            "infra_changes:\n  - {id: a, time: 2026-01-01, component: gpu, to: '1'}\n",
            "infra_changes[0]: key 'component': 'gpu' is not one of",
        ),
        (
            "infra_changes:\n  - {id: a, time: 2026-01-01, component: driver}\n",
            "infra_changes[0]: key 'to': missing",
        ),
        (
            "infra_changes:\n  - {id: a, time: yesterday, component: driver, to: '1'}\n",
            "infra_changes[0]: key 'time': not a time: 'yesterday'",
        ),
        (
            "infra_changes:\n  - {id: a, time: 2026-01-02, component: nccl, to: '2',"
            " rolled_back_at: 2026-01-01}\n",
            "infra_changes[0]: key 'rolled_back_at':",
        ),
        (
            "infra_changes:\n  - {id: a, time: 2026-01-01, component: driver, to: '1'}\n"
            "  - {id: a, time: 2026-01-02, component: driver, to: '2'}\n",
            "infra_changes[1]: key 'id': 'a' already used at infra_changes[0]",
        ),
        ("changes: []\n", "expected one top-level key 'infra_changes'"),
        ("infra_changes: [\n", "not YAML"),
    ],
)
def test_a_bad_log_names_the_file_the_row_and_the_key(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "log.yaml"
    path.write_text(text)
    with pytest.raises(InputError) as err:
        parse_infra_changes(path)
    assert str(err.value).startswith(f"{path}:") and message in str(err.value)


def test_a_csv_log_with_a_bad_row_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text("id,time,component,to\nx,2026-01-01,driver,1\ny,2026-01-02,driver,\n")
    with pytest.raises(InputError, match=r"log.csv:3: key 'to': missing"):
        parse_infra_changes(path)


def _fp(driver: str | None, kernel: str = "6.1.0", torch: str = "2.13.0") -> dict[str, object]:
    gpus = [{"name": "NVIDIA H100 80GB HBM3", "driver": driver}] * 2 if driver else []
    return {
        "host": "x",
        "gpus": gpus,
        "os": {"name": "Debian GNU/Linux 12 (bookworm)", "kernel": kernel},
        "libraries": {"torch": torch, "nccl": "2.21.5" if driver else None},
        "load": {"loadavg_1m": 3.0},  # noise, never a platform change
    }


def test_fingerprints_of_consecutive_runs_show_the_platform_changes() -> None:
    runs = [
        RunSnapshot(1, "gpu-a01", T0, _fp("550.54.15")),
        RunSnapshot(2, "gpu-a01", T0 + timedelta(days=1), _fp("560.35.03", kernel="6.1.1")),
        RunSnapshot(3, "gpu-a01", T0 + timedelta(days=2), _fp("550.54.15", kernel="6.1.1")),
        RunSnapshot(4, "gpu-a02", T0, _fp("550.54.15")),
        RunSnapshot(5, "gpu-a02", T0 + timedelta(days=3), _fp("550.54.15")),
    ]
    inferred = infer_from_runs(reversed(runs))  # order of the input does not matter
    got = [(e.payload["field"], e.payload["from"], e.payload["to"], e.time.day) for e in inferred]
    assert got == [
        ("gpus.driver", "550.54.15", "560.35.03", 2),
        ("os.kernel", "6.1.0", "6.1.1", 2),
        ("gpus.driver", "560.35.03", "550.54.15", 3),
    ]
    first = inferred[0]
    assert first.started_at == T0 and first.payload["scope"] == "gpu-a01"
    assert first.payload["runs"] == [1, 2] and first.payload["origin"] == "fingerprints"
    # Undone by the next change of the same field: a rollback, with its time.
    report = infra_report(inferred, [])
    verdict = {v.key: v for v in report.verdicts}[first.key]
    assert verdict.failed and verdict.reasons == ("rolled back",)
    assert verdict.recovery_hours == pytest.approx(24.0)


def test_the_change_log_wins_over_what_fingerprints_show() -> None:
    logged = parse_infra_changes(DATA / "infra_changes.yaml")
    driver = logged[1]
    seen = infer_from_runs(
        [
            RunSnapshot(1, "gpu-a07", driver.time - timedelta(hours=5), _fp("550.54.15")),
            RunSnapshot(2, "gpu-a07", driver.time + timedelta(hours=5), _fp("560.35.03")),
            RunSnapshot(3, "gpu-b01", driver.time - timedelta(hours=5), _fp("550.54.15")),
            RunSnapshot(4, "gpu-b01", driver.time + timedelta(hours=5), _fp("560.35.03")),
        ]
    )
    merged = merge(logged, seen)
    # gpu-a07 is in the logged change's scope (gpu-a[01-32]); gpu-b01 is not: kept.
    assert [e.key for e in merged if e.source.startswith("fingerprints")] == [
        "gpu-b01:gpus.driver:run4"
    ]
    assert len(merged) == len(logged) + 1


def test_scope_fleet_pool_and_host_lists() -> None:
    logged = {e.key: e for e in parse_infra_changes(DATA / "infra_changes.yaml")}
    assert in_scope(logged["kernel-6.1-fleet"], "anything")
    assert in_scope(logged["driver-560-a-rack"], "gpu-a32")
    assert not in_scope(logged["driver-560-a-rack"], "gpu-a33")
    window = changes_between(
        list(logged.values()),
        "gpu-a05",
        datetime(2026, 11, 15, tzinfo=UTC),
        datetime(2026, 11, 17, 2, tzinfo=UTC),
    )
    assert [c.key for c in window] == ["driver-560-a-rack", "ckpt-client-2.4", "nccl-2.21"]
    assert changes_between(list(logged.values()), "gpu-b05", T0, T0 + timedelta(days=15)) == []


def test_the_story_log_judged_against_its_pages() -> None:
    """Hand-checked against examples/data/process/pagerduty_incidents.json: each page goes
    to the latest change of its service at most 24 h before it."""
    changes = parse_infra_changes(DATA / "infra_changes.yaml")
    pages = parse_pagerduty(DATA / "pagerduty_incidents.json")
    r = infra_report(changes, pages, window=timedelta(hours=24))
    v = {x.key: x for x in r.verdicts}
    assert not v["kernel-6.1-fleet"].failed and not v["cuda-12.6-image"].failed
    # gpu-a17 NotReady 4 h 14 min after the driver: 48 min 44 s to resolve.
    assert v["driver-560-a-rack"].reasons == ("1 page",)
    assert v["driver-560-a-rack"].recovery_hours == pytest.approx((48 * 60 + 44) / 3600)
    # Three checkpoint-latency pages (2 min 30 s, 2 min 50 s, 1 min 15 s) and a rollback.
    assert v["ckpt-client-2.4"].reasons == ("3 pages", "rolled back")
    assert v["ckpt-client-2.4"].recovery_hours == pytest.approx(150 / 3600)
    # The NCCL timeout page was never resolved: recovery is the rollback, 4 h 30 min.
    assert v["nccl-2.21"].recovery_hours == pytest.approx(4.5)
    assert v["slurm-priority-weights"].recovery_hours == pytest.approx(100 / 60)
    assert (r.changes, r.failed, r.weeks) == (7, 4, 6)
    assert r.change_failure_rate == pytest.approx(4 / 7)
    assert r.recovery_hours == pytest.approx((48 * 60 + 44) / 3600 / 2 + 100 / 60 / 2)
    assert {c.component: (c.changes, c.failed) for c in r.components}["storage"] == (1, 1)


def test_an_incident_naming_the_change_is_attributed_by_root_cause_and_products_are_not() -> None:
    change = parse_infra_changes(DATA / "infra_changes.yaml")[0]  # kernel, 2026-10-20
    later = change.time + timedelta(days=3)  # outside any window
    incidents = [
        ProcessEvent(
            kind="incident",
            source="t",
            key="i1",
            time=later,
            ended_at=later + timedelta(hours=2),
            links=[change.key],
        ),
        ProcessEvent(
            kind="incident",
            source="t",
            key="i2",
            time=change.time + timedelta(hours=1),
            ended_at=change.time + timedelta(hours=9),
            service="checkout",
        ),
    ]
    r = infra_report([change], incidents)
    (v,) = r.verdicts
    assert v.incidents == ("i1",) and v.recovery_hours == pytest.approx(2.0)


def test_a_benchmark_regression_after_a_change_fails_it_without_a_recovery_time() -> None:
    change = parse_infra_changes(DATA / "infra_changes.yaml")[-1]
    r = infra_report([change], [], regressions={change.key: ["compute.gemm/abc"]})
    (v,) = r.verdicts
    assert v.failed and v.reasons == ("benchmark regression: compute.gemm/abc",)
    assert v.recovery_hours is None and "no recovery time" in r.notes[0]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 500), st.sampled_from(["driver", "nccl", "kernel"]), st.booleans()
        ),
        min_size=1,
        max_size=12,
    ),
    st.lists(st.integers(0, 520), max_size=12),
)
def test_rates_are_shares_and_every_change_has_one_verdict(
    changes: list[tuple[int, str, bool]], incident_hours: list[int]
) -> None:
    evs = [
        ProcessEvent(
            kind="infra_change",
            source="t",
            key=f"c{i}",
            time=T0 + timedelta(hours=h),
            ended_at=T0 + timedelta(hours=h + 1) if back else None,
            service="s",
            group=comp,
            payload={"component": comp, "to": str(i), "scope": "fleet"},
        )
        for i, (h, comp, back) in enumerate(changes)
    ]
    incs = [
        ProcessEvent(
            kind="page",
            source="t",
            key=f"p{i}",
            time=T0 + timedelta(hours=h),
            ended_at=T0 + timedelta(hours=h, minutes=30),
            service="s",
        )
        for i, h in enumerate(incident_hours)
    ]
    r = infra_report(evs, incs)
    assert len(r.verdicts) == len(evs) and sum(c.changes for c in r.components) == len(evs)
    assert 0.0 <= (r.change_failure_rate or 0.0) <= 1.0
    assert r.failed == sum(v.failed for v in r.verdicts)
    attributed = [k for v in r.verdicts for k in v.incidents]
    assert len(attributed) == len(set(attributed))  # a page fails one change at most
    assert all(v.recovery_hours is None or v.recovery_hours >= 0 for v in r.verdicts)
