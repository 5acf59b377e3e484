"""cluster jobs

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=255), nullable=False),
        sa.Column("job_id", sa.String(length=255), nullable=False),
        sa.Column("user", sa.String(length=255), nullable=False),
        sa.Column("team", sa.String(length=255), nullable=False),
        sa.Column("submit_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("start_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("gpus", sa.Integer(), nullable=False),
        sa.Column("nodes", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ux_jobs_source_job", "jobs", ["source", "job_id"], unique=True)
    op.create_index("ix_jobs_team", "jobs", ["team"])
    op.create_index("ix_jobs_submit_time", "jobs", ["submit_time"])


def downgrade() -> None:
    op.drop_index("ix_jobs_submit_time", table_name="jobs")
    op.drop_index("ix_jobs_team", table_name="jobs")
    op.drop_index("ux_jobs_source_job", table_name="jobs")
    op.drop_table("jobs")
