"""The telemetry's figures as DuckDB SQL over its sample columns
(``collect/importers/telemetry_stream.py``: ``time, field, host, gpu, value, allocated,
seq``), never a Python object per sample.

- :func:`series_sql` is ``telemetry.parse_dcgm`` / ``parse_helios`` / ``parse_philly``'s
  series: per time point, the mean of each DCGM utilization field over the GPUs reporting
  (GPU_UTIL as 0-1; the later of two samples of one GPU, field and time wins), the GPUs
  reporting one of them (``total``), the GPUs a pod held (``busy``), and the measured
  utilization (SM_ACTIVE, else GPU_UTIL); for a sequence, its points in time order.
- :func:`health_sql` is ``node_health.gpu_health``: per GPU with XID/ECC samples, the
  state carried forward (``last_value ... IGNORE NULLS``), the hours unhealthy (each
  interval that starts unhealthy; the last sample counts the median of the GPUs' median
  intervals), the XIDs in the order first seen, and the counters.

The per-sample code stays as the oracle: ``tests/unit/test_telemetry_sql.py`` checks both
give the same figures on every telemetry fixture.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
import numpy as np
import numpy.typing as npt

from fleetwise.analyze.node_health import GpuHealth
from fleetwise.collect.importers import dcgm
from fleetwise.collect.importers.telemetry import ClusterSeries, FloatArray
from fleetwise.collect.importers.telemetry_stream import UNITS, lit
from fleetwise.collect.xid import xid

#: DCGM utilization fields, in the order the record parser keeps them.
UTILIZATION = (dcgm.UTIL, *dcgm.RATIOS)
_KEY = "host || '/' || gpu"


def _column(con: duckdb.DuckDBPyConnection, query: str) -> list[tuple[Any, ...]]:
    return con.execute(query).fetchall()


def _columns(con: duckdb.DuckDBPyConnection, query: str) -> list[FloatArray]:
    """A query's columns as float arrays (NULL as NaN), fetched as Arrow: a row per time
    point, not a Python object per value."""
    table = con.sql(query).to_arrow_table()
    return [
        np.asarray(table.column(k).to_numpy(), dtype=np.float64) for k in range(table.num_columns)
    ]


def _stamps(micros: FloatArray) -> npt.NDArray[np.datetime64]:
    """Epoch microseconds as UTC seconds (truncated, as ``datetime64[s]`` of a datetime)."""
    return micros.astype(np.int64).astype("datetime64[us]").astype("datetime64[s]")


def series_sql(con: duckdb.DuckDBPyConnection, samples: str, fmt: str, name: str) -> ClusterSeries:
    """The series of ``samples`` (a relation of one source's sample columns) read as
    ``fmt``; ``name`` is the file's name (the series is ``fmt:name``)."""
    if fmt == "dcgm":
        return _dcgm_series(con, samples, name)
    cols = _columns(
        con,
        "SELECT epoch_us(any_value(time)), "
        "max(value) FILTER (WHERE field = 'total'), max(value) FILTER (WHERE field = 'busy'), "
        f"max(value) FILTER (WHERE field = 'pending') FROM {samples} GROUP BY seq "
        "ORDER BY date_trunc('second', any_value(time)), seq",
    )
    return ClusterSeries(
        f"{fmt}:{name}",
        UNITS[fmt],
        _stamps(cols[0]),
        cols[1],
        cols[2],
        cols[3],
        np.full(len(cols[0]), np.nan),
    )


def _dcgm_series(con: duckdb.DuckDBPyConnection, samples: str, name: str) -> ClusterSeries:
    found = {f for (f,) in _column(con, f"SELECT DISTINCT field FROM {samples}")}
    present = [f for f in UTILIZATION if f in found]
    means = "".join(
        f"avg(v) FILTER (WHERE field = {lit(f)}), " for f in present
    )  # GPU_UTIL already 0-1
    listed = ", ".join(lit(f) for f in present) or "NULL"
    cols = _columns(
        con,
        f"WITH last AS (SELECT time, field, {_KEY} AS key, "
        f"arg_max(CASE WHEN field = {lit(dcgm.UTIL)} THEN value / 100 ELSE value END, seq) "
        f"AS v FROM {samples} GROUP BY time, field, key), "
        f"held AS (SELECT time, count(*) FILTER (WHERE held) AS busy FROM (SELECT time, "
        f"{_KEY} AS key, bool_or(allocated) AS held FROM {samples} "
        "WHERE allocated IS NOT NULL GROUP BY time, key) GROUP BY time), "
        f"per AS (SELECT time, {means}count(DISTINCT key) FILTER (WHERE field IN ({listed})) "
        "AS total FROM last GROUP BY time) "
        "SELECT epoch_us(per.time), per.* EXCLUDE (time), held.busy FROM per "
        "LEFT JOIN held USING (time) ORDER BY per.time",
    )
    n = len(cols[0])
    fields = {f: cols[1 + k] for k, f in enumerate(present)}
    total = cols[1 + len(present)] if present else np.full(n, np.nan)
    busy = cols[2 + len(present)]
    basis = "SM_ACTIVE" if dcgm.SM_ACTIVE in fields else "GPU_UTIL" if dcgm.UTIL in fields else ""
    utilization = (
        fields[dcgm.SM_ACTIVE if basis == "SM_ACTIVE" else dcgm.UTIL]
        if basis
        else np.full(n, np.nan)
    )
    return ClusterSeries(
        f"dcgm:{name}",
        "GPUs",
        _stamps(cols[0]),
        total,
        busy,
        np.full(n, np.nan),
        utilization,
        basis=basis,
        fields=fields,
    )


#: Health fields as SQL column names.
_HEALTH = {f: f"f{k}" for k, f in enumerate(dcgm.HEALTH)}
#: Counters whose increase over the file is kept (the others: their last value).
_INCREASE = (dcgm.ECC_SBE, dcgm.RETIRED_DBE)


def health_sql(con: duckdb.DuckDBPyConnection, samples: str) -> list[GpuHealth]:
    """Per GPU with health samples: its XIDs, counters and hours unhealthy, by host and
    GPU (``node_health.gpu_health``)."""
    last = (
        f"SELECT host, gpu, time, field, arg_max(value, seq) AS v FROM {samples} "
        f"WHERE field IN ({', '.join(lit(f) for f in dcgm.HEALTH)}) "
        "GROUP BY host, gpu, time, field"
    )
    codes = _column(
        con, f"SELECT DISTINCT value FROM {samples} WHERE field = {lit(dcgm.XID)} AND value <> 0"
    )
    bad = ", ".join(str(int(c)) for (c,) in codes if xid(int(c)).unhealthy) or "NULL"
    cols = ", ".join(f"max(v) FILTER (WHERE field = {lit(f)}) AS {c}" for f, c in _HEALTH.items())
    carried = ", ".join(f"last_value({c} IGNORE NULLS) OVER w AS s_{c}" for c in _HEALTH.values())
    x, dbe = _HEALTH[dcgm.XID], _HEALTH[dcgm.ECC_DBE]
    remap, pending = _HEALTH[dcgm.REMAP_FAILURE], _HEALTH[dcgm.RETIRED_PENDING]
    ill = (
        f"(coalesce(s_{x}, 0) IN ({bad}) OR coalesce(s_{dbe}, 0) > 0 "
        f"OR coalesce(s_{remap}, 0) > 0 OR coalesce(s_{pending}, 0) > 0)"
    )
    at = (
        f"SELECT *, {ill} AS ill FROM (SELECT *, {carried}, "
        "epoch_us(lead(time) OVER (PARTITION BY host, gpu ORDER BY time)) - epoch_us(time) "
        f"AS step_us FROM (SELECT host, gpu, time, {cols} FROM last GROUP BY host, gpu, time) "
        "WINDOW w AS (PARTITION BY host, gpu ORDER BY time "
        "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW))"
    )
    increase = ", ".join(lit(f) for f in _INCREASE)
    rows = _column(
        con,
        f"WITH last AS ({last}), states AS ({at}), "
        # the last sample of a GPU counts the median of the GPUs' median intervals
        "tail AS (SELECT coalesce(median(step), 0) / 3600 AS h FROM (SELECT "
        "median(step_us::DOUBLE) / 1e6 AS step FROM states WHERE step_us IS NOT NULL "
        "GROUP BY host, gpu)), "
        "gpus AS (SELECT host, gpu, count(*) AS n, coalesce(sum(CASE WHEN ill THEN "
        "coalesce(step_us / 3.6e9, (SELECT h FROM tail)) END), 0) AS hours, "
        "epoch_us(min(time) FILTER (WHERE ill)) AS first FROM states GROUP BY host, gpu), "
        f"codes AS (SELECT host, gpu, list(code ORDER BY seen) AS xids FROM (SELECT host, "
        f"gpu, {x}::BIGINT AS code, min(time) AS seen FROM states WHERE {x} IS NOT NULL "
        f"AND {x} <> 0 GROUP BY host, gpu, code) GROUP BY host, gpu), "
        "counters AS (SELECT host, gpu, list(field ORDER BY field) AS names, "
        "list(value ORDER BY field) AS vals FROM (SELECT host, gpu, field, "
        f"CASE WHEN field IN ({increase}) THEN arg_max(v, time) - arg_min(v, time) "
        f"ELSE arg_max(v, time) END AS value FROM last WHERE field <> {lit(dcgm.XID)} "
        "GROUP BY host, gpu, field) GROUP BY host, gpu) "
        "SELECT host, gpu, n, hours, first, xids, names, vals FROM gpus "
        "LEFT JOIN codes USING (host, gpu) LEFT JOIN counters USING (host, gpu) "
        "ORDER BY host, gpu",
    )
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    return [
        GpuHealth(
            str(host),
            str(gpu),
            int(n),
            float(hours),
            None if first is None else epoch + timedelta(microseconds=int(first)),
            tuple(int(c) for c in xids or ()),
            dict(zip(names or (), (float(v) for v in vals or ()), strict=True)),
        )
        for host, gpu, n, hours, first, xids, names, vals in rows
    ]
