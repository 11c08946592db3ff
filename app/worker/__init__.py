"""The worker: a reconcile loop that builds services and submits and observes orders. The API's
views never import it; `marketplace serve` and `marketplace worker` start it."""
from app.worker.loop import Worker, make_backend, start_in_background

__all__ = ["Worker", "make_backend", "start_in_background"]
