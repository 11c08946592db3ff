"""What may be done with services, decided here; the views only parse and render."""
from __future__ import annotations

import re
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.api_errors import Forbidden, InvalidParameterValue, NotFound
from app.config import AccountLimits
from app.db import ID_LENGTH, utcnow
from app.direct_reads import QuickRead
from app.ownership import require_owner
from app.services.models import Service
from app.status import ServiceStatus, check_service_transition
from app.work_signal import work_waiting
from workflows.parameters import canonical_value, check_parameter_definitions

# A URN (RFC 8141, without '/', '?' and '#', which cannot travel in one path segment) or a slug.
_URN = r"urn:[A-Za-z0-9][A-Za-z0-9-]{0,31}:[A-Za-z0-9()+,\-.:=@;$_!*'%~]+"
_SLUG = r"[A-Za-z0-9][A-Za-z0-9._-]*"
SERVICE_ID_PATTERN = re.compile(rf"(?:{_URN}|{_SLUG})")
SERVICE_ID_RULE = (f"a URN such as urn:acme:service:ndvi or a slug of letters, digits, '.', '_' "
                   f"and '-', at most {ID_LENGTH} characters")

SERVICE_OF_ANOTHER = "this service belongs to another account"


def new_service_id() -> str:
    return f"urn:marketplace:service:{uuid.uuid4()}"


def check_service_id(service_id: str) -> None:
    if len(service_id) > ID_LENGTH or not SERVICE_ID_PATTERN.fullmatch(service_id):
        raise InvalidParameterValue(f"a service id must be {SERVICE_ID_RULE}", name="id", value=service_id)


def check_description(description: dict[str, Any]) -> None:
    """Meaning the schema cannot check: parameter definitions that make sense. Defaults are
    then kept in their canonical text form (the contract types them as strings)."""
    problems = check_parameter_definitions(description["parameters"])
    if problems:
        first = problems[0]
        error = InvalidParameterValue(f"{first.path}: {first.message}", name=first.path, value=first.value)
        error.problems = [{"name": p.path, "message": p.message, "value": p.value} for p in problems]
        raise error
    for definition in description["parameters"]:
        if "default" in definition:
            definition["default"] = canonical_value(definition["type"], definition["default"],
                                                    definition.get("options") or [])


# A service read to be shown: its tags and metadata in the same query (not one query each).
SERVICE_AS_SHOWN = (sa.orm.joinedload(Service.tag_rows), sa.orm.joinedload(Service.metadata_rows))


def get_service(session: Session, service_id: str, shown: bool = False) -> Service:
    options = SERVICE_AS_SHOWN if shown else ()
    service = session.get(Service, service_id, options=options) if len(service_id) <= ID_LENGTH else None
    if service is None:
        raise NotFound("no service has this id", id=service_id)
    return service


def service_etag_parts(service_id: str, incarnation: str, revision: int) -> tuple:
    """What a service's ETag is made of (app.conditional): the same for every caller, as its JSON.
    The incarnation tells a deleted and re-published id (whose revision starts again) from the first."""
    return ("service", service_id, incarnation, revision)


_SERVICE_REVISION = QuickRead(sa.select(Service.incarnation, Service.revision)
                              .where(Service.id == sa.bindparam("service_id")))


def current_service_etag_parts(engine: sa.Engine, service_id: str) -> tuple:
    """Those of the service as stored now, after one indexed read of its revision."""
    row = _SERVICE_REVISION.first(engine, service_id=service_id) if len(service_id) <= ID_LENGTH \
        else None
    if row is None:
        raise NotFound("no service has this id", id=service_id)
    return service_etag_parts(service_id, *row)


def _apply_description(service: Service, description: dict[str, Any]) -> None:
    service.name = description.get("name")
    service.description = description["description"]
    service.provider_id = description["provider_id"]
    service.provider_ref = description.get("provider_ref")
    service.account_id = description["account_id"]
    service.banner = description.get("banner")
    service.parameters = description["parameters"]
    service.workflow = description["workflow"]
    service.references = description["references"]
    service.tags = description["tags"]
    service.metadata_entries = description["metadata_entries"]


def _check_service_count(session: Session, owner: str, limit: int) -> None:
    published = session.scalar(sa.select(sa.func.count()).select_from(Service).where(Service.owner == owner))
    if published >= limit:
        raise Forbidden(f"this account has published {published} services, the most it may; "
                        "delete one before publishing another")


def publish_service(session: Session, owner: str, description: dict[str, Any], limits: AccountLimits,
                    service_id: str | None = None) -> Service:
    """Create a service; it starts `pending` until the worker builds it."""
    check_description(description)
    _check_service_count(session, owner, limits.services)
    now = utcnow()
    service = Service(id=service_id or new_service_id(), owner=owner, status=ServiceStatus.PENDING,
                      version=1, created_at=now, updated_at=now)
    _apply_description(service, description)
    session.add(service)
    work_waiting(session)
    session.commit()
    return service


def replace_service(session: Session, account: str, service_id: str, description: dict[str, Any],
                    force_create: bool, limits: AccountLimits) -> tuple[Service, bool]:
    """Update a service in place (it goes back to `pending`), or create it under this id when
    `force_create` is given. Returns the service and whether it was created."""
    check_service_id(service_id)
    # Locked until the commit: concurrent updates of one service apply one after the other.
    service = session.get(Service, service_id, with_for_update=True)
    if service is None:
        if not force_create:
            raise NotFound("no service has this id; add force-create=true to create it", id=service_id)
        try:
            return publish_service(session, account, description, limits, service_id), True
        except IntegrityError:
            # A concurrent force-create of this id won: this request is an update of it.
            session.rollback()
            service = session.get(Service, service_id, with_for_update=True)
            if service is None:
                raise
    require_owner(service.owner, account, service.id, SERVICE_OF_ANOTHER)
    check_description(description)
    _apply_description(service, description)
    service.status = check_service_transition(service.status, ServiceStatus.PENDING)
    service.status_message = None
    service.version += 1
    service.updated_at = utcnow()
    work_waiting(session)
    session.commit()
    return service, False


def delete_service(session: Session, account: str, service_id: str) -> None:
    service = get_service(session, service_id)
    require_owner(service.owner, account, service.id, SERVICE_OF_ANOTHER)
    session.delete(service)
    session.commit()

