"""endpoints: payload filter, rate limit and ordered delivery

Revision ID: c0a1d0578d7c
Revises: c76beb099378
Create Date: 2026-12-01 11:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'c0a1d0578d7c'
down_revision = 'c76beb099378'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('endpoints') as batch:
        batch.add_column(sa.Column('payload_filter', sa.JSON(), nullable=False,
                                   server_default=sa.text("'[]'")))
        batch.add_column(sa.Column('rate_limit', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('ordered', sa.Boolean(), nullable=False,
                                   server_default=sa.false()))


def downgrade():
    with op.batch_alter_table('endpoints') as batch:
        batch.drop_column('ordered')
        batch.drop_column('rate_limit')
        batch.drop_column('payload_filter')
