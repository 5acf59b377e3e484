"""What the dashboard reads from the store, cached until the store changes.

Every page is a read of the store; the expensive reads (every series, every analysis, a
forecast) are kept in memory and recomputed only when a cheap version query says the
tables they come from grew. Stored rows are only appended or updated through fleetwise,
so the largest id and the row count of a table change whenever its content does, except
for in-place updates, which the version also covers through the plan tables' counts and
a short time-to-live. Rows are removed only by the remove commands, and each logs a
decision: the decision log's version is part of every cached read's, since a removal
followed by an insert can leave a table's (largest id, count) as it was (SQLite reuses
the largest id).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import func, select

from fleetwise.models import AnalysisRecord, Series
from fleetwise.plan.fleet import FleetProfile, default_profile
from fleetwise.store import Store
from fleetwise.store.schema import (
    AnalysisRow,
    DecisionRow,
    JobRow,
    NodeRow,
    ProcessEventRow,
    ResultRow,
    RunRow,
)

if TYPE_CHECKING:
    from fleetwise.usecases.ledger import LedgerView

T = TypeVar("T")
SERIES_TABLES: tuple[type[Any], ...] = (ResultRow, RunRow)

#: Seconds a cached read is trusted without asking the store for its version again;
#: short enough that a page reflects a new run at the next refresh.
VERSION_TTL_S = 2.0


class StoreReader:
    """A store plus in-memory caches keyed by the version of the tables they read."""

    def __init__(self, store: Store, profile: FleetProfile | None = None) -> None:
        self.store = store
        #: The fleet profile every dollar on the dashboard is priced with.
        self.profile = profile or default_profile()
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[tuple[Any, ...], Any]] = {}
        self._versions: dict[str, tuple[float, tuple[Any, ...]]] = {}

    def _version(self, table: type[Any]) -> tuple[Any, ...]:
        name = table.__tablename__
        now = time.monotonic()
        with self._lock:
            seen = self._versions.get(name)
            if seen is not None and now - seen[0] < VERSION_TTL_S:
                return seen[1]
        with self.store.engine.connect() as conn:
            row = conn.execute(select(func.max(table.id), func.count(table.id))).one()
        version: tuple[Any, ...] = (row[0], row[1])
        if table is JobRow:  # the jobs live in the columnar store (store/columnar.py)
            version += self.store.jobs_data().version()
        if table is NodeRow:  # so do the nodes (store/columnar_nodes.py)
            version += self.store.nodes_version()
        with self._lock:
            self._versions[name] = (now, version)
        return version

    def ledger(self) -> LedgerView:
        """The store's fleet ledger with its claims, kept while jobs, nodes, analyses and
        runs keep their versions (it is the slowest read of the overview)."""
        from fleetwise.usecases.ledger import ledger_for

        return self.cached(
            "ledger",
            (JobRow, NodeRow, AnalysisRow, RunRow),
            lambda: ledger_for(self.store, self.profile),
        )

    def cached(self, key: str, tables: tuple[type[Any], ...], compute: Callable[[], T]) -> T:
        """``compute()``, reused while the ``tables`` (and the decision log, which records
        every removal) keep their version."""
        watched: tuple[type[Any], ...] = (*tables, DecisionRow)
        version = tuple(v for t in watched for v in self._version(t))
        with self._lock:
            hit = self._cache.get(key)
        if hit is not None and hit[0] == version:
            value: T = hit[1]
            return value
        value = compute()
        with self._lock:
            self._cache[key] = (version, value)
        return value

    def series(self) -> list[Series]:
        return self.cached("series", SERIES_TABLES, self.store.series)

    def from_series_and_events(self, key: str, compute: Callable[[], T]) -> T:
        """As :meth:`from_series`, for what also reads process events (platform changes)."""
        return self.cached(key, (*SERIES_TABLES, ProcessEventRow), compute)

    def from_series(self, key: str, compute: Callable[[], T]) -> T:
        """``compute()`` of something derived from the series, kept as long as they are."""
        return self.cached(key, SERIES_TABLES, compute)

    def analyses(self) -> list[AnalysisRecord]:
        return self.cached("analyses", (AnalysisRow,), self.store.analyses)

    def runs_total(self) -> int:
        return int(self._version(RunRow)[1])
