"""ordered endpoints: each endpoint's waiting deliveries in creation order; ordered endpoints

Revision ID: f6a2c3d4e5b7
Revises: c0a1d0578d7c
Create Date: 2026-11-30 18:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'f6a2c3d4e5b7'
down_revision = 'c0a1d0578d7c'
branch_labels = None
depends_on = None

WAITING = sa.text("status IN ('pending', 'failed')")


def upgrade():
    op.create_index(
        'ix_deliveries_endpoint_queue', 'deliveries', ['endpoint_id', 'created_at', 'id'],
        unique=False, postgresql_where=WAITING, sqlite_where=WAITING,
    )
    op.create_index(
        'ix_endpoints_ordered', 'endpoints', ['id'], unique=False,
        postgresql_where=sa.text('ordered'), sqlite_where=sa.text('ordered'),
    )


def downgrade():
    op.drop_index('ix_endpoints_ordered', table_name='endpoints')
    op.drop_index('ix_deliveries_endpoint_queue', table_name='deliveries')
