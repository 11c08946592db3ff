"""An order's data as the worker handles it: the inputs a submission carries (with a token scoped
to the order, never storage credentials), and the products kept when the order ends."""
from __future__ import annotations

import functools
import logging
from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.artifacts import logic as artifacts
from app.artifacts.models import Artifact
from app.artifacts.storage import ContentMissing, ContentTooLarge, Store
from app.config import ArtifactSettings
from app.orders import events
from app.orders.models import Order
from app.status import ArtifactStatus
from app.workload_tokens import issue_workload_token
from workflows.backends.base import Backend, InputArtifact, Submission
from workflows.settings import CompileSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OrderData:
    store: Store
    secret: str
    compile: CompileSettings
    artifacts: ArtifactSettings


def submission_of(session: Session, order: Order, data: OrderData) -> Submission:
    """What the backend runs; ValueError if an input artifact is gone since the order was placed."""
    inputs = []
    for use in order.inputs:
        artifact = session.get(Artifact, use.artifact_id)
        if artifact is None or artifact.status != ArtifactStatus.READY:
            raise ValueError(f"the input artifact of parameter {use.parameter} ({use.artifact_id}) is gone")
        inputs.append(InputArtifact(parameter=use.parameter, artifact_id=artifact.id,
                                    open=functools.partial(data.store.read, artifact.storage_key)))
    return Submission(order.id, order.service_id, order.workflow, [(p["name"], p["value"]) for p in order.parameters],
                      inputs=inputs, access_token=issue_workload_token(data.secret, order.id,
                                                                       data.compile.active_deadline_seconds))


def keep_products(session: Session, backend: Backend, order: Order, data: OrderData) -> list[str]:
    """Keep every file the ended order left (within the order's caps) as its consumer's artifacts,
    in the session: committed with the order's end, written again (to the same keys) after a crash.
    Returns what could not be kept, for the order's message."""
    produced_files = backend.products(order.id)
    problems, budget = list(produced_files.refused), data.compile.max_product_bytes
    if not produced_files:
        return problems
    known = {product.name for product in session.scalars(artifacts.order_products(order.id))}
    for produced in produced_files:
        try:
            if produced.store_key is not None:
                product = artifacts.add_stored_product(session, data.store, data.artifacts, order.id, order.account,
                                                       produced.name, produced.store_key)
            else:
                product = artifacts.add_product(session, data.store, data.artifacts, order.id, order.account,
                                                produced.name, None, produced.open(),
                                                min(data.artifacts.max_bytes, max(budget, 0)))
            budget -= product.size or 0
            if product.name not in known:  # one uploaded by the order's collector has its event
                events.products_added(session, [product])
        except (ContentTooLarge, ContentMissing, OSError) as error:
            problems.append(f"{produced.name}: {error}")
            log.warning("product %s of order %s not kept: %s", produced.name, order.id, error,
                        extra={"order_id": order.id})
    return problems
