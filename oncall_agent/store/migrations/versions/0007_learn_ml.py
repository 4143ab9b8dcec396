"""learning: incident description/solution/outcome/origin, model versions

Revision ID: learn_ml
Revises: reading
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import oncall_agent.store.tables

revision = "learn_ml"
down_revision = "reading"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("description", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(
            sa.Column("solution", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True)
        )
        batch_op.add_column(sa.Column("solution_success", sa.Boolean(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "origin",
                sqlmodel.sql.sqltypes.AutoString(length=20),
                nullable=False,
                server_default="detected",
            )
        )
    op.create_table(
        "model_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=True),
        sa.Column("baseline", sa.JSON(), nullable=True),
        sa.Column("promotion_reason", sa.Text(), nullable=True),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column(
            "data_end", oncall_agent.store.tables.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column(
            "created_at", oncall_agent.store.tables.UTCDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("version"),
    )
    with op.batch_alter_table("model_versions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_model_versions_status"), ["status"], unique=False)
    # Duplicate detection on import looks rows up by (first_seen, title, service).
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.create_index("ix_incidents_origin", ["origin"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_index("ix_incidents_origin")
    with op.batch_alter_table("model_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_model_versions_status"))
    op.drop_table("model_versions")
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_column("origin")
        batch_op.drop_column("solution_success")
        batch_op.drop_column("solution")
        batch_op.drop_column("description")
