"""The node analyses and the ledger of one pool as queries over the columnar jobs
(``analyze/fragmentation_sql.py``, ``usecases/ledger.py: pool_slice``), each against the
per-job code it replaces (the oracle) on every job log x node list fixture: groups and
counts exactly, floats to 1e-9 relative. Host lists stored as text (the streaming sacct
import) are expanded by SQL as ``expand_hostlist`` expands them."""

from __future__ import annotations

from itertools import product
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fleetwise.analyze.fragmentation import History, fragmentation_of, history, snapshot
from fleetwise.analyze.fragmentation_sql import (
    fragmentation_of_sql,
    has_placements,
    history_sql,
    snapshot_sql,
)
from fleetwise.analyze.ledger import JobTable
from fleetwise.collect.importers.hostlist import expand_hostlist
from fleetwise.collect.importers.jobs import import_jobs
from fleetwise.collect.importers.jobs_stream import stage, streaming_plan
from fleetwise.collect.importers.nodes import import_nodes
from fleetwise.errors import InputError
from fleetwise.models import NodeRecord
from fleetwise.store.columnar import FleetData, connect
from fleetwise.store.columnar_placements import hosts_sql
from fleetwise.usecases.ledger import pool_records, pool_slice
from oracle import JOB_LOGS, close

DATA = Path(__file__).parents[1] / "data" / "clusters"
LOGS = JOB_LOGS
NODES = [*sorted((DATA / "nodes").iterdir()), DATA / "dcgm_health" / "nodes.csv"]


def stored(log: Path) -> FleetData:
    """``log`` in a columnar store as ``cluster import`` stores it: streamed by DuckDB
    (host lists kept as text) where it can be, else parsed as records."""
    data = FleetData.temporary()
    plan = streaming_plan(log, "auto", {})
    con = connect()
    try:
        staged = data.staging_file()
        if plan is not None and stage(plan[1], staged, con) is not None:
            data.adopt(staged, "log", con)
            return data
        staged.unlink(missing_ok=True)
    finally:
        con.close()
    data.add_records(import_jobs(log)[1], "log")
    return data


@pytest.fixture(scope="module")
def logs() -> Any:
    found = {log: stored(log) for log in LOGS}
    yield found
    for data in found.values():
        data.close()


@pytest.fixture(scope="module")
def inventories() -> dict[Path, list[NodeRecord]]:
    return {f: import_nodes(f)[1] for f in NODES}


def test_the_streamed_host_lists_are_read_by_the_queries() -> None:
    data = stored(DATA / "formats" / "sacct_nodelist.txt")
    try:
        with data.connect() as con:
            kept = con.execute("SELECT count(nodelist), count(placement) FROM jobs").fetchall()
        assert kept == [(3, 0)]  # the host lists stay text: the SQL spreads the GPUs
        assert [r.placement for r in data.records()][:2] == [
            {"dgx001": 8, "dgx002": 8},
            {"dgx003": 3},
        ]
    finally:
        data.close()


@pytest.mark.parametrize(("log", "nodes"), list(product(LOGS, NODES)), ids=str)
def test_history_and_snapshot_equal_the_per_job_code(
    log: Path, nodes: Path, logs: dict[Path, FleetData], inventories: dict[Path, Any]
) -> None:
    data, inventory = logs[log], inventories[nodes]
    jobs = data.records()
    with data.connect() as con:
        want = history(inventory, jobs)
        got = history_sql(con, inventory)
        if isinstance(want, History):
            assert isinstance(got, History) and close(got.summary(), want.summary())
        else:
            assert got == want
        assert has_placements(con) == any(j.placement for j in jobs)
        now, now_sql = snapshot(inventory, jobs), snapshot_sql(con, inventory)
        if any(n.gpus_used is not None and n.captured_at is None for n in inventory):
            assert now_sql.pools == now.pools  # a snapshot without a capture time is "now"
        else:
            assert now_sql == now
        if jobs:
            first = snapshot(inventory, jobs, jobs[len(jobs) // 2].submit_time)
            assert snapshot_sql(con, inventory, first.at) == first
        views, views_sql = fragmentation_of(inventory, jobs), fragmentation_of_sql(con, inventory)
        assert close(
            views_sql[0].summary() if isinstance(views_sql[0], History) else views_sql[0],
            views[0].summary() if isinstance(views[0], History) else views[0],
        )
        assert (views[1] is None) == (views_sql[1] is None)


@pytest.mark.parametrize(("log", "nodes"), list(product(LOGS, NODES)), ids=str)
def test_the_ledger_of_a_pool_slices_as_the_per_job_code(
    log: Path, nodes: Path, logs: dict[Path, FleetData], inventories: dict[Path, Any]
) -> None:
    data, inventory = logs[log], inventories[nodes]
    jobs = data.records()
    pools = sorted({n.model or "unknown" for n in inventory if n.gpus > 0})
    for pool in [*pools, "no such pool"]:
        try:
            chosen = pool_records(jobs, inventory, pool)
        except InputError as exc:
            with data.connect() as con, pytest.raises(InputError) as got:
                pool_slice(con, inventory, pool)
            assert str(got.value) == str(exc)
            continue
        want = JobTable.from_records(
            chosen, source="jobs:" + (", ".join(sorted({j.source for j in chosen})) or "no job log")
        )
        with data.connect() as con:
            members, table = pool_slice(con, inventory, pool)
        latest = {n.name: n for n in inventory}
        assert members and all((latest[n.name].model or "unknown") == pool for n in members)
        assert table.source == want.source and table.teams == want.teams
        for field in ("submit", "start", "end", "gpus", "lost", "team"):
            assert np.array_equal(getattr(table, field), getattr(want, field), equal_nan=True)


# A host list of the forms the streaming import keeps: items of a name with at most one
# bracket group of ranges (``jobs_stream._HOSTS_FORM``).
NAME = st.text("abgnx-._ ", min_size=0, max_size=4)
RANGE = st.tuples(st.integers(0, 120), st.integers(0, 5), st.integers(0, 3)).map(
    lambda t: (
        (str(t[0]).zfill(t[2] + len(str(t[0]))) if t[2] else str(t[0]))
        + ("" if not t[1] else f"-{t[0] + t[1]}")
    )
)
ITEM = st.one_of(
    NAME.filter(lambda s: s.strip() != ""),
    st.tuples(NAME, st.lists(RANGE, min_size=1, max_size=3), NAME).map(
        lambda t: f"{t[0]}[{','.join(t[1])}]{t[2]}"
    ),
)


@settings(derandomize=True, deadline=None, max_examples=200)
@given(st.lists(ITEM, min_size=1, max_size=4), st.sampled_from(["", " ", "\t"]))
def test_host_lists_expand_in_sql_as_in_python(items: list[str], pad: str) -> None:
    text = pad + ",".join(items) + pad
    con = connect(1)
    try:
        got = con.execute(f"SELECT {hosts_sql('?')}", [text]).fetchall()[0][0]
    finally:
        con.close()
    assert got == expand_hostlist(text)


def test_a_streamed_log_with_every_gpu_job_placed_slices_by_pool(
    tmp_path: Path, inventories: dict[Path, Any]
) -> None:
    log = tmp_path / "sacct.txt"
    text = (DATA / "formats" / "sacct_nodelist.txt").read_text().splitlines()
    log.write_text("\n".join(line for line in text if not line.startswith("5003|")) + "\n")
    data = stored(log)
    inventory = inventories[DATA / "nodes" / "scontrol_oneliner.txt"]
    try:
        jobs = data.records()
        sizes = {}
        for pool in ("h100", "a40"):
            want = JobTable.from_records(pool_records(jobs, inventory, pool), source="jobs:log")
            with data.connect() as con:
                _, table = pool_slice(con, inventory, pool)
            assert table.source == want.source and table.teams == want.teams
            assert np.array_equal(table.gpus, want.gpus)
            assert np.array_equal(table.start, want.start, equal_nan=True)
            sizes[pool] = table.gpus.tolist()
        assert sizes == {"h100": [16.0, 3.0, 6.0], "a40": [6.0]}  # 5004 spans both pools
    finally:
        data.close()
