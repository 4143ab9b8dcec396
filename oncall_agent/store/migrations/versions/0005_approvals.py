"""approvals record what ran and count wrong one-time codes

Revision ID: approvals
Revises: trust_actions
"""

import sqlalchemy as sa
from alembic import op

revision = "approvals"
down_revision = "trust_actions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("approvals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("approved_parameters", sa.JSON(), nullable=True))
        batch_op.add_column(
            sa.Column("code_failures", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("approvals", schema=None) as batch_op:
        batch_op.drop_column("code_failures")
        batch_op.drop_column("approved_parameters")
