"""Fragmentation history and the snapshot as set-based queries over the columnar ``jobs``
view (``store/columnar.py``), equal to :func:`fragmentation.history` and
:func:`fragmentation.snapshot` (the per-job reference the tests keep as the oracle).

The nodes (thousands, not millions) arrive as records and become a small table. Every
job's placement is a set of (job, host, GPUs) rows (``store/columnar_placements.py``).
History is SQL down to one row per pool and time, then running sums on arrays:

- each placed job adds its GPUs to its known hosts at its start and takes them back at its
  end; a running sum per host (a window) gives the GPUs used after each change, hence the
  host's free GPUs (its GPUs less those used, at least 0) after and before it;
- grouped by pool and time: the change of the free GPUs, of the stranded GPUs (free on a
  partly used node) and of the nodes at each free level (a column per level);
- on arrays of one value per time: the running sums of those changes, each pool's largest
  gang after each of its changes (whole free nodes x GPUs per node plus the highest partly
  free level with a node), the cluster's the largest of its pools', and the time blocked
  by placement, one pass per job size (:func:`fragmentation.integrate`, shared with the
  per-job code).
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
    for table in ("fr_g", "fr_w", "fr_p", "fr_pj", "fr_lev", "fr_grid"):
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
    # the allocation changes per (host, time) of the placed jobs that ran for a while, and
    # each host's free GPUs after each change (f) and before it (f0)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE fr_lev AS SELECT pool, cap, t, f, "
        "coalesce(lag(f) OVER (PARTITION BY host ORDER BY t), cap) AS f0 FROM ("
        "  SELECT p.host, inv.pool, inv.cap, x.t, inv.cap - least(sum(sum(x.d)) "
        "  OVER (PARTITION BY p.host ORDER BY x.t), inv.cap) AS f FROM ("
        f"    SELECT source, job_id, a, coalesce(e, {t_end}) AS b FROM fr_g "
        f"    WHERE coalesce(e, {t_end}) > a"
        "  ) j JOIN fr_p p USING (source, job_id) JOIN fr_inv inv ON inv.name = p.host, "
        "  LATERAL (VALUES (j.a, p.gpus), (j.b, -p.gpus)) x(t, d) "
        "  GROUP BY p.host, inv.pool, inv.cap, x.t)"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE fr_grid AS SELECT DISTINCT t FROM ("
        f"SELECT 0 AS t UNION ALL SELECT {t_end} UNION ALL SELECT t FROM fr_lev "
        "UNION ALL SELECT s FROM fr_w UNION ALL SELECT w_end FROM fr_w)"
    )
    con.execute("DELETE FROM fr_lev WHERE f = f0")
    grid = np.asarray(
        con.execute("SELECT t FROM fr_grid ORDER BY t").fetchnumpy()["t"], dtype=np.int64
    )
    # per pool and time: the change of the free and stranded GPUs, and of the nodes at
    # each free level (one column per level)
    pools = con.execute("SELECT pool, cap, n FROM fr_pools ORDER BY pool").fetchall()
    top = max(cap for _, cap, _ in pools)
    stranded = "CASE WHEN {f} > 0 AND {f} < cap THEN {f} ELSE 0 END"
    levels = ", ".join(
        f"sum((f = {k})::INTEGER - (f0 = {k})::INTEGER)::INTEGER AS c{k}" for k in range(1, top + 1)
    )
    changes = con.execute(
        "SELECT pool, t, sum(f - f0)::BIGINT AS free, "
        f"sum({stranded.format(f='f')} - {stranded.format(f='f0')})::BIGINT AS stranded, "
        f"{levels} FROM fr_lev GROUP BY pool, t ORDER BY pool, t"
    ).fetchnumpy()
    at = np.searchsorted(grid, np.asarray(changes["t"], dtype=np.int64))
    free = np.zeros(len(grid) + 1)
    strand = np.zeros(len(grid) + 1)
    np.add.at(free, at, np.asarray(changes["free"], dtype=np.float64))
    np.add.at(strand, at, np.asarray(changes["stranded"], dtype=np.float64))
    gang: np.ndarray[Any, Any] = np.zeros(len(grid))
    pool_of = np.asarray(changes["pool"])
    for p, cap, n in pools:
        mine = pool_of == p
        # the running count of nodes at each level; the largest gang: whole free nodes x
        # GPUs per node plus the highest partly free level with a node
        whole = n + np.cumsum(np.asarray(changes[f"c{cap}"])[mine])
        rest: np.ndarray[Any, Any] = np.zeros(len(whole))
        for k in range(1, cap):
            count = np.cumsum(np.asarray(changes[f"c{k}"])[mine])
            rest = np.where(count > 0, k, rest)
        steps = np.searchsorted(at[mine], np.arange(len(grid)), side="right") - 1
        values = np.concatenate(([cap * n], whole * cap + rest))
        gang = np.maximum(gang, values[steps + 1])
    return (
        grid.astype(np.float64) / 1e6,
        free0 + np.cumsum(free)[:-1],
        np.cumsum(strand)[:-1],
        gang,
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
