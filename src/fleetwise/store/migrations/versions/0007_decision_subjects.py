"""decisions about any subject: an action, a KPI or an analysis, kept after its removal

The log used to hold decisions about existing actions only, and deleting an action deleted
its decisions (ON DELETE CASCADE). A removal is itself a decision to keep on record, so
each entry now names its subject (kind, id, name as it was) and the link to the action is
cut (SET NULL) rather than the entry deleted.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# 0005 left the foreign key unnamed: SQLite's batch mode needs a name to find it (this
# convention), PostgreSQL named it itself.
_NAMING = {"fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s"}
_SQLITE_FK = "fk_plan_decisions_action_id_plan_actions"
_POSTGRES_FK = "plan_decisions_action_id_fkey"


def _old_fk() -> str:
    return _POSTGRES_FK if op.get_bind().dialect.name == "postgresql" else _SQLITE_FK


def upgrade() -> None:
    with op.batch_alter_table("plan_decisions", naming_convention=_NAMING) as batch:
        batch.add_column(
            sa.Column("subject", sa.String(length=16), nullable=False, server_default="action")
        )
        batch.add_column(sa.Column("subject_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("subject_name", sa.Text(), nullable=False, server_default=""))
        batch.drop_constraint(_old_fk(), type_="foreignkey")
        batch.alter_column("action_id", existing_type=sa.Integer(), nullable=True)
        batch.create_foreign_key(
            "fk_plan_decisions_action_id_plan_actions",
            "plan_actions",
            ["action_id"],
            ["id"],
            ondelete="SET NULL",
        )
    op.execute(
        "UPDATE plan_decisions SET subject_id = action_id, subject_name = COALESCE("
        "(SELECT title FROM plan_actions WHERE plan_actions.id = plan_decisions.action_id), '')"
    )


def downgrade() -> None:
    # Entries about KPIs, analyses or removed actions have no action to hang on.
    op.execute("DELETE FROM plan_decisions WHERE action_id IS NULL")
    with op.batch_alter_table("plan_decisions", naming_convention=_NAMING) as batch:
        batch.drop_constraint("fk_plan_decisions_action_id_plan_actions", type_="foreignkey")
        batch.alter_column("action_id", existing_type=sa.Integer(), nullable=False)
        batch.create_foreign_key(
            _old_fk(),
            "plan_actions",
            ["action_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch.drop_column("subject_name")
        batch.drop_column("subject_id")
        batch.drop_column("subject")
