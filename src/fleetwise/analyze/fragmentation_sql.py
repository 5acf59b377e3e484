"""Fragmentation history and the snapshot as set-based queries over the columnar ``jobs``
view (``store/columnar.py``), equal to :func:`fragmentation.history` and
:func:`fragmentation.snapshot` (the per-job reference the tests keep as the oracle).

The nodes (thousands, not millions) arrive as records and become a small table. Every
job's placement is a set of (job, host, GPUs) rows (``store/columnar_placements.py``).
History then runs as SQL:

- each placed job adds its GPUs to its known hosts at its start and takes them back at its
  end; a running sum per host gives the GPUs used after each change, hence the host's free
  GPUs (its GPUs less those used, at least 0);
- the free and stranded totals are running sums of the hosts' changes;
- per pool, the count of nodes at each free level is a running sum of the level changes;
  the largest gang after each change of a pool is its whole free nodes x GPUs per node plus
  the highest partly free level with a node (an as-of join of each level's count);
- the cluster's largest gang at each time is the largest of its pools' (as-of joins).

What remains is on arrays of one value per time (:func:`fragmentation.integrate`): the
time blocked by placement, per job size.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import duckdb
import numpy as np

from fleetwise.analyze.fragmentation import (
    MIN_COVERAGE,
    History,
    Snapshot,
    integrate,
    latest_nodes,
    pool_key,
    pool_states,
    snapshot,
)
from fleetwise.models import NodeRecord
from fleetwise.store.columnar_placements import placements_sql

#: The GPU jobs with times in microseconds from the log's first time (``t0``).
_GPU_JOBS = """
CREATE OR REPLACE TEMP TABLE fr_g AS
SELECT source, job_id, gpus, submit_time, batch, seq,
       epoch_us(coalesce(submit_time, TIMESTAMP '1970-01-01')) - {t0} AS s,
       epoch_us(start_time) - {t0} AS a, epoch_us(end_time) - {t0} AS e
FROM jobs WHERE gpus > 0
"""


def _ts(t: datetime) -> str:
    moment = t if t.tzinfo else t.replace(tzinfo=UTC)
    return f"TIMESTAMP '{moment.astimezone(UTC).replace(tzinfo=None).isoformat(sep=' ')}'"


def _aware(t: datetime | None) -> datetime | None:
    return None if t is None else t.replace(tzinfo=UTC)


def has_placements(con: duckdb.DuckDBPyConnection) -> bool:
    """Does any job of the ``jobs`` view have a placement?"""
    row = con.execute(f"SELECT EXISTS ({placements_sql()})").fetchall()[0]
    return bool(row[0])


def _inventory(con: duckdb.DuckDBPyConnection, nodes: Sequence[NodeRecord]) -> list[Any]:
    """Register the latest nodes with GPUs (``fr_inv``) and their pools (``fr_pools``:
    pool, GPUs per node, nodes); returns the pools' rows."""
    inventory = latest_nodes(nodes)
    keys = sorted({pool_key(n) for n in inventory.values() if n.gpus > 0})
    index = {k: p for p, k in enumerate(keys)}
    members = [(n.name, index[pool_key(n)], n.gpus) for n in inventory.values() if n.gpus > 0]
    pools = [(p, cap, sum(1 for m in members if m[1] == p)) for p, (_, cap) in enumerate(keys)]
    con.execute("CREATE OR REPLACE TEMP TABLE fr_inv (name VARCHAR, pool INTEGER, cap INTEGER)")
    con.execute("CREATE OR REPLACE TEMP TABLE fr_pools (pool INTEGER, cap INTEGER, n INTEGER)")
    if members:
        con.executemany("INSERT INTO fr_inv VALUES (?, ?, ?)", members)
        con.executemany("INSERT INTO fr_pools VALUES (?, ?, ?)", pools)
    return pools


def history_sql(con: duckdb.DuckDBPyConnection, nodes: Sequence[NodeRecord]) -> History | str:
    """:func:`fragmentation.history` over the ``jobs`` view of ``con``."""
    inventory = latest_nodes(nodes)
    pools = _inventory(con, nodes)
    if not pools:
        return "no nodes with GPUs: import an inventory with `fleetwise cluster nodes FILE`"
    first, last, t0, t1 = con.execute(
        "SELECT min(lo), max(hi), epoch_us(min(lo)), epoch_us(max(hi)) FROM ("
        "SELECT least(s, coalesce(a, s)) AS lo, greatest(s, coalesce(a, s), coalesce(e, s)) AS hi "
        "FROM (SELECT coalesce(submit_time, TIMESTAMP '1970-01-01') AS s, start_time AS a, "
        "end_time AS e FROM jobs WHERE gpus > 0))"
    ).fetchall()[0]
    if last is None:
        return "no GPU jobs"
    t_end = int(t1) - int(t0)
    con.execute(_GPU_JOBS.format(t0=int(t0)))
    started = "(SELECT * FROM jobs WHERE gpus > 0 AND start_time IS NOT NULL)"
    con.execute(f"CREATE OR REPLACE TEMP TABLE fr_p AS {placements_sql(started)}")
    con.execute(
        "CREATE OR REPLACE TEMP TABLE fr_pj AS SELECT source, job_id, count(*) AS hosts, "
        "count(fr_inv.name) AS known FROM fr_p LEFT JOIN fr_inv ON fr_p.host = fr_inv.name "
        "GROUP BY source, job_id"
    )
    counts = con.execute(
        "SELECT count(*) FILTER (WHERE a IS NOT NULL), count(pj.job_id), "
        "count(*) FILTER (WHERE pj.known < pj.hosts) "
        "FROM fr_g LEFT JOIN fr_pj pj USING (source, job_id)"
    ).fetchall()[0]
    n_started, n_placed, unknown_jobs = (int(c) for c in counts)
    if not n_started or n_placed / n_started < MIN_COVERAGE:
        return (
            f"placements known for {n_placed} of {n_started} started GPU jobs "
            f"(under {MIN_COVERAGE:.0%}); import a log with node lists (sacct NodeList, "
            "Philly detail, a CSV hosts column)"
        )
    # the waits: from submission to the start, else to the end (cancelled) or the log's end
    con.execute(
        "CREATE OR REPLACE TEMP TABLE fr_w AS SELECT * FROM (SELECT s, CASE WHEN a IS NOT NULL "
        f"THEN a ELSE coalesce(e, {t_end}) END AS w_end, gpus, submit_time, batch, seq "
        "FROM fr_g) WHERE w_end > s"
    )
    times, free, stranded, gang = _series(con, t_end, sum(cap * n for _, cap, n in pools))
    waits = con.execute(
        "SELECT s, w_end, gpus FROM fr_w ORDER BY submit_time, batch, seq"
    ).fetchnumpy()
    wait_arr = np.column_stack(
        [
            np.asarray(waits["s"], dtype=np.float64) / 1e6,
            np.asarray(waits["w_end"], dtype=np.float64) / 1e6,
            np.asarray(waits["gpus"], dtype=np.float64),
        ]
    ).reshape(-1, 3)
    for table in ("fr_g", "fr_w", "fr_p", "fr_pj", "fr_ev", "fr_lev", "fr_tot", "fr_hist", "fr_pg"):
        con.execute(f"DROP TABLE IF EXISTS {table}")
    return History(
        start=first.replace(tzinfo=UTC),
        end=last.replace(tzinfo=UTC),
        capacity_gpus=sum(n.gpus for n in inventory.values()),
        started_gpu_jobs=n_started,
        placed_jobs=n_placed,
        unknown_host_jobs=unknown_jobs,
        **integrate(times, free, stranded, gang, wait_arr, max(cap * n for _, cap, n in pools)),
    )


def _series(
    con: duckdb.DuckDBPyConnection, t_end: int, free0: int
) -> tuple[np.ndarray[Any, Any], ...]:
    """Times (s) and the free GPUs, stranded GPUs and largest gang from each time on."""
    # the allocation changes per (host, time) of the placed jobs that ran for a while
    con.execute(
        "CREATE OR REPLACE TEMP TABLE fr_ev AS "
        "SELECT p.host, x.t, sum(x.d) AS d FROM ("
        f"  SELECT source, job_id, a, coalesce(e, {t_end}) AS b FROM fr_g "
        f"  JOIN fr_pj USING (source, job_id) WHERE known > 0 AND coalesce(e, {t_end}) > a"
        ") j JOIN fr_p p USING (source, job_id) JOIN fr_inv ON fr_inv.name = p.host, "
        "LATERAL (VALUES (j.a, p.gpus), (j.b, -p.gpus)) x(t, d) GROUP BY p.host, x.t"
    )
    # each host's free GPUs after each change, and before it
    con.execute(
        "CREATE OR REPLACE TEMP TABLE fr_lev AS "
        "SELECT pool, cap, t, f, coalesce(lag(f) OVER (PARTITION BY host ORDER BY t), cap) AS f0 "
        "FROM (SELECT ev.host, inv.pool, inv.cap, ev.t, inv.cap - least(sum(ev.d) "
        "OVER (PARTITION BY ev.host ORDER BY ev.t), inv.cap) AS f "
        "FROM fr_ev ev JOIN fr_inv inv ON inv.name = ev.host)"
    )
    con.execute("DELETE FROM fr_lev WHERE f = f0")
    stranded = "CASE WHEN {f} > 0 AND {f} < cap THEN {f} ELSE 0 END"
    con.execute(
        "CREATE OR REPLACE TEMP TABLE fr_tot AS SELECT t, "
        "sum(sum(f - f0)) OVER (ORDER BY t) AS free, "
        f"sum(sum({stranded.format(f='f')} - {stranded.format(f='f0')})) OVER (ORDER BY t) "
        "AS stranded FROM fr_lev GROUP BY t"
    )
    # nodes per (pool, free level) after each change of the pool
    con.execute(
        "CREATE OR REPLACE TEMP TABLE fr_hist AS "
        "SELECT h.pool, h.level, h.t, sum(sum(h.d)) OVER (PARTITION BY h.pool, h.level "
        "ORDER BY h.t) + CASE WHEN h.level = pools.cap THEN pools.n ELSE 0 END AS c "
        "FROM (SELECT pool, f AS level, t, 1 AS d FROM fr_lev UNION ALL "
        "SELECT pool, f0, t, -1 FROM fr_lev) h JOIN fr_pools pools USING (pool) "
        "GROUP BY h.pool, h.level, h.t, pools.cap, pools.n"
    )
    # each pool's largest gang after each of its changes
    con.execute(
        "CREATE OR REPLACE TEMP TABLE fr_pg AS "
        "SELECT g.pool, g.t, coalesce(max(h.c) FILTER (WHERE g.level = g.cap), g.n) * g.cap "
        "+ coalesce(max(g.level) FILTER (WHERE g.level < g.cap AND h.c > 0), 0) AS gang "
        "FROM (SELECT pt.pool, pt.t, pools.cap, pools.n, unnest(range(1, pools.cap + 1)) AS level "
        "FROM (SELECT DISTINCT pool, t FROM fr_hist) pt JOIN fr_pools pools USING (pool)) g "
        "ASOF LEFT JOIN fr_hist h ON g.pool = h.pool AND g.level = h.level AND g.t >= h.t "
        "GROUP BY g.pool, g.t, g.cap, g.n"
    )
    cols = con.execute(
        "WITH grid AS (SELECT DISTINCT t FROM ("
        f"  SELECT 0 AS t UNION ALL SELECT {t_end} UNION ALL SELECT t FROM fr_ev "
        "  UNION ALL SELECT s FROM fr_w UNION ALL SELECT w_end FROM fr_w)), "
        # the largest gang of every pool at every change of any pool
        "changes AS (SELECT c.t, max(coalesce(pg.gang, c.cap * c.n)) AS gang FROM "
        "  (SELECT t, pool, cap, n FROM (SELECT DISTINCT t FROM fr_pg), fr_pools) c "
        "  ASOF LEFT JOIN fr_pg pg ON c.pool = pg.pool AND c.t >= pg.t GROUP BY c.t) "
        f"SELECT grid.t, {free0} + coalesce(tot.free, 0) AS free, "
        "coalesce(tot.stranded, 0) AS stranded, "
        f"coalesce(ch.gang, (SELECT max(cap * n) FROM fr_pools)) AS gang "
        "FROM grid ASOF LEFT JOIN fr_tot tot ON grid.t >= tot.t "
        "ASOF LEFT JOIN changes ch ON grid.t >= ch.t ORDER BY grid.t"
    ).fetchnumpy()
    return (
        np.asarray(cols["t"], dtype=np.float64) / 1e6,
        np.asarray(cols["free"], dtype=np.float64),
        np.asarray(cols["stranded"], dtype=np.float64),
        np.asarray(cols["gang"], dtype=np.float64),
    )


def snapshot_sql(
    con: duckdb.DuckDBPyConnection, nodes: Sequence[NodeRecord], at: datetime | None = None
) -> Snapshot:
    """:func:`fragmentation.snapshot` over the ``jobs`` view of ``con``."""
    inventory = latest_nodes(nodes)
    if not inventory:
        raise ValueError("no nodes: import an inventory or node state first")
    states = [n for n in inventory.values() if n.gpus_used is not None]
    if at is None and states:
        state = snapshot(nodes, [])
        return _with_waiting(con, state)
    if at is not None:
        when = at
    else:
        last = con.execute(
            "SELECT max(greatest(coalesce(submit_time, TIMESTAMP '1970-01-01'), "
            "coalesce(start_time, submit_time), coalesce(end_time, submit_time))) "
            "FROM jobs WHERE gpus > 0"
        ).fetchall()[0][0]
        when = _aware(last) or datetime.now(UTC)
    running = (
        f"(SELECT * FROM jobs WHERE start_time <= {_ts(when)} "
        f"AND (end_time IS NULL OR {_ts(when)} < end_time))"
    )
    used: dict[str, int] = {}
    unknown: set[str] = set()
    for host, gpus in con.execute(
        f"SELECT host, sum(gpus) FROM ({placements_sql(running)}) GROUP BY host"
    ).fetchall():
        if host in inventory:
            used[str(host)] = int(gpus)
        else:
            unknown.add(str(host))
    basis = f"placements of the jobs running at {when.isoformat(timespec='seconds')}"
    state = Snapshot(
        at=when,
        basis=basis,
        pools=pool_states(inventory, used),
        waiting_jobs=0,
        waiting_gpus=0,
        blocked_jobs=0,
        unknown_hosts=sorted(unknown)[:10],
    )
    return _with_waiting(con, state)


def _with_waiting(con: duckdb.DuckDBPyConnection, state: Snapshot) -> Snapshot:
    """``state`` with the jobs waiting at its time counted (blocked: no more GPUs than are
    free and the largest pool holds, but more than the largest gang)."""
    when = _ts(state.at)
    cap = min(state.free, max((p.gpus for p in state.pools), default=0))
    row = con.execute(
        "SELECT count(*), coalesce(sum(gpus), 0), "
        f"count(*) FILTER (WHERE gpus > {state.largest_gang} AND gpus <= {cap}) FROM jobs "
        f"WHERE gpus > 0 AND coalesce(submit_time, TIMESTAMP '1970-01-01') <= {when} "
        "AND CASE WHEN start_time IS NOT NULL "
        f"THEN {when} < start_time ELSE end_time IS NULL OR {when} < end_time END"
    ).fetchall()[0]
    return Snapshot(
        at=state.at,
        basis=state.basis,
        pools=state.pools,
        waiting_jobs=int(row[0]),
        waiting_gpus=int(row[1]),
        blocked_jobs=int(row[2]),
        unknown_hosts=state.unknown_hosts,
    )


def fragmentation_of_sql(
    con: duckdb.DuckDBPyConnection, nodes: Sequence[NodeRecord]
) -> tuple[History | str, Snapshot | None]:
    """:func:`fragmentation.fragmentation_of` over the ``jobs`` view of ``con``."""
    found = history_sql(con, nodes)
    if isinstance(found, str):
        has_state = any(n.gpus_used is not None for n in nodes)
        return found, snapshot_sql(con, nodes) if has_state else None
    return found, snapshot_sql(con, nodes)
