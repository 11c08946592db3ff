"""The web pages through Flask's test client, on each database: signing in, CSRF on every form,
the catalogue's search and paging, the order form's refusals at their field, and the same
ownership rules as the API. The browser drives them end to end in tests/app/web/test_browser.py."""
from __future__ import annotations

import dataclasses
import re
from urllib.parse import urlsplit

import pytest

from app.auth import SharedSecretVerifier
from app.workload_tokens import issue_workload_token
from tests.conftest import TEST_SECRET, ApiClient


class Visitor:
    """A person's browser, as far as the test client goes: cookies, and the CSRF token of the
    last page that had a form."""

    def __init__(self, client):
        self.client = client
        self.csrf = None

    def get(self, path, **kwargs):
        response = self.client.get(path, **kwargs)
        if match := re.search(r'name="csrf_token" value="([^"]+)"', response.get_data(as_text=True)):
            self.csrf = match.group(1)
        return response

    def post(self, path, data=None, csrf=True, **kwargs):
        data = dict(data or {})
        if csrf:
            data["csrf_token"] = self.csrf
        response = self.client.post(path, data=data, **kwargs)
        if match := re.search(r'name="csrf_token" value="([^"]+)"', response.get_data(as_text=True)):
            self.csrf = match.group(1)
        return response

    def sign_in(self, account: str, next_path: str | None = None):
        self.get("/sign-in")
        data = {"token": SharedSecretVerifier(TEST_SECRET).issue(account, 3600)}
        if next_path is not None:
            data["next"] = next_path
        return self.post("/sign-in", data)


def page(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def visitor(app):
    return lambda: Visitor(app.test_client())


@pytest.fixture
def bob_browser(visitor):
    person = visitor()
    assert person.sign_in("bob").status_code == 303
    return person


def test_pages_need_an_account_and_signing_in_returns_to_the_page(visitor):
    person = visitor()
    response = person.get("/orders?status=failed")
    assert response.status_code == 302
    assert response.headers["Location"] == "/sign-in?next=/orders?status%3Dfailed"
    signed = person.sign_in("bob", "/orders?status=failed")
    assert (signed.status_code, signed.headers["Location"]) == (303, "/orders?status=failed")
    cookie = signed.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert "Signed in as <strong>bob</strong>" in page(person.get("/orders"))


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:x",
                                    "/%0d%0aLocation: x", "evil"])
def test_signing_in_never_leads_to_another_site(visitor, target):
    response = visitor().sign_in("bob", target)
    assert response.status_code == 303
    location = response.headers["Location"]
    assert location.startswith("/") and not location.startswith(("//", "/\\")) and not urlsplit(location).netloc
    assert "\n" not in location and "\r" not in location


@pytest.mark.parametrize("token", ["", "not-a-token", SharedSecretVerifier("another-secret-long-enough-for-hs256-x")
                                   .issue("bob", 3600), issue_workload_token(TEST_SECRET, "urn:x:order:1", 600)])
def test_a_bad_token_signs_nobody_in(visitor, token):
    person = visitor()
    person.get("/sign-in")
    response = person.post("/sign-in", {"token": token})
    assert response.status_code == 400
    assert "This token cannot sign you in" in page(response)
    assert person.get("/").status_code == 302


def test_production_refuses_the_token_paste_and_sets_secure_cookies(config):
    from app import create_app

    app = create_app(dataclasses.replace(config, production=True))
    person = Visitor(app.test_client())
    assert "identity provider" in page(person.get("/sign-in"))
    person.csrf = None  # the page has no form: a forged post is refused for its CSRF token, or else for the mode
    token = SharedSecretVerifier(TEST_SECRET).issue("bob", 3600)
    assert person.post("/sign-in", {"token": token}).status_code == 400
    with app.test_request_context():  # a valid CSRF token, as if the page had had a form
        from flask import session
        from flask_wtf.csrf import generate_csrf
        person.csrf = generate_csrf()
        cookie = app.session_interface.get_signing_serializer(app).dumps(dict(session))
    person.client.set_cookie("marketplace-session", cookie)
    response = person.post("/sign-in", {"token": token})
    assert response.status_code == 403 and "identity provider" not in page(response)
    assert person.get("/").status_code == 302
    assert app.config["SESSION_COOKIE_SECURE"] is True
    app.extensions["database"].dispose()


def test_every_form_needs_its_csrf_token_and_the_api_needs_none(bob_browser, bob, ready_service):
    service = ready_service()
    bob_browser.get(f"/services/{service['id']}")
    refused = bob_browser.post(f"/services/{service['id']}/order", {"param-scene": "s1"}, csrf=False)
    assert refused.status_code == 400 and "The form is out of date" in page(refused)
    assert bob_browser.post("/sign-out", csrf=False).status_code == 400
    assert bob.get("/1/orders").get_json()["orders"] == []  # nothing was placed
    # Bearer-token API calls know nothing of CSRF.
    assert bob.post("/1/orders", json={"service-id": service["id"],
                                       "parameters": [{"name": "scene", "value": "s1"}]}).status_code == 201


def test_the_catalogue_shows_ready_services_found_by_words_and_tags(bob_browser, ready_service, alice):
    ready_service(name="NDVI", tags=["ag", "ndvi"])
    ready_service(name="Flood extent", description="Water from radar", tags=["water"])
    alice.post("/1/services", json={**_description(), "name": "Not built yet"})  # pending: not in the catalogue
    shown = page(bob_browser.get("/"))
    assert "NDVI" in shown and "Flood extent" in shown and "Not built yet" not in shown
    assert 'href="/docs"' in shown
    found = page(bob_browser.get("/?q=RADAR"))
    assert "Flood extent" in found and "NDVI" not in found
    tagged = page(bob_browser.get("/?tag=ag"))
    assert "NDVI" in tagged and "Flood extent" not in tagged
    expert = page(bob_browser.get("/", query_string={"filter": "contains(name,'Flood')"}))
    assert "Flood extent" in expert and "NDVI" not in expert
    quoted = bob_browser.get("/", query_string={"q": "it's"})
    assert quoted.status_code == 200 and "No ready service matches" in page(quoted)


def test_a_bad_filter_is_said_on_the_page(bob_browser):
    response = bob_browser.get("/", query_string={"filter": "nosuchfield eq 1"})
    assert response.status_code == 400
    assert 'class="problem" role="alert"' in page(response) and "nosuchfield" in page(response)
    assert bob_browser.get("/", query_string={"page": "forged"}).status_code == 400


def test_the_catalogue_pages_with_the_apis_page_tokens(bob_browser, ready_service):
    for number in range(30):
        ready_service(name=f"Service {number:02d}")
    first = page(bob_browser.get("/"))
    assert first.count('class="card"') == 24
    next_url = re.search(r'href="([^"]+)" rel="next"', first).group(1).replace("&amp;", "&")
    assert "page=" in next_url
    second = page(bob_browser.get(next_url))
    assert second.count('class="card"') == 6 and "Service 29" in second and "Service 00" not in second
    assert 'rel="next"' not in second


def _description(**overrides):
    from tests.factories import service_description
    return service_description(**overrides)


PARAMETERS = [
    {"name": "scene", "label": "Scene", "type": "string", "help": "A Sentinel-2 scene id"},
    {"name": "count", "type": "int", "default": "3", "unit": "tiles"},
    {"name": "threshold", "type": "float", "default": "0.3", "unit": "ratio", "optional": True},
    {"name": "clouds", "type": "bool", "default": "true"},
    {"name": "mode", "type": "option", "default": "fast",
     "options": [{"value": "fast", "description": "quick look"}, {"value": "exact"}]},
    {"name": "version", "type": "string", "default": "v2", "constant": True},
    {"name": "table", "type": "artifact", "optional": True},
]


def test_the_order_form_has_a_fitting_input_for_each_parameter(bob_browser, ready_service):
    service = ready_service(parameters=PARAMETERS)
    shown = page(bob_browser.get(f"/services/{service['id']}"))
    assert re.search(r'<label for="field-param-scene">Scene', shown)
    assert re.search(r'<input type="text" value="" id="field-param-scene" name="param-scene" required', shown)
    assert 'id="field-param-scene-help">A Sentinel-2 scene id' in shown
    assert re.search(r'type="number" inputmode="numeric" step="1" value="3" id="field-param-count"', shown)
    assert re.search(r'step="any" value="0.3" id="field-param-threshold"', shown)
    assert "(optional)" in shown and "in ratio" in shown
    assert re.search(r'type="checkbox" id="field-param-clouds" name="param-clouds" value="true" checked', shown)
    assert '<option value="fast" selected>fast — quick look</option>' in shown
    assert re.search(r'value="v2" id="field-param-version" name="param-version" readonly', shown)
    assert 'list="artifact-choices"' in shown


def test_a_refused_value_is_said_at_its_field_keeping_what_was_typed(bob_browser, ready_service, bob):
    service = ready_service(parameters=PARAMETERS)
    bob_browser.get(f"/services/{service['id']}")
    response = bob_browser.post(f"/services/{service['id']}/order", {
        "param-scene": "<b>S2A</b>", "param-count": "1.5", "param-mode": "exact", "name": "my run"})
    assert response.status_code == 422
    shown = page(response)
    assert re.search(r'id="field-param-count-error">&#39;1.5&#39; is not an int', shown)
    assert re.search(r'value="1.5" id="field-param-count"[^>]*aria-invalid="true"', shown)
    assert 'value="&lt;b&gt;S2A&lt;/b&gt;"' in shown and "<b>S2A</b>" not in shown  # kept, and escaped
    assert '<option value="exact" selected>' in shown and 'value="my run"' in shown
    assert not re.search(r'type="checkbox" id="field-param-clouds"[^>]* checked', shown)  # unticked stays so
    assert bob.get("/1/orders").get_json()["orders"] == []


def test_a_dry_run_shows_what_would_run_and_places_nothing(bob_browser, ready_service, bob):
    service = ready_service(parameters=PARAMETERS)
    bob_browser.get(f"/services/{service['id']}")
    response = bob_browser.post(f"/services/{service['id']}/order", {
        "param-scene": "S2A", "param-count": "4", "param-clouds": "true", "param-mode": "fast", "action": "dry-run"})
    assert response.status_code == 200
    shown = page(response)
    assert "Dry run: what would run" in shown and "<code>S2A</code>" in shown and "kind: Job" in shown
    assert bob.get("/1/orders").get_json()["orders"] == []


def test_an_order_is_placed_once_and_its_page_shows_it(bob_browser, ready_service, bob):
    service = ready_service(parameters=PARAMETERS)
    form = page(bob_browser.get(f"/services/{service['id']}"))
    key = re.search(r'name="idempotency-key" value="([^"]+)"', form).group(1)
    values = {"param-scene": "S2A", "param-count": "4", "param-mode": "fast", "tags": "a, b", "idempotency-key": key}
    placed = bob_browser.post(f"/services/{service['id']}/order", values)
    assert placed.status_code == 303 and placed.headers["Location"].startswith("/orders/urn:marketplace:order:")
    # A second click of the same form (the same key) does not place a second order.
    again = bob_browser.post(f"/services/{service['id']}/order", values)
    assert again.headers["Location"] == placed.headers["Location"]
    [order] = bob.get("/1/orders").get_json()["orders"]
    assert order["tags"] == ["a", "b"]
    assert {p["name"]: p["value"] for p in order["parameters"]} == {
        "scene": "S2A", "count": "4", "threshold": "0.3", "clouds": "false", "mode": "fast", "version": "v2"}
    shown = page(bob_browser.get(placed.headers["Location"]))
    assert 'data-status="pending"' in shown and "Cancel order" in shown and "<code>S2A</code>" in shown
    assert "data-events=" in shown and "order.js" in shown
    assert order["id"] in page(bob_browser.get("/orders"))


def test_another_accounts_order_is_the_same_404_as_none(bob_browser, visitor, ready_service, alice, as_account):
    service = ready_service()
    carol = as_account("carol")
    order = carol.post("/1/orders", json={"service-id": service["id"],
                                          "parameters": [{"name": "scene", "value": "x"}]}).get_json()
    for path in (f"/orders/{order['id']}", f"/orders/{order['id']}?fragment=live", f"/orders/{order['id']}/events",
                 "/orders/urn:marketplace:order:nothing"):
        response = bob_browser.get(path)
        assert response.status_code == 404 and "no order has this id" in page(response), path
    assert bob_browser.post(f"/orders/{order['id']}/cancel").status_code == 404
    # The provider sees the order, and cannot cancel it.
    provider = visitor()
    provider.sign_in("alice")
    assert "Cancel order" not in page(provider.get(f"/orders/{order['id']}"))
    refused = provider.post(f"/orders/{order['id']}/cancel")
    assert refused.status_code == 303
    assert "only the account that placed an order may cancel it" in page(provider.get(refused.headers["Location"]))
    assert carol.get(f"/1/orders/{order['id']}").get_json()["status"] == "pending"


def test_cancelling_an_order(bob_browser, ready_service, bob):
    service = ready_service()
    order = bob.post("/1/orders", json={"service-id": service["id"],
                                        "parameters": [{"name": "scene", "value": "x"}]}).get_json()
    bob_browser.get(f"/orders/{order['id']}")
    response = bob_browser.post(f"/orders/{order['id']}/cancel")
    assert response.status_code == 303
    assert "The order is cancelled." in page(bob_browser.get(response.headers["Location"]))
    assert bob.get(f"/1/orders/{order['id']}").get_json()["status"] == "cancelled"
    again = bob_browser.post(f"/orders/{order['id']}/cancel")
    assert "the order has already ended: cancelled" in page(bob_browser.get(again.headers["Location"]))


def test_products_download_for_their_consumer_alone(app, bob_browser, visitor, ready_service, bob):
    service = ready_service()
    order = bob.post("/1/orders", json={"service-id": service["id"],
                                        "parameters": [{"name": "scene", "value": "x"}]}).get_json()
    collector = ApiClient(app.test_client(), issue_workload_token(TEST_SECRET, order["id"], 600))
    product = collector.post(f"/1/orders/{order['id']}/products", query_string={"name": "out/rows.txt"},
                             data=b"2 rows\n", headers={"Content-Type": "text/plain"}).get_json()
    shown = page(bob_browser.get(f"/orders/{order['id']}"))
    link = f"/artifacts/{product['id']}/download"
    assert f'href="{link}"' in shown and "out/rows.txt" in shown
    downloaded = bob_browser.get(link)
    assert downloaded.data == b"2 rows\n" and "rows.txt" in downloaded.headers["Content-Disposition"]
    provider = visitor()
    provider.sign_in("alice")
    assert "products are its consumer" in page(provider.get(f"/orders/{order['id']}"))
    assert provider.get(link).status_code == 404


def test_my_services_shows_each_status_its_error_and_its_orders(app, visitor, ready_service, bob):
    from app.services.models import Service

    ready = ready_service(name="Ready one")
    broken = ready_service(name="Broken one")
    session = app.extensions["database"].sessions()
    with session.begin():
        row = session.get(Service, broken["id"])
        row.status, row.status_message = "error", "the image <ghcr.io/x> cannot be pulled"
    session.close()
    bob.post("/1/orders", json={"service-id": ready["id"], "parameters": [{"name": "scene", "value": "x"}]})
    provider = visitor()
    provider.sign_in("alice")
    shown = page(provider.get("/my/services"))
    assert "the image &lt;ghcr.io/x&gt; cannot be pulled" in shown
    assert re.search(rf'href="/services/{re.escape(ready["id"])}/orders">1 order<', shown)
    orders = page(provider.get(f"/services/{ready['id']}/orders"))
    assert "bob" in orders and "pending" in orders


def test_hostile_service_text_is_escaped(bob_browser, ready_service):
    service = ready_service(name="<script>alert(1)</script>", description="\"><img src=x onerror=alert(1)>",
                            banner="https://example.org/b.png\"onerror=\"alert(1)",
                            references=[{"title": "<i>x</i>", "uri": "urn:x:y:z"}])
    for shown in (page(bob_browser.get("/")), page(bob_browser.get(f"/services/{service['id']}"))):
        assert "<script>alert(1)" not in shown and "<img src=x" not in shown and '"onerror="' not in shown
    assert "&lt;script&gt;" in page(bob_browser.get(f"/services/{service['id']}"))


def test_signing_out_ends_the_session(bob_browser):
    bob_browser.get("/")
    assert bob_browser.post("/sign-out").status_code == 303
    assert bob_browser.get("/").status_code == 302


def test_pages_allow_only_their_own_scripts_and_are_not_cached(bob_browser):
    response = bob_browser.get("/")
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy and "form-action 'self'" in policy
    assert response.headers["Cache-Control"] == "private, no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "<script>" not in page(response) and " style=" not in page(response)


def test_the_artifact_picker_offers_the_callers_own_artifacts_alone(bob_browser, ready_service, alice, bob):
    def upload(client, name):
        return client.post("/1/artifacts", data=b"a,b\n", headers={"Content-Type": "text/csv", "X-Name": name}
                           ).get_json()["id"]
    mine, theirs = upload(bob, "mine.csv"), upload(alice, "theirs.csv")
    service = ready_service(parameters=[{"name": "table", "type": "artifact"}])
    shown = page(bob_browser.get(f"/services/{service['id']}"))
    assert f'<option value="{mine}">mine.csv</option>' in shown
    assert theirs not in shown and "theirs.csv" not in shown


@pytest.mark.parametrize("field", ["name", "tags", "param-scene"])
def test_nul_characters_in_a_form_are_refused_before_they_reach_the_database(bob_browser, ready_service, bob, field):
    service = ready_service()
    bob_browser.get(f"/services/{service['id']}")
    response = bob_browser.post(f"/services/{service['id']}/order", {"param-scene": "s", field: "a\x00b"})
    assert response.status_code in (400, 422) and "NUL" in page(response)
    assert bob_browser.get("/", query_string={"q": "a\x00"}).status_code == 400
    assert bob.get("/1/orders").get_json()["orders"] == []


def test_a_form_too_large_is_a_page_saying_so(bob_browser, ready_service):
    service = ready_service()
    bob_browser.get(f"/services/{service['id']}")
    response = bob_browser.post(f"/services/{service['id']}/order", {"param-scene": "x" * (2 * 1024 * 1024)})
    assert response.status_code == 413
    assert response.mimetype == "text/html" and "the form is too large" in page(response)


def test_the_most_used_tags_are_offered_as_filters(app, bob_browser, ready_service):
    ready_service(name="A", tags=["water", "radar"])
    ready_service(name="B", tags=["water"])
    app.extensions.pop("web_popular_tags", None)
    shown = page(bob_browser.get("/"))
    offered = re.findall(r'<input type="checkbox" name="tag" value="([^"]+)">', shown)
    assert offered == ["water", "radar"]  # most used first
    chosen = page(bob_browser.get("/?tag=water"))
    assert '<input type="checkbox" name="tag" value="water" checked>' in chosen
    assert re.findall(r'<input type="checkbox" name="tag" value="([^"]+)">', chosen) == ["radar"]


def test_the_order_pages_event_stream_is_the_apis_for_the_signed_in_account(bob_browser, ready_service, bob):
    service = ready_service()
    order = bob.post("/1/orders", json={"service-id": service["id"],
                                        "parameters": [{"name": "scene", "value": "x"}]}).get_json()
    bob.post(f"/1/orders/{order['id']}/cancel")
    stream = bob_browser.get(f"/orders/{order['id']}/events")  # the order has ended: the stream ends too
    assert stream.mimetype == "text/event-stream"
    text = page(stream)
    assert text.count("event: status") == 2 and '"status": "cancelled"' in text
    last = re.findall(r"^id: (\d+)$", text, re.M)[-1]
    assert "event:" not in page(bob_browser.get(f"/orders/{order['id']}/events", headers={"Last-Event-ID": last}))
    assert bob_browser.get(f"/orders/{order['id']}/events?after=abc").status_code == 400
