"""claims carry a lease token; attempts keep the URL posted to and the address dialled

Revision ID: d4e8a1c2b3f5
Revises: c3d9e5f1a7b2
Create Date: 2026-11-30 16:20:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'd4e8a1c2b3f5'
down_revision = 'c3d9e5f1a7b2'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('deliveries') as batch:
        batch.add_column(sa.Column('lease_token', sa.String(length=32), nullable=True))
    with op.batch_alter_table('attempts') as batch:
        batch.add_column(sa.Column('request_url', sa.Text(), nullable=True))
        batch.add_column(sa.Column('remote_address', sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table('attempts') as batch:
        batch.drop_column('remote_address')
        batch.drop_column('request_url')
    with op.batch_alter_table('deliveries') as batch:
        batch.drop_column('lease_token')
