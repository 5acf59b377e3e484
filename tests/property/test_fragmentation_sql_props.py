"""Fragmentation history and the snapshot as queries over the columnar jobs
(``analyze/fragmentation_sql.py``) against the per-job code (the oracle) on generated
clusters: the same figures, counts exactly, floats to 1e-9 relative; and the jobs of one
pool for the ledger (``usecases/ledger.py: pool_slice``) as the per-record slice selects
them."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_fragmentation_props import Case, at_hour, clusters, seeded

from fleetwise.analyze.fragmentation import History, history, snapshot
from fleetwise.analyze.fragmentation_sql import history_sql, snapshot_sql
from fleetwise.analyze.ledger import JobTable
from fleetwise.errors import InputError
from fleetwise.store.columnar import FleetData
from fleetwise.usecases.ledger import pool_records, pool_slice
from oracle import close


@seeded
@given(clusters(), st.integers(0, 60) | st.none())
def test_queries_equal_the_per_job_history_and_snapshot(case: Case, half_hours: int | None) -> None:
    data = FleetData.temporary()
    try:
        data.add_records(case.jobs, "log")
        jobs = data.records()
        with data.connect() as con:
            got, want = history_sql(con, case.nodes), history(case.nodes, jobs)
            if isinstance(want, History):
                assert isinstance(got, History) and close(got.summary(), want.summary())
            else:
                assert got == want
            at = None if half_hours is None else at_hour(half_hours / 2)
            assert snapshot_sql(con, case.nodes, at) == snapshot(case.nodes, jobs, at)
    finally:
        data.close()


@seeded
@given(clusters())
def test_the_ledger_of_a_pool_slices_as_the_per_job_code(case: Case) -> None:
    data = FleetData.temporary()
    try:
        data.add_records(case.jobs, "log")
        jobs = data.records()
        for pool in sorted({n.model or "unknown" for n in case.nodes if n.gpus > 0}):
            with data.connect() as con:
                try:
                    chosen = pool_records(jobs, case.nodes, pool)
                except InputError as exc:
                    with pytest.raises(InputError, match="needs job placements"):
                        pool_slice(con, case.nodes, pool)
                    assert "needs job placements" in str(exc)
                    continue
                _, got = pool_slice(con, case.nodes, pool)
            want = JobTable.from_records(chosen, source="jobs:log" if chosen else "jobs:no job log")
            assert (got.source, got.teams) == (want.source, want.teams)
            for name in ("submit", "start", "end", "gpus", "lost", "team"):
                assert np.array_equal(getattr(got, name), getattr(want, name), equal_nan=True)
    finally:
        data.close()
