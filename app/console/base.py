"""A command group whose commands talk to the API: one place turns the API's refusals and an
unreachable server into a clear message and a non-zero exit."""
from __future__ import annotations

import click
import httpx

from app.client import ApiError, MarketplaceClient
from app.console import settings

SERVER_KEY = "marketplace.url"


class ApiCommandError(click.ClickException):
    """Exit 1 with the API's own message (and the status), as the user would read it in the body."""

    def __init__(self, error: ApiError):
        detail = ""
        if error.body:
            named = error.body.get("name") or error.body.get("id")
            detail = f" ({named})" if named and str(named) not in error.message else ""
        super().__init__(f"{error.message}{detail} [HTTP {error.status}]")


class ApiGroup(click.Group):
    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except ApiError as error:
            raise ApiCommandError(error) from None
        except httpx.TransportError as error:
            url = ctx.meta.get(SERVER_KEY, "the server")
            raise click.ClickException(f"cannot reach {url}: {error}") from None


def connect() -> MarketplaceClient:
    """A client for the current login; closed when the command ends."""
    ctx = click.get_current_context()
    login = settings.current()
    ctx.meta[SERVER_KEY] = login.url  # meta is shared by every context of the invocation
    return ctx.with_resource(MarketplaceClient(login.url, login.token))
