"""resolution leases (who resolves an incident, swept when expired) and configuration problems

Revision ID: recovery
Revises: detect_alert
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import oncall_agent.store.tables


revision = 'recovery'
down_revision = 'detect_alert'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('config_problems',
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('problem', sa.Text(), nullable=False),
    sa.Column('first_seen', oncall_agent.store.tables.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_seen', oncall_agent.store.tables.UTCDateTime(timezone=True), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    with op.batch_alter_table('config_problems', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_config_problems_last_seen'), ['last_seen'], unique=False)
    op.create_table('resolution_leases',
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('episode', sa.Integer(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('owner', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('flow_run_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('phase', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.Column('claimed_at', oncall_agent.store.tables.UTCDateTime(timezone=True), nullable=False),
    sa.Column('heartbeat_at', oncall_agent.store.tables.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', oncall_agent.store.tables.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], ),
    sa.PrimaryKeyConstraint('incident_id')
    )
    with op.batch_alter_table('resolution_leases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_resolution_leases_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_resolution_leases_phase'), ['phase'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('resolution_leases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_resolution_leases_phase'))
        batch_op.drop_index(batch_op.f('ix_resolution_leases_expires_at'))
    op.drop_table('resolution_leases')
    with op.batch_alter_table('config_problems', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_config_problems_last_seen'))
    op.drop_table('config_problems')
