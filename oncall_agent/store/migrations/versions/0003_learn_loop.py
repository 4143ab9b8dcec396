"""learning loop: feedback, false positives, per-action outcomes (A/B), run confidence

Revision ID: learn_loop
Revises: llm
Create Date: 2026-12-02 05:30:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import oncall_agent.store.tables


revision = 'learn_loop'
down_revision = 'llm'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('feedback',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('verdict', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('solution', sa.Text(), nullable=True),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('at', oncall_agent.store.tables.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_feedback_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_feedback_incident_id'), ['incident_id'], unique=False)

    op.create_table('false_positives',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('fingerprint', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('created_at', oncall_agent.store.tables.UTCDateTime(timezone=True), nullable=False),
    sa.Column('undone_at', oncall_agent.store.tables.UTCDateTime(timezone=True), nullable=True),
    sa.Column('undone_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('false_positives', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_false_positives_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_false_positives_fingerprint'), ['fingerprint'], unique=False)

    op.create_table('action_outcomes',
    sa.Column('knowledge_entry_id', sa.Integer(), nullable=False),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('successes', sa.Integer(), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('updated_at', oncall_agent.store.tables.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['knowledge_entry_id'], ['knowledge_entries.id'], ),
    sa.PrimaryKeyConstraint('knowledge_entry_id', 'action')
    )
    with op.batch_alter_table('knowledge_entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('alternatives', sa.JSON(), nullable=True))
    with op.batch_alter_table('action_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('confidence', sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('action_runs', schema=None) as batch_op:
        batch_op.drop_column('confidence')
    with op.batch_alter_table('knowledge_entries', schema=None) as batch_op:
        batch_op.drop_column('alternatives')
    op.drop_table('action_outcomes')
    with op.batch_alter_table('false_positives', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_false_positives_fingerprint'))
        batch_op.drop_index(batch_op.f('ix_false_positives_created_at'))
    op.drop_table('false_positives')
    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_feedback_incident_id'))
        batch_op.drop_index(batch_op.f('ix_feedback_at'))
    op.drop_table('feedback')
