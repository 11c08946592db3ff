"""webhooks: orders' callbacks, accounts' default callbacks and secrets, deliveries and their attempts

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-09 10:00:00
"""
import sqlalchemy as sa
from alembic import op

import app.db

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('orders') as batch:
        batch.add_column(sa.Column('callback', sa.String(length=2048), nullable=True))
    op.create_table(
        'webhook_endpoints',
        sa.Column('id', sa.String(length=255), nullable=False),
        sa.Column('account', sa.String(length=255), nullable=False),
        sa.Column('url', sa.String(length=2048), nullable=False),
        sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_endpoints')),
    )
    op.create_index('ix_webhook_endpoints_account_created_at_id', 'webhook_endpoints', ['account', 'created_at', 'id'])
    op.create_table(
        'webhook_secrets',
        sa.Column('account', sa.String(length=255), nullable=False),
        sa.Column('secret', sa.Text(), nullable=False),
        sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('previous', sa.Text(), nullable=True),
        sa.Column('previous_until', app.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('account', name=op.f('pk_webhook_secrets')),
    )
    op.create_table(
        'webhook_deliveries',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('order_id', sa.String(length=255), nullable=False),
        sa.Column('account', sa.String(length=255), nullable=False),
        sa.Column('url', sa.String(length=2048), nullable=False),
        sa.Column('event_type', sa.String(length=32), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('next_attempt_at', app.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('deadline', app.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('claims', sa.Integer(), nullable=False),
        sa.Column('payload', sa.Text(), nullable=True),
        sa.Column('finished_at', app.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_webhook_deliveries_order_id_orders'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_deliveries')),
    )
    op.create_index('ix_webhook_deliveries_order_id_created_at_id', 'webhook_deliveries',
                    ['order_id', 'created_at', 'id'])
    op.create_index('ix_webhook_deliveries_status_next_attempt_at', 'webhook_deliveries',
                    ['status', 'next_attempt_at'])
    op.create_table(
        'webhook_attempts',
        sa.Column('delivery_id', sa.String(length=64), nullable=False),
        sa.Column('number', sa.Integer(), nullable=False),
        sa.Column('started_at', app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('duration_ms', sa.Integer(), nullable=False),
        sa.Column('outcome', sa.String(length=16), nullable=False),
        sa.Column('status_code', sa.Integer(), nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['delivery_id'], ['webhook_deliveries.id'],
                                name=op.f('fk_webhook_attempts_delivery_id_webhook_deliveries'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('delivery_id', 'number', name=op.f('pk_webhook_attempts')),
    )


def downgrade() -> None:
    op.drop_table('webhook_attempts')
    op.drop_table('webhook_deliveries')
    op.drop_table('webhook_secrets')
    op.drop_table('webhook_endpoints')
    with op.batch_alter_table('orders') as batch:
        batch.drop_column('callback')
