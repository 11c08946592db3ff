"""order event ids at commit: on PostgreSQL a deferred trigger gives each event its id under the events lock as the transaction commits

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 16:00:00

Event ids must commit in increasing order (app.orders.events). The lock that orders them was
taken by the events' insert, and so held across a round trip to the client until its COMMIT:
a client thread waiting for its interpreter's GIL held every other writer of events back. The
trigger takes it inside the COMMIT instead, and renumbers the transaction's events there, in the
order they were inserted; the ids drawn at insert are never seen (the rows are not yet visible).
"""
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

EVENTS_LOCK = 7_214_965_331  # app.orders.events.EVENTS_LOCK


def upgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return  # SQLite has one writer at a time: ids commit in the order they are drawn
    op.execute(f"""
CREATE FUNCTION order_events_id_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock({EVENTS_LOCK});
    UPDATE order_events SET id = nextval('order_events_id_seq') WHERE id = NEW.id;
    RETURN NULL;
END $$""")
    op.execute("""
CREATE CONSTRAINT TRIGGER order_events_id_at_commit AFTER INSERT ON order_events
DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION order_events_id_at_commit()""")


def downgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute("DROP TRIGGER order_events_id_at_commit ON order_events")
    op.execute("DROP FUNCTION order_events_id_at_commit()")
