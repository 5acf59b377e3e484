"""Four processes write 1,000 results each into one store: nothing lost, nothing duplicated.

Runs on SQLite (WAL, busy timeout) and on a real PostgreSQL server (``db_url`` fixture).
Each result is its own transaction, as the runner commits case by case.
"""

from __future__ import annotations

import multiprocessing as mp
from collections import Counter

from sqlalchemy import select

from fleetwise.models import ResultRecord, RunStatus
from fleetwise.stats import summarize
from fleetwise.store import Store
from fleetwise.store.schema import ResultRow

WRITERS = 4
RESULTS = 1000


def _writer(url: str, worker: int) -> None:
    store = Store(url)
    run = store.create_run("concurrency", {"worker": worker}, tags=[f"w{worker}"])
    samples = [1.0, 1.1, 0.9]
    summary = summarize(samples)
    for i in range(RESULTS):
        record = ResultRecord(
            case_key=f"{worker}-{i:04d}",
            case_index=i,
            benchmark="compute.gemm",
            layer="compute",
            params={"size": 64, "worker": worker},
            metric="tflops",
            unit="TFLOP/s",
            direction="higher",
            samples=samples,
            summary=summary,
        )
        store.add_results(run.id, [record])
    store.set_run_status(run.id, RunStatus.COMPLETED)
    store.close()


def test_four_writers_lose_and_duplicate_nothing(db_url: str) -> None:
    Store(db_url).close()  # migrate once, before the writers race
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(db_url, w)) for w in range(WRITERS)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=300)
    assert [p.exitcode for p in procs] == [0] * WRITERS
    store = Store(db_url)
    with store.engine.connect() as conn:
        keys = [k for (k,) in conn.execute(select(ResultRow.case_key))]
    assert len(keys) == WRITERS * RESULTS
    assert not [k for k, n in Counter(keys).items() if n > 1]
    runs = store.list_runs()
    assert sorted(r.status for r in runs) == [RunStatus.COMPLETED] * WRITERS
    for run in runs:
        assert len(store.results(run.id)) == RESULTS
    store.close()
