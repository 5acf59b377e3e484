"""Node inventories and node-state snapshots as Parquet, one file per imported source under
``<data>/nodes/`` beside the jobs (``store/columnar.py``); a ``Store`` mixin.

Importing a source again replaces its file. Each file keeps the import's time (``batch``)
and each node's place in it (``seq``), so the nodes read back in import order and a later
import of a node overrides an earlier one (``analyze/fragmentation.py: latest_nodes``).
Nodes an older fleetwise kept in the database (``cluster_nodes``) move to Parquet on first
use, source by source in the order they were stored.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from fleetwise.errors import StoreError
from fleetwise.models import NodeRecord
from fleetwise.store.columnar import NO_DATA_DIR, FleetData, connect, files_sql, sql_text
from fleetwise.store.schema import NodeRow
from fleetwise.timeutil import as_utc

KIND = "nodes"
#: The stored columns, in order (times as UTC timestamps without a zone).
NODE_COLUMNS = (
    ("source", "VARCHAR"),
    ("name", "VARCHAR"),
    ("gpus", "INTEGER"),
    ("model", "VARCHAR"),
    ("partition", "VARCHAR"),
    ("gpus_used", "INTEGER"),
    ("available", "BOOLEAN"),
    ("state", "VARCHAR"),
    ("captured_at", "TIMESTAMP"),
    ("batch", "BIGINT"),
    ("seq", "BIGINT"),
)


def write_nodes(
    data: FleetData, records: Sequence[NodeRecord], source: str, batch: int | None = None
) -> int:
    """Replace ``source``'s nodes with ``records``; returns how many were stored."""
    import pyarrow as pa  # type: ignore[import-untyped]

    stamp = time.time_ns() if batch is None else batch
    table = pa.table(
        {
            "name": pa.array([r.name for r in records], pa.string()),
            "gpus": pa.array([r.gpus for r in records], pa.int32()),
            "model": pa.array([r.model for r in records], pa.string()),
            "partition": pa.array([r.partition for r in records], pa.string()),
            "gpus_used": pa.array([r.gpus_used for r in records], pa.int32()),
            "available": pa.array([r.available for r in records], pa.bool_()),
            "state": pa.array([r.state for r in records], pa.string()),
            "captured_at": pa.array(
                [None if r.captured_at is None else _naive(r.captured_at) for r in records],
                pa.timestamp("us"),
            ),
            "seq": pa.array(range(1, len(records) + 1), pa.int64()),
        }
    )
    con = connect(1)
    try:
        con.register("staged_nodes", table)
        data.write_kind(
            KIND,
            source,
            f"SELECT {sql_text(source)} AS source, name, gpus, model, partition, gpus_used, "
            f"available, state, captured_at, {int(stamp)}::BIGINT AS batch, seq "
            "FROM staged_nodes ORDER BY seq",
            con,
        )
    finally:
        con.close()
    return len(records)


def nodes_sql(data: FleetData, source: str | None = None) -> str:
    """A SELECT of the stored nodes (all :data:`NODE_COLUMNS`), of ``source`` or all."""
    where = [] if source is None else [f"source = {sql_text(source)}"]
    return files_sql(data.kind_files(KIND), NODE_COLUMNS, where)


def read_nodes(data: FleetData, source: str | None = None) -> list[NodeRecord]:
    """Stored nodes in import order."""
    con = data.attach(connect(1))
    try:
        rows = con.execute(
            f"SELECT {', '.join(n for n, _ in NODE_COLUMNS[:-2])} "
            f"FROM ({nodes_sql(data, source)}) ORDER BY batch, seq"
        ).fetchall()
    finally:
        con.close()
    return [_record(row) for row in rows]


def node_sources(data: FleetData) -> list[str]:
    con = data.attach(connect(1))
    try:
        rows = con.execute(f"SELECT DISTINCT source FROM ({nodes_sql(data)})").fetchall()
    finally:
        con.close()
    return sorted(str(s) for (s,) in rows)


def _record(row: tuple[Any, ...]) -> NodeRecord:
    source, name, gpus, model, partition, used, available, state, captured = row
    return NodeRecord(
        name=name,
        gpus=int(gpus),
        model=model or "",
        partition=partition or "",
        gpus_used=None if used is None else int(used),
        available=bool(available),
        state=state or "",
        captured_at=None if captured is None else _aware(captured),
        source=source,
    )


def _naive(t: datetime) -> datetime:
    return (t if t.tzinfo else t.replace(tzinfo=UTC)).astimezone(UTC).replace(tzinfo=None)


def _aware(t: datetime) -> datetime:
    return t.replace(tzinfo=UTC)


def legacy_nodes(s: Session) -> dict[str, list[NodeRecord]]:
    """Nodes still in the database table, by source in the order they were stored."""
    found: dict[str, list[NodeRecord]] = {}
    if s.execute(select(NodeRow.id).limit(1)).first() is None:
        return found
    for row in s.execute(select(NodeRow).order_by(NodeRow.id)).scalars():
        found.setdefault(row.source, []).append(
            NodeRecord(
                name=row.name,
                gpus=row.gpus,
                model=row.model,
                partition=row.partition,
                gpus_used=row.gpus_used,
                available=row.available,
                state=row.state,
                captured_at=as_utc(row.captured_at),
                source=row.source,
            )
        )
    return found


class NodeStore:
    """The store's nodes, kept as columnar files (mixed into the ``Store`` facade)."""

    fleet_data: FleetData
    _legacy_nodes_checked: bool = False

    def _session(self) -> AbstractContextManager[Session]:  # pragma: no cover - Store's
        raise NotImplementedError

    @property
    def display_url(self) -> str:  # pragma: no cover - Store's
        raise NotImplementedError

    def replace_nodes(self, records: Sequence[NodeRecord], source: str) -> int:
        """Store a node inventory or node-state snapshot, replacing the nodes stored before
        from the same ``source`` (one file, replaced by a rename). Returns how many."""
        self._move_legacy_nodes()
        return write_nodes(self.fleet_data, records, source)

    def nodes(self, source: str | None = None) -> list[NodeRecord]:
        """Stored nodes in import order (a later import of a node overrides an earlier)."""
        self._move_legacy_nodes()
        return read_nodes(self.fleet_data, source)

    def node_sources(self) -> list[str]:
        self._move_legacy_nodes()
        return node_sources(self.fleet_data)

    def nodes_version(self) -> tuple[Any, ...]:
        """Changes whenever nodes are stored (for caches)."""
        return self.fleet_data.kind_version(KIND)

    def _move_legacy_nodes(self) -> None:
        """Nodes a fleetwise before the columnar store kept in the database move to the
        columnar files once, source by source, keeping their order."""
        if self._legacy_nodes_checked:
            return
        with self._session() as s:
            found = legacy_nodes(s)
            if found and self.fleet_data.folder is None:
                raise StoreError(
                    f"{self.display_url} holds nodes an earlier fleetwise stored, to move to "
                    f"the columnar store: {NO_DATA_DIR}"
                )
            first = time.time_ns()
            for k, (source, records) in enumerate(found.items()):
                write_nodes(self.fleet_data, records, source, batch=first + k)
                s.execute(delete(NodeRow).where(NodeRow.source == source))
            s.flush()
        self._legacy_nodes_checked = True
