"""A list page read again is its items' tags in one statement, the items whose tags are current
taken from their kept JSON (app.kept_items): what it answers must still follow every change at
once, whoever made it, and each caller must get their own view of an item. (That a page read
again is byte for byte marshmallow's: tests/app/query/test_list_rendering.py.)"""
from __future__ import annotations

import contextlib
from datetime import UTC, datetime

import sqlalchemy as sa

from app.direct_reads import PreparedRead
from app.kept_items import RenderedItems
from app.orders.models import Order
from app.query.listing import KeptItem
from app.services.listing import SERVICE_ITEMS, SERVICE_LIST
from app.services.models import Service
from tests.conftest import TEST_SECRET
from tests.factories import service_description


@contextlib.contextmanager
def statements(app):
    """The SQL statements run inside the block."""
    ran: list[str] = []

    def before(_conn, _cursor, statement, _parameters, _context, _many):
        ran.append(statement)
    engine = app.extensions["database"].engine
    sa.event.listen(engine, "before_cursor_execute", before)
    try:
        yield ran
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)


def _order(client, service):
    placed = client.post("/1/orders", json={"service-id": service["id"],
                                            "parameters": [{"name": "scene", "value": "S2A"}]})
    assert placed.status_code == 201, placed.get_json()
    return placed.get_json()


def _reads_items(statement: str) -> bool:
    """Whether a statement reads the orders' columns (a page's items), not their tags alone."""
    return "orders.parameters" in statement


def test_a_page_read_again_is_read_as_tags_and_shows_a_change_at_once(app, bob, ready_service, as_the_worker):
    service = ready_service()
    placed = [_order(bob, service) for _ in range(3)]
    with statements(app) as first_read:
        first = bob.get("/1/orders")
    assert len(first_read) == 1 and _reads_items(first_read[0])  # nothing kept yet: one statement, as before
    for _ in range(4):  # the orders' items are then found kept, read after read
        assert bob.get("/1/orders").data == first.data
    with statements(app) as kept:
        assert bob.get("/1/orders").data == first.data
    assert len(kept) == 1 and not _reads_items(kept[0])  # the page's tags alone
    as_the_worker(placed[1]["id"], status="cancelled", status_message="stopped")
    with statements(app) as changed:
        after = bob.get("/1/orders").get_json()["orders"]
    assert len(changed) == 2 and _reads_items(changed[1])  # the tags, then the changed order alone
    shown = {order["id"]: order for order in after}
    assert shown[placed[1]["id"]]["status"] == "cancelled"
    assert shown[placed[1]["id"]]["status-message"] == "stopped"
    assert [order for order in after if order["id"] != placed[1]["id"]] == \
        [order for order in first.get_json()["orders"] if order["id"] != placed[1]["id"]]


def test_a_kind_of_item_is_read_as_tags_only_while_its_items_are_mostly_found():
    rendered = RenderedItems()
    assert not rendered.mostly_kept("order")
    for _ in range(3):
        rendered.found("order", 20, 20)
    assert rendered.mostly_kept("order") and not rendered.mostly_kept("service")
    for _ in range(3):  # a client following links.next: every page new
        rendered.found("order", 0, 100)
    assert not rendered.mostly_kept("order")


def test_each_caller_gets_their_own_view_of_a_kept_order(alice, bob, ready_service, as_the_worker):
    service = ready_service()
    placed = _order(bob, service)
    as_the_worker(placed["id"], callback="https://hooks.example.org/bob")
    path = f"/1/services/{service['id']}/orders"
    for _ in range(2):  # the consumer's view kept first, then the provider's, then both read again
        consumer, provider = bob.get(path).get_json()["orders"], alice.get(path).get_json()["orders"]
        assert consumer[0]["callback"] == "https://hooks.example.org/bob"
        assert "callback" not in provider[0] and provider[0]["id"] == placed["id"]


def test_a_service_changed_through_the_api_is_listed_as_it_is_now(alice, ready_service):
    service = ready_service(tags=["before"])
    assert alice.get("/1/services").get_json()["services"][0]["description"] == service["description"]
    changed = alice.put(f"/1/services/{service['id']}", json=service_description(description="now this"))
    assert changed.status_code == 200, changed.get_json()
    assert alice.get("/1/services").get_json()["services"][0]["description"] == "now this"


class _Meddling:
    """Kept items that keep nothing but say they are mostly found (so that a page is read as its
    tags first), and that run `meddle` on their first look-up: between the statement of the
    page's tags and that of its items."""

    def __init__(self, meddle):
        self.meddle, self.kept = meddle, {}

    def get(self, _tag):
        meddle, self.meddle = self.meddle, lambda: None
        meddle()
        return None

    def keep(self, tag, text):
        self.kept[tag] = text

    def mostly_kept(self, _kind):
        return True

    def found(self, _kind, _kept, _looked_up):
        pass


def test_an_item_changed_or_deleted_between_the_two_statements_is_shown_as_it_is_then(app, alice, ready_service):
    first, gone, changed = (ready_service(name=name) for name in ("a", "b", "c"))

    def meddle():
        assert alice.delete(f"/1/services/{gone['id']}").status_code == 204
        assert alice.put(f"/1/services/{changed['id']}",
                         json=service_description(name="c", description="changed")).status_code == 200
    session = app.extensions["database"].sessions()
    try:
        page = SERVICE_LIST.fetch(session, sa.select(Service), [], TEST_SECRET, "http://localhost/1/services",
                                  projection=SERVICE_ITEMS, kept=_Meddling(meddle))
        revision = session.scalar(sa.select(Service.revision).where(Service.id == changed["id"]))
    finally:
        session.close()
    assert [item.id for item in page.items] == [first["id"], changed["id"]]
    assert page.items[1].description == "changed"
    assert page.tags[1] == ("service", changed["id"], page.items[1].incarnation, revision)


def test_kept_items_stay_within_their_bound():
    rendered = RenderedItems(max_characters=100)
    for i in range(10):
        rendered.keep(("service", str(i)), "x" * 30)
    assert rendered.get(("service", "0")) is None and rendered.get(("service", "9")) == "x" * 30
    rendered.keep(("service", "big"), "x" * 101)  # more than the whole bound: not kept at all
    assert rendered.get(("service", "big")) is None and rendered.get(("service", "9")) is not None
    assert KeptItem("{}").text == "{}"


def test_a_page_read_again_runs_its_compiled_statement_and_shows_new_orders_at_once(app, alice, bob,
                                                                                    ready_service):
    service = ready_service()
    first = _order(bob, service)
    for _ in range(6):  # its items found kept: read as tags, by a statement compiled once (PreparedRead)
        bob.get("/1/orders?limit=2")
    with statements(app) as ran:
        page = bob.get("/1/orders?limit=2").get_json()
    assert len(ran) == 1 and not _reads_items(ran[0])
    assert [order["id"] for order in page["orders"]] == [first["id"]] and "next" not in page["links"]
    newer = [_order(bob, service) for _ in range(2)]
    page = bob.get("/1/orders?limit=2").get_json()
    assert [order["id"] for order in page["orders"]] == [newer[1]["id"], newer[0]["id"]]
    assert "next" in page["links"]
    assert bob.get(page["links"]["next"]).get_json()["orders"][0]["id"] == first["id"]
    assert alice.get("/1/orders?limit=2").get_json()["orders"] == []  # the same query, another caller's orders


def test_a_statement_that_binds_converted_values_is_not_prepared(app):
    dialect = app.extensions["database"].engine.dialect
    assert PreparedRead.prepare(sa.select(Order.id).where(Order.account == "a"), dialect) is not None
    assert PreparedRead.prepare(sa.select(Order.id).where(Order.ordered_at < datetime.now(UTC)), dialect) is None
    assert PreparedRead.prepare(sa.select(Order.id).where(Order.id.in_(["a", "b"])), dialect) is None
