"""alert delivery: claim lease, delivery key and post marker for exactly-once Slack delivery

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 12:00:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        # a worker's lease on the row while it delivers it (SQLite has no row locks)
        batch_op.add_column(sa.Column('claimed_by', sa.String(length=64), nullable=False,
                                      server_default=''))
        batch_op.add_column(sa.Column('claimed_until', sa.DateTime(), nullable=True))
        # unique key carried in the Slack message metadata; found again after a crash
        batch_op.add_column(sa.Column('delivery_key', sa.String(length=64), nullable=False,
                                      server_default=''))
        # set (and committed) before chat.postMessage; cleared when Slack surely has nothing
        batch_op.add_column(sa.Column('post_started_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('channel_id', sa.String(length=32), nullable=False,
                                      server_default=''))
        batch_op.create_index('ix_alerts_document_status', ['document_id', 'status', 'id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_index('ix_alerts_document_status')
        batch_op.drop_column('channel_id')
        batch_op.drop_column('post_started_at')
        batch_op.drop_column('delivery_key')
        batch_op.drop_column('claimed_until')
        batch_op.drop_column('claimed_by')
