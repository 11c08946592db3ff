"""Fixtures of the API tests that drive the worker by hand."""
from __future__ import annotations

import pytest

from app.orders.models import Order
from app.worker import Worker


@pytest.fixture
def worker(app, config):
    """A worker on the app's database and the embedded (local) backend; tests call run_once()."""
    return Worker(app.extensions["database"], config)


@pytest.fixture
def as_the_worker(app):
    """A change of an order's row in a session of its own, as the worker makes it."""
    def change(order_id, **values):
        session = app.extensions["database"].sessions()
        with session.begin():
            order = session.get(Order, order_id)
            for name, value in values.items():
                setattr(order, name, value)
        session.close()
    return change
