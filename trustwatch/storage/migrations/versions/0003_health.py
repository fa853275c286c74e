"""health problems: opened once with a health alert, closed once with a recovered alert

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 12:30:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'problems',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('source_id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=2100), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('document_id', sa.Integer(), nullable=True),
        sa.Column('opened_at', sa.DateTime(), nullable=False),
        sa.Column('closed_at', sa.DateTime(), nullable=True),
        sa.Column('detail', sa.Text(), nullable=False),
        sa.Column('data', sa.JSON(), nullable=False),
        sa.Column('alert_id', sa.Integer(), nullable=True),
        sa.Column('recovered_alert_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['source_id'], ['sources.id']),
        sa.ForeignKeyConstraint(['document_id'], ['documents.id']),
        sa.ForeignKeyConstraint(['alert_id'], ['alerts.id']),
        sa.ForeignKeyConstraint(['recovered_alert_id'], ['alerts.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_problems_source_id', 'problems', ['source_id'], unique=False)
    op.create_index('ix_problems_open', 'problems', ['source_id', 'closed_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_problems_open', table_name='problems')
    op.drop_index('ix_problems_source_id', table_name='problems')
    op.drop_table('problems')
