"""What makes single reads fast without changing what they answer: a token is verified once and
trusted until it expires; a resource's rendering is kept per caller and served again only while
its tag is current, whichever API process made the change."""
from __future__ import annotations

import time

import jwt
import pytest
import sqlalchemy as sa

from app import create_app
from app.auth import InvalidToken, SharedSecretVerifier, VerifiedTokens
from app.workload_tokens import issue_workload_token
from tests.conftest import TEST_SECRET, ApiClient
from tests.factories import service_description


class CountingVerifier(SharedSecretVerifier):
    def __init__(self, secret):
        super().__init__(secret)
        self.calls = 0

    def verify(self, token):
        self.calls += 1
        return super().verify(token)


class Clock:
    def __init__(self):
        self.now = time.time()

    def __call__(self):
        return self.now


def test_a_token_is_verified_once_and_verified_again_once_it_has_expired():
    verifier, clock = CountingVerifier(TEST_SECRET), Clock()
    tokens = VerifiedTokens(TEST_SECRET, verifier, clock)
    token = verifier.issue("carol", 60)
    assert [tokens.identity(token)[:2] for _ in range(3)] == [("carol", None)] * 3
    assert verifier.calls == 1
    clock.now = tokens.identity(token)[2] + 0.001  # past its exp: not trusted any more, but asked again
    tokens.identity(token)
    assert verifier.calls == 2


def test_an_expired_token_is_refused_though_it_was_accepted_before(app):
    client = app.test_client()
    token = SharedSecretVerifier(TEST_SECRET).issue("carol", 60)
    assert client.get("/1/orders", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    expired = jwt.encode({"sub": "carol", "iss": "marketplace", "aud": "marketplace-api", "exp": int(time.time()) - 1},
                         TEST_SECRET, algorithm="HS256")
    refused = client.get("/1/orders", headers={"Authorization": f"Bearer {expired}"})
    assert refused.status_code == 401 and "expired" in refused.get_json()["message"]


def test_a_long_lived_token_is_trusted_for_a_few_minutes_at_a_time_and_bad_ones_are_never_kept():
    verifier, clock = CountingVerifier(TEST_SECRET), Clock()
    tokens = VerifiedTokens(TEST_SECRET, verifier, clock)
    token = verifier.issue("carol", 86400)
    tokens.identity(token)
    clock.now += VerifiedTokens.MAX_TRUST_SECONDS + 1
    assert tokens.identity(token)[0] == "carol" and verifier.calls == 2
    for _ in range(3):
        with pytest.raises(InvalidToken):
            tokens.identity(token + "x")  # a bad signature is checked every time
    assert verifier.calls == 5


def test_a_workload_token_speaks_for_its_order_alone():
    tokens = VerifiedTokens(TEST_SECRET, CountingVerifier(TEST_SECRET))
    token = issue_workload_token(TEST_SECRET, "urn:marketplace:order:1", 60)
    assert tokens.identity(token)[:2] == (None, "urn:marketplace:order:1")
    assert tokens.identity(token)[:2] == (None, "urn:marketplace:order:1")


@pytest.fixture
def replica(config):
    """A second API process on the same database, as behind a load balancer."""
    second = create_app(config)
    yield second
    second.extensions["database"].dispose()


def as_account(app, account):
    return ApiClient(app.test_client(), SharedSecretVerifier(TEST_SECRET).issue(account, 3600))


def test_a_change_made_through_another_replica_is_seen_at_once(app, replica, alice, ready_service):
    service = ready_service(tags=["before"])
    first = alice.get(f"/1/services/{service['id']}")
    assert alice.get(f"/1/services/{service['id']}").get_json() == first.get_json()  # kept, and served again
    changed = as_account(replica, "alice").put(f"/1/services/{service['id']}",
                                                json=service_description(tags=["after"]))
    assert changed.status_code == 200, changed.get_json()
    again = alice.get(f"/1/services/{service['id']}")
    assert again.get_json()["tags"] == ["after"] and again.headers["ETag"] != first.headers["ETag"]
    assert again.get_json() == as_account(replica, "alice").get(f"/1/services/{service['id']}").get_json()


def test_a_change_by_the_worker_is_seen_at_once_and_each_caller_keeps_their_own_view(alice, bob, ready_service,
                                                                                    as_the_worker):
    service = ready_service()
    placed = bob.post("/1/orders", json={"service-id": service["id"], "parameters": [{"name": "scene",
                                                                                    "value": "S2A"}]}).get_json()
    as_the_worker(placed["id"], callback="https://hooks.example.org/bob")
    consumer, provider = bob.get(f"/1/orders/{placed['id']}"), alice.get(f"/1/orders/{placed['id']}")
    assert consumer.get_json()["callback"] == "https://hooks.example.org/bob"  # the order's data: its consumer's
    assert "callback" not in provider.get_json()
    assert bob.get(f"/1/orders/{placed['id']}").get_json() == consumer.get_json()
    assert alice.get(f"/1/orders/{placed['id']}").get_json() == provider.get_json()
    as_the_worker(placed["id"], status="cancelled")
    assert bob.get(f"/1/orders/{placed['id']}").get_json()["status"] == "cancelled"
    assert alice.get(f"/1/orders/{placed['id']}").get_json()["status"] == "cancelled"


def test_a_deleted_resource_is_a_404_although_its_rendering_was_kept(app, alice, ready_service):
    service = ready_service()
    assert alice.get(f"/1/services/{service['id']}").status_code == 200
    with app.extensions["database"].engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM services WHERE id = :id"), {"id": service["id"]})
    gone = alice.get(f"/1/services/{service['id']}")
    assert gone.status_code == 404 and gone.get_json()["message"] == "no service has this id"
