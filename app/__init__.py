"""The marketplace: the HTTP service (create_app, in app.factory) and its Python client (app.client).
create_app is imported on first use, so that `import app.client` loads no Flask and no SQLAlchemy."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.factory import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from app.factory import create_app
        return create_app
    raise AttributeError(f"module 'app' has no attribute {name!r}")
