"""delivery and on-call events

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "process_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=255), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("team", sa.String(length=255), nullable=False),
        sa.Column("service", sa.String(length=255), nullable=False),
        sa.Column("group_key", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("links", sa.JSON(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ux_process_events_identity", "process_events", ["kind", "source", "key"], unique=True
    )
    op.create_index("ix_process_events_kind_time", "process_events", ["kind", "time"])
    op.create_index("ix_process_events_team", "process_events", ["team"])
    op.create_index("ix_process_events_service", "process_events", ["service"])


def downgrade() -> None:
    op.drop_index("ix_process_events_service", table_name="process_events")
    op.drop_index("ix_process_events_team", table_name="process_events")
    op.drop_index("ix_process_events_kind_time", table_name="process_events")
    op.drop_index("ux_process_events_identity", table_name="process_events")
    op.drop_table("process_events")
