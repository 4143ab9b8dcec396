"""template counts: each source's baseline of alerting templates per time bucket

Revision ID: detect_alert
Revises: learn_ml
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "detect_alert"  # Alembic refuses "-" in revision ids
down_revision = "learn_ml"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "template_counts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_key", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("fingerprint", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("bucket", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source_key", "fingerprint", "bucket"),
    )
    with op.batch_alter_table("template_counts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_template_counts_bucket"), ["bucket"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("template_counts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_template_counts_bucket"))
    op.drop_table("template_counts")
