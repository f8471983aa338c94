"""index attempts by start time (metrics reads the last hour)

Revision ID: b7c41e0d9a12
Revises: ed8a2b629109
Create Date: 2026-11-23 18:50:00

"""
from alembic import op


revision = 'b7c41e0d9a12'
down_revision = 'ed8a2b629109'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_attempts_started', 'attempts', ['started_at'], unique=False)


def downgrade():
    op.drop_index('ix_attempts_started', table_name='attempts')
