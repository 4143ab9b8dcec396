"""source cursors get a version for compare-and-swap advances

Revision ID: reading
Revises: approvals
"""
from alembic import op
import sqlalchemy as sa


revision = "reading"
down_revision = "approvals"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("source_cursors", schema=None) as batch_op:
        batch_op.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("source_cursors", schema=None) as batch_op:
        batch_op.drop_column("version")
