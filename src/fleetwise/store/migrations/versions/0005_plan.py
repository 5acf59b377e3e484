"""the plan: actions, KPIs, experiments, decisions, retrospectives

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "plan_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("owner", sa.String(length=255), nullable=False),
        sa.Column("finding_kind", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_plan_actions_status", "plan_actions", ["status"])
    op.create_table(
        "plan_kpis",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "plan_experiments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("action_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["action_id"], ["plan_actions.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_plan_experiments_action_id", "plan_experiments", ["action_id"])
    op.create_table(
        "plan_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("action_id", sa.Integer(), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("decided_by", sa.String(length=255), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["action_id"], ["plan_actions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_plan_decisions_action_id", "plan_decisions", ["action_id"])
    op.create_table(
        "plan_retrospectives",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("held_on", sa.DateTime(timezone=True), nullable=False),
        sa.Column("team", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_plan_retrospectives_held_on", "plan_retrospectives", ["held_on"])
    op.create_index("ix_plan_retrospectives_team", "plan_retrospectives", ["team"])


def downgrade() -> None:
    op.drop_index("ix_plan_retrospectives_team", table_name="plan_retrospectives")
    op.drop_index("ix_plan_retrospectives_held_on", table_name="plan_retrospectives")
    op.drop_table("plan_retrospectives")
    op.drop_index("ix_plan_decisions_action_id", table_name="plan_decisions")
    op.drop_table("plan_decisions")
    op.drop_index("ix_plan_experiments_action_id", table_name="plan_experiments")
    op.drop_table("plan_experiments")
    op.drop_table("plan_kpis")
    op.drop_index("ix_plan_actions_status", table_name="plan_actions")
    op.drop_table("plan_actions")
