"""alignment: stakeholders, meetings, stances, RACI (issue 18 parts 4 and 5)

The stakeholder register (influence and interest on 1-5, the stance each started with),
each backlog action's RACI, the meetings of the alignment log and the stances they
recorded. A meeting's attendees, objections, answers and logged decisions live in its
JSON document; its decisions themselves go to the decision log (``plan_decisions``).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alignment_stakeholders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=255), nullable=False),
        sa.Column("team", sa.String(length=255), nullable=False),
        sa.Column("influence", sa.Integer(), nullable=False),
        sa.Column("interest", sa.Integer(), nullable=False),
        sa.Column("stance", sa.String(length=16), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "alignment_raci",
        sa.Column("action_id", sa.Integer(), nullable=False),
        sa.Column("stakeholder_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=1), nullable=False),
        sa.ForeignKeyConstraint(["action_id"], ["plan_actions.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["stakeholder_id"], ["alignment_stakeholders.id"], ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("action_id", "stakeholder_id", "role"),
    )
    op.create_index("ix_alignment_raci_stakeholder_id", "alignment_raci", ["stakeholder_id"])
    op.create_table(
        "alignment_meetings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("held_on", sa.DateTime(timezone=True), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_index("ix_alignment_meetings_held_on", "alignment_meetings", ["held_on"])
    op.create_table(
        "alignment_stances",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stakeholder_id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("held_on", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stance", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["stakeholder_id"], ["alignment_stakeholders.id"], ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["meeting_id"], ["alignment_meetings.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_alignment_stances_stakeholder_id", "alignment_stances", ["stakeholder_id"])
    op.create_index("ix_alignment_stances_meeting_id", "alignment_stances", ["meeting_id"])


def downgrade() -> None:
    op.drop_table("alignment_stances")
    op.drop_table("alignment_meetings")
    op.drop_table("alignment_raci")
    op.drop_table("alignment_stakeholders")
