"""active orders index: an account's orders by status, for the check of how many it has waiting or running

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 11:10:00
"""
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_orders_account_status', 'orders', ['account', 'status'])


def downgrade() -> None:
    op.drop_index('ix_orders_account_status', table_name='orders')
