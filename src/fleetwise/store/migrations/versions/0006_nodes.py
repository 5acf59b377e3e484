"""job placements and cluster nodes

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("jobs", sa.Column("placement", sa.JSON(), nullable=True))
    op.create_table(
        "cluster_nodes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("gpus", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(length=64), nullable=False),
        sa.Column("partition", sa.String(length=255), nullable=False),
        sa.Column("gpus_used", sa.Integer(), nullable=True),
        sa.Column("available", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(length=64), nullable=False),
        sa.Column("captured_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_cluster_nodes_source", "cluster_nodes", ["source"])


def downgrade() -> None:
    op.drop_index("ix_cluster_nodes_source", table_name="cluster_nodes")
    op.drop_table("cluster_nodes")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("placement")
