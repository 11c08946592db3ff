"""Hostile bodies at every endpoint that takes one: each is refused with its documented 4xx and
a JSON error naming what is wrong, before anything is stored (SQLite and PostgreSQL)."""
from __future__ import annotations

import io
import json

import pytest

from app.config import RequestLimits
from tests.factories import service_description

LIMITS = RequestLimits()
SERVICE_ID = "urn:acme:service:hostile"


def order_request(service_id: str) -> dict:
    return {"service-id": service_id, "name": "label", "tags": ["t"],
            "parameters": [{"name": "scene", "value": "S2A"}, {"name": "mode", "value": "fast"}]}


@pytest.fixture
def endpoints(ready_service, alice):
    """(method, path, a valid body) for every endpoint with a body."""
    service = ready_service()
    placed = alice.post("/1/orders", json=order_request(service["id"])).get_json()
    return [("POST", "/1/services", service_description()),
            ("PUT", f"/1/services/{SERVICE_ID}?force-create=true", service_description()),
            ("PUT", f"/1/services/{service['id']}", service_description()),
            ("POST", "/1/orders", order_request(service["id"])),
            ("POST", "/1/orders/dry-run", order_request(service["id"])),
            ("POST", f"/1/orders/{placed['id']}/cancel", {})]


def send(client, method, path, data: bytes, content_type="application/json", **kwargs):
    return client.request(method, path, data=data, content_type=content_type, **kwargs)


def refused(response, status: int, name: str | None = None, says: str = ""):
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    body = response.get_json()
    assert set(body) <= {"message", "name", "value", "id", "errors"}
    assert says in body["message"], body
    if name is not None:
        assert body["name"] == name, body
    return body


def string_paths(document, path=()):
    """The path of every string in a document, keys and values."""
    if isinstance(document, str):
        yield path
    elif isinstance(document, dict):
        for key, value in document.items():
            yield from string_paths(value, (*path, key))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            yield from string_paths(value, (*path, index))


def replaced(document, path, value):
    document = json.loads(json.dumps(document))
    *parents, last = path
    target = document
    for key in parents:
        target = target[key]
    target[last] = value
    return document


@pytest.mark.parametrize("depth", [5_000, 100_000])
def test_deep_nesting_is_400_before_it_is_parsed(alice, endpoints, stored, depth):
    before = stored()
    for method, path, _body in endpoints:
        data = b'{"name": ' + b"[" * depth + b"]" * depth + b"}"
        body = refused(send(alice, method, path, data), 400, says="nests")
        assert f"at most {LIMITS.json_depth}" in body["message"]
    assert stored() == before


def test_a_number_of_5000_digits_is_422_naming_the_field(alice, endpoints, stored):
    before = stored()
    for method, path, body in endpoints:
        data = json.dumps({**body, "name": 0}).replace('"name": 0', '"name": ' + "9" * 5000).encode()
        refused(send(alice, method, path, data), 422, name="name", says="at most 100 characters")
    assert stored() == before


def test_numbers_json_does_not_have_are_refused(alice, stored):
    before = stored()
    document = json.dumps(service_description(name="x")).replace('"x"', "1e999")
    refused(send(alice, "POST", "/1/services", document.encode()), 422, name="name", says="out of range")
    document = json.dumps(service_description(name="x")).replace('"x"', "NaN")
    refused(send(alice, "POST", "/1/services", document.encode()), 400, says="NaN is not a JSON value")
    assert stored() == before


def test_a_lone_surrogate_in_any_string_is_422_naming_its_path(alice, endpoints, stored):
    before = stored()
    for method, path, body in endpoints:
        for where in string_paths(body):
            hostile = replaced(body, where, "abc\ud800")
            response = send(alice, method, path, json.dumps(hostile).encode())
            name = ".".join(map(str, where))
            answer = refused(response, 422, name=name, says="lone surrogate")
            assert answer["value"] == "abc\ufffd"
    assert stored() == before


def test_a_lone_surrogate_in_an_order_value_never_reaches_the_database(alice, ready_service, stored):
    service = ready_service()
    before = stored()
    for value in ("\udfff", "a\ud800b", "\ud83d"):  # a low, a high, half of an emoji
        request = {"service-id": service["id"], "parameters": [{"name": "scene", "value": value}]}
        refused(send(alice, "POST", "/1/orders", json.dumps(request).encode()), 422,
                name="parameters.0.value", says="lone surrogate")
    emoji = {"service-id": service["id"], "parameters": [{"name": "scene", "value": "\ud83d\ude00"}]}
    assert send(alice, "POST", "/1/orders", json.dumps(emoji).encode()).status_code == 201  # a pair is fine
    assert stored() != before


def test_a_lone_surrogate_in_a_key_is_422(alice, stored):
    before = stored()
    document = json.dumps({**service_description(), "x\udc00": 1}).encode()
    refused(send(alice, "POST", "/1/services", document), 422, name="x\ufffd", says="lone surrogate")
    assert stored() == before


def test_strings_and_lists_over_the_limits_are_422(alice, stored):
    before = stored()
    long_text = service_description(description="d" * (LIMITS.json_string_chars + 1))
    refused(send(alice, "POST", "/1/services", json.dumps(long_text).encode()), 422, name="description",
            says=f"longer than {LIMITS.json_string_chars} characters")
    long_list = service_description(tags=["t"] * (LIMITS.json_items + 1))
    refused(send(alice, "POST", "/1/services", json.dumps(long_list).encode()), 422, name="tags",
            says=f"at most {LIMITS.json_items} items")
    assert stored() == before


def test_duplicate_keys_are_400_naming_the_key(alice, endpoints, stored):
    before = stored()
    for method, path, body in endpoints:
        data = json.dumps(body)[:-1] + (', "name": "a", "name": "b"}' if body else '"name": "a", "name": "b"}')
        refused(send(alice, method, path, data.encode()), 400, name="name", says="more than once")
    nested = json.dumps(service_description()).replace('"type": "basic"', '"type": "basic", "type": "argo"')
    refused(send(alice, "POST", "/1/services", nested.encode()), 400, name="workflow.type")
    assert stored() == before


def test_a_body_that_is_not_utf8_is_400(alice, stored):
    before = stored()
    refused(send(alice, "POST", "/1/services", b'{"name": "\xff"}'), 400, says="not valid UTF-8")
    assert stored() == before


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x", "application/xml", ""])
def test_wrong_content_types_are_415(alice, endpoints, stored, content_type):
    before = stored()
    for method, path, body in endpoints:
        response = send(alice, method, path, json.dumps(body).encode(), content_type=content_type)
        refused(response, 415, says="application/json")
    assert stored() == before


# --- 100 MB ----------------------------------------------------------------------------------

class EndlessBody(io.RawIOBase):
    """`size` bytes of a JSON array, made as they are read; counts what the server read."""

    def __init__(self, size: int):
        self.size, self.read_so_far = size, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        count = min(len(buffer), self.size - self.read_so_far)
        buffer[:count] = b" " * count
        if self.read_so_far == 0 and count:
            buffer[0:1] = b"["
        self.read_so_far += count
        return count


HUNDRED_MB = 100 * 1024 * 1024


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_100_mb_body_is_413_without_being_read(alice, endpoints, stored, chunked):
    before = stored()
    for method, path, _body in endpoints:
        stream = EndlessBody(HUNDRED_MB)
        environ = {"wsgi.input": stream}
        headers = {}
        if chunked:
            environ["wsgi.input_terminated"] = True  # as gunicorn and werkzeug's server set it
            headers["Transfer-Encoding"] = "chunked"
        else:
            environ["CONTENT_LENGTH"] = str(HUNDRED_MB)
        response = alice.request(method, path, content_type="application/json", headers=headers,
                                 environ_overrides=environ)
        refused(response, 413, says=f"at most {LIMITS.body_bytes} bytes")
        # Refused from Content-Length alone, or as soon as the stream passed the limit.
        assert stream.read_so_far <= (LIMITS.body_bytes + 64 * 1024 if chunked else 0)
    assert stored() == before


def test_an_argo_definition_as_an_object_is_capped_like_the_text_form(alice, stored):
    from app.services.schemas import MAX_ARGO_DOCUMENT

    before = stored()
    steps = [{"name": f"s{i}", "container": {"image": "alpine", "command": ["echo", "x" * 1000]}}
             for i in range(MAX_ARGO_DOCUMENT // 1000)]
    workflow = {"type": "argo", "argo": {"spec": {"entrypoint": "s0", "templates": steps}}}
    refused(alice.post("/1/services", json=service_description(workflow=workflow)), 422,
            name="workflow.argo", says=f"Longer than maximum length {MAX_ARGO_DOCUMENT}")
    assert stored() == before
