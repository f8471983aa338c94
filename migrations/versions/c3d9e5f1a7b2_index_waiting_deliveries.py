"""index only the waiting deliveries, in the order workers take them

Revision ID: c3d9e5f1a7b2
Revises: b7c41e0d9a12
Create Date: 2026-11-23 21:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'c3d9e5f1a7b2'
down_revision = 'b7c41e0d9a12'
branch_labels = None
depends_on = None

WAITING = sa.text("status IN ('pending', 'failed')")


def upgrade():
    op.create_index(
        'ix_deliveries_waiting', 'deliveries', ['next_attempt_at', 'created_at'], unique=False,
        postgresql_where=WAITING, sqlite_where=WAITING,
    )
    op.drop_index('ix_deliveries_due', table_name='deliveries')


def downgrade():
    op.create_index('ix_deliveries_due', 'deliveries', ['status', 'next_attempt_at'], unique=False)
    op.drop_index('ix_deliveries_waiting', table_name='deliveries')
