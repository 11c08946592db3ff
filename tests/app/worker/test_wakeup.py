"""The worker starts work as soon as it is stored, not at its next pass: woken in its own process
by the commit, from other processes by NOTIFY (PostgreSQL) or the database's change counter
(SQLite), and by the local backend when a run's supervisor exits."""
from __future__ import annotations

import threading

import pytest

from app.services.models import Service
from app.work_signal import Wakeup, work_waiting
from app.worker.wakeup import watch_other_processes
from tests.factories import service_description
from tests.serving import wait_until as until

LONG_INTERVAL = 600.0  # the worker never wakes on its own within a test


@pytest.fixture
def running_worker(worker):
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop, LONG_INTERVAL), daemon=True)
    thread.start()
    yield worker
    stop.set()
    thread.join(10)
    assert not thread.is_alive()


def test_a_service_and_an_order_run_to_their_end_without_waiting_for_the_interval(running_worker, alice, bob):
    workflow = {"type": "basic", "basic": {"image": "python:3.11-slim", "command": ["python3", "-c", "pass"]}}
    service = alice.post("/1/services", json=service_description(workflow=workflow, parameters=[])).get_json()
    until(lambda: alice.get(f"/1/services/{service['id']}").get_json()["status"] == "ready", seconds=20,
          what="the service built")
    order = bob.post("/1/orders", json={"service-id": service["id"], "parameters": []}).get_json()
    until(lambda: bob.get(f"/1/orders/{order['id']}").get_json()["status"] == "succeeded", seconds=20,
          what="the order's end")


def test_a_stop_wakes_the_waiting_worker(worker):
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop, LONG_INTERVAL), daemon=True)
    thread.start()
    until(lambda: worker.metrics.last_pass, what="a first pass")
    stop.set()
    thread.join(10)
    assert not thread.is_alive()


def test_work_stored_by_another_process_wakes_the_worker(app, config):
    """A commit on another connection, as another process makes it: NOTIFY on PostgreSQL, the
    change counter on SQLite; a rolled back one wakes nobody."""
    wakeup, stop = Wakeup(), threading.Event()
    watch_other_processes(config.database_url, wakeup, stop)
    try:
        sessions = app.extensions["database"].sessions
        if config.database_url.startswith("postgresql"):
            until(lambda: wakeup.generation() > 0, what="the listener's LISTEN")  # it wakes once when it listens
        seen = wakeup.generation()
        with sessions() as session:
            session.get(Service, "urn:none")
            work_waiting(session)
            session.rollback()
        assert not wakeup.wait(seen, 0.3)
        with sessions() as session:
            session.add(Service(**_service_row()))
            work_waiting(session)
            session.commit()
        until(lambda: wakeup.generation() != seen, seconds=10, what="the other process's commit seen")
    finally:
        stop.set()


def test_an_order_placed_by_another_process_wakes_the_worker(config, ready_service, bob):
    """Placing an order sends its work NOTIFY with its events' statement (PostgreSQL): it still
    reaches the workers of other processes."""
    if not config.database_url.startswith("postgresql"):
        pytest.skip("what is checked is PostgreSQL's: the work NOTIFY sent inside the order events' statement; "
                    "on SQLite any commit moves the change counter, which "
                    "test_work_stored_by_another_process_wakes_the_worker checks")
    service = ready_service(parameters=[])
    wakeup, stop = Wakeup(), threading.Event()
    watch_other_processes(config.database_url, wakeup, stop)
    try:
        until(lambda: wakeup.generation() > 0, what="the listener's LISTEN")  # it wakes once when it listens
        seen = wakeup.generation()
        assert bob.post("/1/orders", json={"service-id": service["id"], "parameters": []}).status_code == 201
        until(lambda: wakeup.generation() != seen, seconds=10, what="the order's commit seen")
    finally:
        stop.set()


def _service_row() -> dict:
    from app.db import utcnow
    now = utcnow()
    return {"id": "urn:marketplace:service:woken", "owner": "alice", "name": "woken", "description": "d",
            "provider_id": "urn:p", "account_id": "urn:a", "status": "pending", "parameters": [],
            "workflow": {"type": "basic", "basic": {"image": "alpine"}}, "references": [], "version": 1,
            "created_at": now, "updated_at": now}
