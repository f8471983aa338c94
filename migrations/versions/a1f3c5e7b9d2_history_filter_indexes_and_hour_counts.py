"""history filtered by status or event type through their own indexes; deliveries counted
per endpoint and UTC hour for the statistics

Revision ID: a1f3c5e7b9d2
Revises: 26f52ab586bd
Create Date: 2026-11-30 19:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'a1f3c5e7b9d2'
down_revision = '26f52ab586bd'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_deliveries_org_status_created', 'deliveries',
                    ['org_id', 'status', 'created_at', 'id'], unique=False)
    op.create_index('ix_deliveries_org_type_created', 'deliveries',
                    ['org_id', 'event_type', 'created_at', 'id'], unique=False)
    op.create_table(
        'delivery_hour_counts',
        sa.Column('endpoint_id', sa.String(length=36), nullable=False),
        sa.Column('hour', sa.DateTime(timezone=True), nullable=False),
        sa.Column('deliveries', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['endpoint_id'], ['endpoints.id'],
                                name=op.f('fk_delivery_hour_counts_endpoint_id_endpoints')),
        sa.PrimaryKeyConstraint('endpoint_id', 'hour', name=op.f('pk_delivery_hour_counts')),
    )


def downgrade():
    op.drop_table('delivery_hour_counts')
    op.drop_index('ix_deliveries_org_type_created', table_name='deliveries')
    op.drop_index('ix_deliveries_org_status_created', table_name='deliveries')
