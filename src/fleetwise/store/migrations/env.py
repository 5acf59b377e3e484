"""Alembic environment: always driven from ``Store`` with an open connection."""

from __future__ import annotations

from alembic import context

from fleetwise.store.schema import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only the Store runs migrations
    raise RuntimeError("fleetwise migrations run through fleetwise.store.Store")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
