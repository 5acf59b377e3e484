"""The results store: one facade (`Store`) over SQLite or PostgreSQL."""

from fleetwise.store.store import Store, params_hash

__all__ = ["Store", "params_hash"]
