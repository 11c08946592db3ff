"""Fixtures of the API tests that drive the worker by hand."""
from __future__ import annotations

import pytest

from app.worker import Worker


@pytest.fixture
def worker(app, config):
    """A worker on the app's database and the embedded (local) backend; tests call run_once()."""
    return Worker(app.extensions["database"], config)
