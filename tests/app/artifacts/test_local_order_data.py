"""Order data end to end on the embedded (local) backend: the workload reads its input artifact as
a file and every file it leaves in its outputs folder becomes a product, also when it failed."""
from __future__ import annotations

import dataclasses
import hashlib

import sqlalchemy as sa

from app.artifacts.models import Artifact
from app.worker import Worker
from tests.app.worker.test_order_execution import place, publish, run_until_finished
from tests.storage_server import leftovers

TABLE = ({"name": "table", "type": "artifact"},)
SUMMARISE = """
import os, sys
rows = open(sys.argv[2]).read().splitlines()
out = os.environ["MARKETPLACE_OUTPUTS_DIR"]
os.makedirs(os.path.join(out, "plots"))
open(os.path.join(out, "summary.txt"), "w").write(f"{len(rows) - 1} rows\\n")
open(os.path.join(out, "plots", "a.csv"), "w").write(rows[0])
sys.exit(int(os.environ.get("FAIL", "0")) or (3 if "fail" in rows[0] else 0))
"""


def upload(client, content):
    response = client.post("/1/artifacts", data=content, headers={"Content-Type": "text/csv", "X-Name": "t.csv"})
    assert response.status_code == 201
    return response.get_json()


def test_an_order_reads_its_input_and_leaves_products(alice, bob, worker):
    service_id = publish(alice, worker, SUMMARISE, TABLE)
    artifact = upload(bob, b"field,ndvi\n12,0.41\n13,0.38\n")
    order = place(bob, service_id, table=artifact["id"])
    done = run_until_finished(worker, bob, order["id"])
    assert done["status"] == "succeeded", done
    products = {p["name"]: p for p in done["products"]}
    assert set(products) == {"summary.txt", "plots/a.csv"}
    assert (products["summary.txt"]["mime-type"], products["plots/a.csv"]["mime-type"]) == ("text/plain", "text/csv")
    summary = bob.get(products["summary.txt"]["links"]["data"])
    assert summary.data == b"2 rows\n"
    record = bob.get(products["summary.txt"]["links"]["self"]).get_json()
    assert (record["size"], record["sha256"], record["order-id"]) == (7, hashlib.sha256(b"2 rows\n").hexdigest(),
                                                                      order["id"])
    listed = bob.get(done["links"]["products"], query_string={"$orderby": "name"}).get_json()
    assert [p["name"] for p in listed["products"]] == ["plots/a.csv", "summary.txt"]
    # The provider sees the order, not the consumer's data.
    assert alice.get(f"/1/orders/{order['id']}").get_json()["products"] == []
    assert alice.get(products["summary.txt"]["links"]["data"]).status_code == 404


def test_a_failed_orders_partial_results_are_kept(alice, bob, worker):
    service_id = publish(alice, worker, SUMMARISE, TABLE)
    order = place(bob, service_id, table=upload(bob, b"fail\n1\n")["id"])
    done = run_until_finished(worker, bob, order["id"])
    assert done["status"] == "failed"
    assert sorted(p["name"] for p in done["products"]) == ["plots/a.csv", "summary.txt"]
    assert bob.get(done["products"][0]["links"]["data"]).status_code == 200


def test_an_input_deleted_before_the_order_starts_ends_it_in_error(alice, bob, worker):
    service_id = publish(alice, worker, SUMMARISE, TABLE)
    artifact = upload(bob, b"a\n")
    order = place(bob, service_id, table=artifact["id"])
    assert bob.delete(artifact["links"]["self"]).status_code == 204
    done = run_until_finished(worker, bob, order["id"])
    assert done["status"] == "error" and "table" in done["status-message"], done


def test_products_past_their_retention_period_lose_their_content_and_say_so(alice, bob, app, config):
    retaining = dataclasses.replace(config, artifacts=dataclasses.replace(config.artifacts,
                                                                          product_retention_seconds=3600))
    worker = Worker(app.extensions["database"], retaining)
    service_id = publish(alice, worker, SUMMARISE, TABLE)
    upload(bob, b"h\n1\n")
    order = place(bob, service_id, table=bob.get("/1/artifacts").get_json()["artifacts"][0]["id"])
    done = run_until_finished(worker, bob, order["id"])
    product = bob.get(done["products"][0]["links"]["self"]).get_json()
    assert product["status"] == "ready" and "expires-at" in product
    kept = len(leftovers(app.extensions["artifact_store"]))

    with app.extensions["database"].engine.begin() as connection:  # the hour has passed
        connection.execute(sa.update(Artifact).where(Artifact.order_id == order["id"])
                           .values(expires_at=Artifact.created_at))
    Worker(app.extensions["database"], retaining).run_once()  # its first pass sweeps
    expired = bob.get(product["links"]["self"]).get_json()
    assert expired["status"] == "expired"
    gone = bob.get(product["links"]["data"])
    assert gone.status_code == 410 and "retention" in gone.get_json()["message"]
    assert len(leftovers(app.extensions["artifact_store"])) == kept - 2  # both products' content
    assert bob.get(f"/1/artifacts/{order['inputs'][0]['id']}").get_json()["status"] == "ready"  # uploads stay
