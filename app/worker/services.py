"""Building a service: check its workflow for the backend that will run it, then `ready` or
`error` with a message a provider can act on."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.services.models import Service
from app.status import ServiceStatus, check_service_transition
from workflows.compile import workflow_problems as compiled_workflow_problems
from workflows.problems import Problem
from workflows.settings import CompileSettings


def workflow_problems(service: Service, workflow_types: frozenset[str], settings: CompileSettings) -> list[Problem]:
    workflow = service.workflow
    if workflow["type"] not in workflow_types:
        return [Problem("workflow.type", f"{workflow['type']} workflows need the Kubernetes backend "
                        "(MARKETPLACE_BACKEND=kubernetes); this server runs the local backend", workflow["type"])]
    return compiled_workflow_problems(workflow, service.parameters, settings)


def build_pending_services(session: Session, workflow_types: frozenset[str], settings: CompileSettings,
                           batch: int = 20) -> int:
    """Build up to `batch` pending services in one transaction. Rows are claimed with
    FOR UPDATE SKIP LOCKED, so concurrent workers never build the same service twice."""
    claimed = session.scalars(sa.select(Service).where(Service.status == ServiceStatus.PENDING)
                              .order_by(Service.updated_at).limit(batch).with_for_update(skip_locked=True)).all()
    for service in claimed:
        service.status = check_service_transition(service.status, ServiceStatus.BUILDING)
        problems = workflow_problems(service, workflow_types, settings)
        outcome = ServiceStatus.ERROR if problems else ServiceStatus.READY
        service.status = check_service_transition(service.status, outcome)
        service.status_message = "; ".join(f"{p.path}: {p.message}" for p in problems) or None
    session.commit()
    return len(claimed)
