"""alerts.thread_key: one Slack thread per document, or per bill for a bill's documents

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 11:40:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('thread_key', sa.String(length=160), nullable=False,
                                      server_default=''))
        batch_op.create_index(batch_op.f('ix_alerts_thread_key'), ['thread_key'], unique=False)
    op.execute("UPDATE alerts SET thread_key = 'document:' || CAST(document_id AS VARCHAR(20)) "
               "WHERE document_id IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alerts_thread_key'))
        batch_op.drop_column('thread_key')
