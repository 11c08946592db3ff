"""Plain reads run without a transaction (no BEGIN, no ROLLBACK round trips); writes in one; and
reading one service or order to show it is one query (its products: one more); placing an order
reads its service and counts the active orders in one."""
from __future__ import annotations

import sqlalchemy as sa


def _autocommit(dbapi_connection) -> bool:
    if hasattr(dbapi_connection, "autocommit"):  # psycopg
        return dbapi_connection.autocommit
    return dbapi_connection.isolation_level is None  # sqlite3


def _watch(app):
    seen: list[tuple[str, bool]] = []

    def before(connection, _cursor, statement, _parameters, _context, _many):
        seen.append((statement, _autocommit(connection.connection.dbapi_connection)))
    sa.event.listen(app.extensions["database"].engine, "before_cursor_execute", before)
    return seen


def test_gets_read_without_a_transaction_and_posts_write_in_one(app, alice, ready_service):
    service = ready_service(parameters=[])
    seen = _watch(app)
    assert alice.get(f"/1/services/{service['id']}").status_code == 200
    assert seen and all(autocommit for _, autocommit in seen)
    seen.clear()
    assert alice.post("/1/orders", json={"service-id": service["id"], "parameters": []}).status_code == 201
    assert seen and not any(autocommit for _, autocommit in seen)


def test_a_service_and_an_order_are_each_read_in_one_query(app, alice, ready_service):
    service = ready_service(parameters=[])
    order = alice.post("/1/orders", json={"service-id": service["id"], "parameters": [], "tags": ["a", "b"]})
    assert order.status_code == 201, order.get_json()
    seen = _watch(app)
    shown = alice.get(f"/1/services/{service['id']}").get_json()
    assert len([s for s, _ in seen if s.lstrip().upper().startswith("SELECT")]) == 1, seen
    assert shown["tags"] == service["tags"]
    seen.clear()
    assert alice.get(f"/1/orders/{order.get_json()['id']}").get_json()["tags"] == ["a", "b"]
    assert len([s for s, _ in seen if s.lstrip().upper().startswith("SELECT")]) == 2, seen  # the order; products


def test_placing_an_order_reads_its_service_and_the_active_orders_in_one_query(app, alice, ready_service):
    service = ready_service(parameters=[])
    seen = _watch(app)
    assert alice.post("/1/orders", json={"service-id": service["id"], "parameters": []}).status_code == 201
    reads = [statement for statement, _ in seen if statement.lstrip().upper().startswith("SELECT")]
    # The service with the count of the account's active orders; the account's default callbacks.
    assert len(reads) == 2, reads
    assert "FROM services" in reads[0] and "FROM orders" in reads[0]
