"""Who may change a resource: a plain function of the caller's account and the owner's, usable
from any layer (no request, no Flask)."""
from __future__ import annotations

from app.api_errors import Forbidden


def require_owner(owner: str, account: str, resource_id: str, message: str) -> None:
    """Only the owning account may do this; anybody else gets a 403 saying `message`."""
    if owner != account:
        raise Forbidden(message, id=resource_id)
