"""fair due work: per-endpoint and requested waiting indexes; timeouts, final counts, truncation

Revision ID: e5f1b2c3d4a6
Revises: d4e8a1c2b3f5
Create Date: 2026-11-30 17:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'e5f1b2c3d4a6'
down_revision = 'd4e8a1c2b3f5'
branch_labels = None
depends_on = None

WAITING = "status IN ('pending', 'failed')"
REQUESTED = f"{WAITING} AND next_trigger IN ('manual', 'test')"


def upgrade():
    with op.batch_alter_table('endpoints') as batch:
        batch.add_column(sa.Column('timed_out_at', sa.DateTime(timezone=True), nullable=True))
        for name in ('delivered_count', 'exhausted_count', 'cancelled_count'):
            batch.add_column(sa.Column(name, sa.BigInteger(), nullable=False, server_default='0'))
    with op.batch_alter_table('attempts') as batch:
        for name in ('request_truncated', 'response_truncated'):
            batch.add_column(sa.Column(name, sa.Boolean(), nullable=False,
                                       server_default=sa.false()))
    for status, column in (('delivered', 'delivered_count'), ('exhausted', 'exhausted_count'),
                           ('cancelled', 'cancelled_count')):
        op.execute(
            f"UPDATE endpoints SET {column} = (SELECT count(*) FROM deliveries "
            f"WHERE deliveries.endpoint_id = endpoints.id AND deliveries.status = '{status}')"
        )
    op.create_index(
        'ix_deliveries_endpoint_waiting', 'deliveries',
        ['endpoint_id', 'next_attempt_at', 'created_at'], unique=False,
        postgresql_where=sa.text(WAITING), sqlite_where=sa.text(WAITING),
    )
    op.create_index(
        'ix_deliveries_requested', 'deliveries', ['next_attempt_at'], unique=False,
        postgresql_where=sa.text(REQUESTED), sqlite_where=sa.text(REQUESTED),
    )


def downgrade():
    op.drop_index('ix_deliveries_requested', table_name='deliveries')
    op.drop_index('ix_deliveries_endpoint_waiting', table_name='deliveries')
    with op.batch_alter_table('attempts') as batch:
        batch.drop_column('response_truncated')
        batch.drop_column('request_truncated')
    with op.batch_alter_table('endpoints') as batch:
        for name in ('cancelled_count', 'exhausted_count', 'delivered_count', 'timed_out_at'):
            batch.drop_column(name)
