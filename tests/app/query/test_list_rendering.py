"""List pages are rendered by the page schema compiled once (app.query.rendering), the order
lists from items read in one statement (app.query.projection), and read again from the items'
JSON kept per tag (app.kept_items): the answer must be byte for byte what marshmallow's own dump
of the ORM's models gives, for every list and for items with and without tags, inputs, products,
nulls and $select, the first time and when read again."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import marshmallow as ma
import pytest
import sqlalchemy as sa

from app.artifacts.models import Artifact, ArtifactUse
from app.orders.models import Order
from app.query.listing import ListSpec
from app.query.rendering import compiled_dump
from app.query.schemas import ListPageSchema
from app.services.models import Service

START = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


@pytest.fixture
def orders(app, ready_service):
    """Bob's orders of alice's service, as varied as an order gets."""
    service = ready_service(tags=["river", "flood"])
    session = app.extensions["database"].sessions()
    with session.begin():
        incarnation = session.get(Service, service["id"]).incarnation
        for i in range(7):
            order = Order(id=f"urn:test:order:{i} é", account="bob", service_id=service["id"],
                          service_owner="alice", service_version=1,
                          service_incarnation=incarnation, status=("succeeded", "failed", "pending")[i % 3],
                          parameters=[{"name": "text", "value": f"v{i}"}] if i % 2 else [],
                          workflow={"type": "basic"}, ordered_at=START + timedelta(minutes=i),
                          name=f"order {i}" if i % 2 else None,
                          status_message="it broke" if i % 3 == 1 else None,
                          started_at=START + timedelta(minutes=i, seconds=1) if i % 3 != 2 else None,
                          finished_at=START + timedelta(minutes=i, seconds=2) if i % 3 == 0 else None,
                          callback="https://example.org/hook" if i == 4 else None)
            order.tags = [f"tag-{j}" for j in range(i % 4)]
            if i % 2:
                order.inputs = [ArtifactUse(parameter="data", artifact_id=f"urn:test:artifact:in-{i}")]
            session.add(order)
            for j in range(i % 3):
                session.add(Artifact(id=f"urn:test:artifact:{i}-{j}", name=f"out/{j}.txt", account="bob",
                                     mime_type="text/plain", size=None if j else 12, storage_key=f"k{i}{j}",
                                     order_id=order.id, created_at=START))
    session.close()
    return service


def _marshmallow_answer(client, path: str, monkeypatch) -> bytes:
    """The answer rendered by marshmallow from the models, as before any of the fast paths."""
    fetch = ListSpec.fetch
    with monkeypatch.context() as patched:
        patched.setattr(ListPageSchema, "dump", ma.Schema.dump)
        patched.setattr(ListSpec, "fetch", lambda spec, *args, projection=None, kept=None: fetch(spec, *args))
        response = client.get(path)
    assert response.status_code == 200, response.get_json()
    return response.data


# Enough reads for a list's items to be found kept (spliced from their kept JSON), and then for
# its pages to be read as their items' tags first (app.kept_items.RenderedItems.mostly_kept).
READS = 5


def _read_again(client, path: str) -> list[bytes]:
    return [client.get(path).data for _ in range(READS)]


@pytest.mark.parametrize("query", ["", "?$top=3", "?$select=name,status", "?$select=inputs,products,callback,tags",
                                   "?$orderby=name asc&$top=4", "?$filter=status eq 'failed'"])
def test_order_lists_render_as_marshmallow_does(orders, alice, bob, monkeypatch, query):
    for client, path in ((bob, "/1/orders"), (alice, f"/1/services/{orders['id']}/orders"),
                         (bob, f"/1/services/{orders['id']}/orders")):
        response = client.get(path + query)
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["orders"] or "filter" in query
        expected = _marshmallow_answer(client, path + query, monkeypatch)
        assert response.data == expected
        assert _read_again(client, path + query) == [expected] * READS


def test_the_provider_sees_no_consumer_data_in_the_fast_rendering(orders, alice):
    listed = alice.get(f"/1/services/{orders['id']}/orders").get_json()["orders"]
    assert listed and all(order["inputs"] == [] and order["products"] == [] and "callback" not in order
                          for order in listed)


@pytest.mark.parametrize("query", ["", "?$select=name", "?$select=provider,description&$top=2",
                                   "?$filter=contains(name,'x')"])
def test_the_services_list_renders_as_marshmallow_does(app, ready_service, alice, monkeypatch, query):
    for i in range(4):
        ready_service(name=f"service {i}x", tags=["a", "b"][: i % 3])
    session = app.extensions["database"].sessions()
    with session.begin():  # a service without a name, and one that says more than ASCII
        session.execute(sa.update(Service).where(Service.name == "service 0x").values(name=None))
        session.execute(sa.update(Service).where(Service.name == "service 1x").values(description="über <b>"))
    session.close()
    expected = _marshmallow_answer(alice, "/1/services" + query, monkeypatch)
    assert alice.get("/1/services" + query).data == expected
    assert _read_again(alice, "/1/services" + query) == [expected] * READS


def test_other_lists_render_as_marshmallow_does(orders, bob, monkeypatch):
    order_id = quote("urn:test:order:2 é")
    for path in (f"/1/orders/{order_id}/products", f"/1/orders/{order_id}/logs", "/1/artifacts"):
        assert bob.get(path).data == _marshmallow_answer(bob, path, monkeypatch)


class _Hooked(ma.Schema):
    name = ma.fields.String(dump_default="nameless")
    size = ma.fields.Integer(attribute="bytes")
    when = ma.fields.AwareDateTime(data_key="at")
    parts = ma.fields.List(ma.fields.Nested(lambda: _Part()), allow_none=True)
    pair = ma.fields.Nested(lambda: _Part(many=True))
    tally = ma.fields.Nested(lambda: _Tally(many=True))
    constant = ma.fields.Constant(7)
    method = ma.fields.Method("_double")

    def _double(self, obj):
        return obj["bytes"] * 2

    @ma.post_dump(pass_original=True)
    def _mark(self, data, original, **_kwargs):
        return {**data, "marked": original["bytes"]}


class _Tally(ma.Schema):
    """A list schema: its item hook hears many=True, its collection hook gets the whole list."""

    id = ma.fields.String()

    @ma.post_dump
    def _item(self, data, many, **_kwargs):
        return {**data, "many": many}

    @ma.post_dump(pass_collection=True, pass_original=True)
    def _whole(self, data, original, many, **_kwargs):
        return {"count": len(original), "items": data, "many": many}


class _Part(ma.Schema):
    id = ma.fields.String()

    @ma.pre_dump
    def _upper(self, part, **_kwargs):
        return {"id": str(part["id"]).upper()}


@pytest.mark.parametrize("value", [
    {"bytes": 3, "when": START, "parts": [{"id": "a"}, {"id": 5}], "pair": [{"id": "x"}],
     "tally": [{"id": "y"}, {"id": 2}]},
    {"name": None, "bytes": 0, "when": None, "parts": None, "pair": [], "tally": []},
    {"name": b"bytes", "bytes": 1},
])
def test_a_compiled_schema_dumps_what_marshmallow_dumps(value):
    schema = _Hooked()
    assert compiled_dump(schema)(value) == schema.dump(value)
    assert list(compiled_dump(schema)(value)) == list(schema.dump(value))


@pytest.mark.parametrize("query", ["?$top=2&$orderby=updated-at desc", "?$top=2&$orderby=provider-ref desc,owner",
                                   "?$top=3&$orderby=created-at&$select=name"])
def test_pages_sorted_by_fields_not_shown_follow_the_same_tokens(ready_service, alice, monkeypatch, query):
    """A page token reads the sort key of the page's last item, shown or not (the projection adds
    the sort columns it does not show)."""
    for i in range(5):
        ready_service(**{"provider-ref": f"ref {i % 2}"})
    url, pages = "/1/services" + query, 0
    while url:
        response = alice.get(url)
        assert [response.data] + _read_again(alice, url) == [_marshmallow_answer(alice, url, monkeypatch)] * (READS + 1)
        following = response.get_json()["links"].get("next")
        url, pages = following and following.removeprefix("http://localhost"), pages + 1
    assert pages >= 2
