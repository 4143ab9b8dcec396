"""incident targets and pending credits of action runs

Revision ID: trust_actions (alembic refuses "-" in revision ids)
Revises: learn_loop
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import oncall_agent.store.tables

revision = "trust_actions"
down_revision = "learn_loop"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add incidents.targets and action_runs.credit / credit_due_at."""
    op.add_column("incidents", sa.Column("targets", sa.JSON(), nullable=True))
    op.add_column(
        "action_runs",
        sa.Column("credit", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    )
    op.add_column(
        "action_runs",
        sa.Column(
            "credit_due_at", oncall_agent.store.tables.UTCDateTime(timezone=True), nullable=True
        ),
    )
    op.create_index(op.f("ix_action_runs_credit"), "action_runs", ["credit"], unique=False)


def downgrade() -> None:
    """Drop what upgrade added."""
    op.drop_index(op.f("ix_action_runs_credit"), table_name="action_runs")
    op.drop_column("action_runs", "credit_due_at")
    op.drop_column("action_runs", "credit")
    op.drop_column("incidents", "targets")
