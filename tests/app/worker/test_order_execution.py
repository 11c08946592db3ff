"""Orders run on the local backend through the worker, and the API follows them to their end."""
from __future__ import annotations

import dataclasses
import shutil
import time

import pytest

from app.orders.models import Order
from app.worker import Worker
from app.worker.orders import observe_running_orders
from tests.factories import service_description
from tests.serving import wait_until as until
from workflows.backends.base import Submission
from workflows.backends.local import LOST_MESSAGE
from workflows.backends.runs import RunFolder, RunState

PRINT_ARGS = "import sys; print(' '.join(sys.argv[1:]))"


def publish(alice, worker, code, parameters=({"name": "text", "type": "string"},)):
    """Publish a service that runs `code` with python3, and build it."""
    workflow = {"type": "basic", "basic": {"image": "python:3.11-slim", "command": ["python3", "-c", code]}}
    service = alice.post("/1/services", json=service_description(workflow=workflow,
                                                                 parameters=list(parameters))).get_json()
    worker.run_once()
    return service["id"]


@pytest.fixture
def run_service(alice, worker):
    return lambda code, parameters=({"name": "text", "type": "string"},): publish(alice, worker, code, parameters)


def place(client, service_id, **values):
    response = client.post("/1/orders", json={"service-id": service_id,
                                              "parameters": [{"name": k, "value": v} for k, v in values.items()]})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def wait_until(condition, worker, seconds=30):
    """Run worker passes until `condition()` holds; fails after `seconds`."""
    ends = time.monotonic() + seconds
    while not (value := condition()):
        assert time.monotonic() < ends, "condition not reached in time"
        worker.run_once()
        time.sleep(0.05)
    return value


def run_until_finished(worker, client, order_id, seconds=30):
    return wait_until(lambda: (order := client.get(f"/1/orders/{order_id}").get_json()).get("finished-at") and order,
                      worker, seconds)


def logs_of(client, order_id):
    return [line["message"] for line in client.get(f"/1/orders/{order_id}/logs").get_json()["items"]]


def test_an_order_runs_to_success_and_its_logs_show_its_parameters(run_service, worker, bob):
    order = place(bob, run_service(PRINT_ARGS), text="to be or not")
    done = run_until_finished(worker, bob, order["id"])
    assert done["status"] == "succeeded" and "status-message" not in done
    assert done["ordered-at"] <= done["started-at"] <= done["finished-at"]
    logs = bob.get(done["links"]["logs"]).get_json()
    assert [(line["task"], line["message"]) for line in logs["items"]] == [("main", "--text to be or not")]


def test_a_failing_command_ends_failed_with_the_reason(run_service, worker, bob):
    order = place(bob, run_service("import sys; print('no scene'); sys.exit(3)"), text="x")
    done = run_until_finished(worker, bob, order["id"])
    assert (done["status"], done["status-message"]) == ("failed", "exited with code 3")


def test_a_command_that_does_not_exist_ends_error(alice, worker, bob):
    workflow = {"type": "basic", "basic": {"image": "alpine", "command": ["/no/such/program"]}}
    service = alice.post("/1/services", json=service_description(workflow=workflow, parameters=[])).get_json()
    worker.run_once()
    done = run_until_finished(worker, bob, place(bob, service["id"])["id"])
    assert done["status"] == "error"
    assert done["status-message"].startswith("the backend could not start the order:")


def test_a_long_order_is_cancelled(run_service, worker, bob, alice, as_account):
    order = place(bob, run_service("import time; print('working', flush=True); time.sleep(60)"), text="x")
    worker.run_once()
    assert as_account("mallory").post(f"/1/orders/{order['id']}/cancel").status_code == 404
    assert alice.post(f"/1/orders/{order['id']}/cancel").status_code == 403
    response = bob.post(f"/1/orders/{order['id']}/cancel")
    assert response.status_code == 202
    done = run_until_finished(worker, bob, order["id"])
    assert (done["status"], done["status-message"]) == ("cancelled", "cancelled on request")
    again = bob.post(f"/1/orders/{order['id']}/cancel")
    assert again.status_code == 409
    assert again.get_json() == {"message": "the order has already ended: cancelled", "id": order["id"]}


def test_a_pending_order_is_cancelled_at_once(run_service, bob):
    order = place(bob, run_service(PRINT_ARGS), text="x")
    cancelled = bob.post(f"/1/orders/{order['id']}/cancel").get_json()
    assert (cancelled["status"], cancelled["status-message"]) == ("cancelled", "cancelled before it started")
    assert "finished-at" in cancelled


def test_a_restarted_worker_finishes_the_order_the_last_one_started(app, config, run_service, worker, bob):
    order = place(bob, run_service("import time; print('before', flush=True); time.sleep(1); print('after')"),
                  text="x")
    worker.run_once()
    restarted = Worker(app.extensions["database"], config)  # the first worker's process is gone
    done = run_until_finished(restarted, bob, order["id"])
    assert (done["status"], "status-message" in done) == ("succeeded", False)
    logs = bob.get(done["links"]["logs"]).get_json()["items"]
    assert [line["message"] for line in logs] == ["before", "after"]


def test_an_order_whose_run_record_was_lost_ends_error(config, run_service, worker, bob):
    # Short, so that a supervisor which misses the cancel (its folder is gone) leaves nothing for long.
    order = place(bob, run_service("import time; time.sleep(2)"), text="x")
    worker.run_once()
    worker.backend.cancel(order["id"])
    shutil.rmtree(config.runs_dir)
    done = run_until_finished(worker, bob, order["id"])
    assert (done["status"], done["status-message"]) == ("error", LOST_MESSAGE)


def test_logs_can_be_read_within_a_time_window(run_service, worker, bob):
    code = "import time\nfor i in range(3):\n    print(i, flush=True); time.sleep(0.3)"
    done = run_until_finished(worker, bob, place(bob, run_service(code), text="x")["id"])
    lines = bob.get(done["links"]["logs"]).get_json()["items"]
    assert [line["message"] for line in lines] == ["0", "1", "2"]
    since = lines[1]["time"]
    window = bob.get(done["links"]["logs"], query_string={"since": since, "until": lines[2]["time"]}).get_json()
    assert [line["message"] for line in window["items"]] == ["1"]
    bad = bob.get(done["links"]["logs"], query_string={"since": "yesterday"})
    assert bad.status_code == 400 and bad.get_json()["name"] == "since"


def test_the_tasks_of_a_basic_order_are_its_one_container(run_service, worker, bob, as_account):
    order = place(bob, run_service("import sys; sys.exit(2)"), text="x")
    assert bob.get(f"/1/orders/{order['id']}/tasks").get_json() == {"tasks": [{"name": "main", "phase": "pending"}]}
    done = run_until_finished(worker, bob, order["id"])
    tasks = bob.get(f"/1/orders/{order['id']}/tasks").get_json()["tasks"]
    assert tasks == [{"name": "main", "phase": "failed", "started-at": done["started-at"],
                      "finished-at": done["finished-at"], "message": "exited with code 2"}]
    assert as_account("mallory").get(f"/1/orders/{order['id']}/tasks").status_code == 404


def test_orders_that_ignore_term_when_cancelled_do_not_hold_up_an_unrelated_order(app, config, alice, bob):
    """The worker asks and moves on: the six stubborn processes are still in their grace period
    (TERM ignored, KILL not yet due) when the unrelated order has already run and succeeded."""
    config = dataclasses.replace(config, limits=dataclasses.replace(config.limits, kill_grace_seconds=10))
    worker = Worker(app.extensions["database"], config)
    stubborn = ("import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                "print('running', flush=True); time.sleep(600)")
    service_id = publish(alice, worker, stubborn)
    orders = [place(bob, service_id, text=str(i))["id"] for i in range(6)]
    wait_until(lambda: all(logs_of(bob, order) == ["running"] for order in orders), worker)
    for order in orders:
        assert bob.post(f"/1/orders/{order}/cancel").status_code == 202
    unrelated = place(bob, publish(alice, worker, PRINT_ARGS), text="quick")
    done = run_until_finished(worker, bob, unrelated["id"])
    assert done["status"] == "succeeded"
    assert {bob.get(f"/1/orders/{order}").get_json()["status"] for order in orders} == {"executing"}
    for order in orders:
        assert run_until_finished(worker, bob, order)["status"] == "cancelled"


class LookingAtAll:
    """The worker's backend, with no change feed: every pass looks at every running order."""

    def __init__(self, backend):
        self._backend = backend

    def __getattr__(self, name):
        return getattr(self._backend, name)

    def changed_orders(self) -> None:
        return None


def test_a_look_at_all_reaches_every_running_order_however_many_batches_they_take(app, alice, worker, bob):
    service_id = publish(alice, worker, "import time; print('running', flush=True); time.sleep(600)")
    orders = [place(bob, service_id, text=str(i))["id"] for i in range(3)]
    worker.run_once()
    backend = LookingAtAll(worker.backend)

    def look_at_all() -> bool:
        with app.extensions["database"].sessions() as session:
            observe_running_orders(session, backend, worker._data, batch=2)
        return all(logs_of(bob, order) == ["running"] for order in orders)
    try:
        until(look_at_all, seconds=30, what="every running order's first line kept")
        assert {bob.get(f"/1/orders/{order}").get_json()["status"] for order in orders} == {"executing"}
    finally:
        for order in orders:
            bob.post(f"/1/orders/{order}/cancel")
    for order in orders:
        assert run_until_finished(worker, bob, order)["status"] == "cancelled"


def test_a_run_left_behind_for_an_order_that_ended_meanwhile_is_stopped(app, config, run_service, bob):
    """The crash window: a worker started the run and died before recording it; the consumer
    then cancelled the order, still pending. The next worker stops the orphaned run."""
    order = place(bob, run_service("import time; print('running', flush=True); time.sleep(600)"), text="x")
    with app.extensions["database"].sessions() as session:
        stored = session.get(Order, order["id"])
        submission = Submission(stored.id, stored.service_id, stored.workflow,
                                [(p["name"], p["value"]) for p in stored.parameters])
    crashed = Worker(app.extensions["database"], config)
    crashed.backend.submit(submission)
    assert bob.post(f"/1/orders/{order['id']}/cancel").get_json()["status"] == "cancelled"
    run = RunFolder(config.runs_dir, order["id"])
    Worker(app.extensions["database"], config).run_once()
    deadline = time.monotonic() + 30
    while run.state() != RunState.ENDED:
        assert time.monotonic() < deadline, f"the orphaned run is still {run.state()}"
        time.sleep(0.05)
    assert run.ended().reason == "cancelled"
