"""artifacts and the orders that read them

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 14:00:00
"""
import sqlalchemy as sa
from alembic import op

import app.db

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'artifacts',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('name', sa.String(length=1024), nullable=True),
        sa.Column('account', sa.String(length=255), nullable=False),
        sa.Column('mime_type', sa.String(length=255), nullable=False),
        sa.Column('size', sa.BigInteger(), nullable=True),
        sa.Column('sha256', sa.String(length=64), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('storage_key', sa.String(length=1024), nullable=False),
        sa.Column('upload_length', sa.BigInteger(), nullable=True),
        sa.Column('order_id', sa.String(length=255), nullable=True),
        sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('expires_at', app.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_artifacts')),
        sa.UniqueConstraint('order_id', 'name', name=op.f('uq_artifacts_order_id_name')),
    )
    op.create_index('ix_artifacts_account_created_at_id', 'artifacts', ['account', 'created_at', 'id'])
    op.create_index(op.f('ix_artifacts_status'), 'artifacts', ['status'])
    op.create_index(op.f('ix_artifacts_order_id'), 'artifacts', ['order_id'])
    op.create_index(op.f('ix_artifacts_expires_at'), 'artifacts', ['expires_at'])
    op.create_table(
        'artifact_uses',
        sa.Column('order_id', sa.String(length=255), nullable=False),
        sa.Column('parameter', sa.String(length=63), nullable=False),
        sa.Column('artifact_id', sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_artifact_uses_order_id_orders'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('order_id', 'parameter', name=op.f('pk_artifact_uses')),
    )
    op.create_index(op.f('ix_artifact_uses_artifact_id'), 'artifact_uses', ['artifact_id'])


def downgrade() -> None:
    op.drop_table('artifact_uses')
    op.drop_table('artifacts')
