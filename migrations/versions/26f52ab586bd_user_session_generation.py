"""users carry a session generation: raising it ends every session of the user

Revision ID: 26f52ab586bd
Revises: f6a2c3d4e5b7
Create Date: 2026-11-30 17:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '26f52ab586bd'
down_revision = 'f6a2c3d4e5b7'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('session_generation', sa.Integer(), nullable=False,
                                   server_default='0'))


def downgrade():
    with op.batch_alter_table('users') as batch:
        batch.drop_column('session_generation')
