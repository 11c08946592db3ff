"""service incarnations and idempotency digests

A service id may be deleted and published again, by another account: each publication is a new
incarnation, and an order belongs to the incarnation it was placed for. Existing services become
the incarnation 'legacy'; an existing order is given to it when the service's current owner was
its provider and the service existed when it was placed (else it belongs to a deleted
incarnation and no service lists it). An order also keeps a digest of the request that placed it,
so that an Idempotency-Key reused with another request is recognised.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 10:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('services', schema=None) as batch_op:
        batch_op.add_column(sa.Column('incarnation', sa.String(length=32), nullable=False,
                                      server_default='legacy'))
    with op.batch_alter_table('services', schema=None) as batch_op:
        batch_op.alter_column('incarnation', server_default=None)
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('service_incarnation', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('request_digest', sa.String(length=64), nullable=True))
    op.execute("UPDATE orders SET service_incarnation = 'legacy' WHERE EXISTS ("
               "SELECT 1 FROM services WHERE services.id = orders.service_id "
               "AND services.owner = orders.service_owner AND services.created_at <= orders.ordered_at)")


def downgrade() -> None:
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_column('request_digest')
        batch_op.drop_column('service_incarnation')
    with op.batch_alter_table('services', schema=None) as batch_op:
        batch_op.drop_column('incarnation')
