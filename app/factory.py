"""create_app(config): the only place that wires extensions, handlers and blueprints."""
from __future__ import annotations

import inspect
import types
from collections.abc import Callable

from flask import Flask, request

from app import errors, observability, request_guards, web
from app.artifacts.storage import StoreUnavailable
from app.artifacts.stores import make_store
from app.auth import VerifiedTokens, authenticate_request, make_verifier
from app.conditional import RenderedResources
from app.config import Config
from app.db import Database
from app.docs import OPENAPI_SETTINGS, docs_assets
from app.extensions import BEARER_SCHEME, Api
from app.health import health
from app.kept_items import RenderedItems
from app.orders.streams import EventStreams
from app.request_guards import API_PREFIX


def _authenticate():
    if request.path.startswith(API_PREFIX) and request.method != "OPTIONS":
        authenticate_request()


class MarketplaceFlask(Flask):
    """Flask, asking once per function, not on every request (some fifteen times), whether a hook
    or a view is `async def` and must be run to completion."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._is_async: dict[types.FunctionType, bool] = {}  # bounded: the functions of the code

    def ensure_sync(self, func: Callable) -> Callable:
        plain = getattr(func, "__func__", func)  # a view's method is bound anew on every request
        if not isinstance(plain, types.FunctionType):
            return super().ensure_sync(func)
        if (is_async := self._is_async.get(plain)) is None:
            is_async = self._is_async[plain] = inspect.iscoroutinefunction(plain)
        return self.async_to_sync(func) if is_async else func


def create_app(config: Config | None = None) -> Flask:
    config = config or Config.from_env()
    app = MarketplaceFlask("app")  # the package: its root path, as before the factory had a module of its own
    app.config.update(OPENAPI_SETTINGS, SECRET_KEY=config.secret_key, MARKETPLACE=config)
    app.json.sort_keys = False
    app.url_map.merge_slashes = False  # '//' is a 404 in our error shape, not an HTML redirect

    database = Database(config.database_url, config.database_pool_size)
    database.init_app(app)
    app.extensions["token_verifier"] = make_verifier(config)
    app.extensions["verified_tokens"] = VerifiedTokens(config.secret_key, app.extensions["token_verifier"])
    app.extensions["artifact_store"] = make_store(config)
    app.extensions["rendered_resources"] = RenderedResources()
    app.extensions["rendered_items"] = RenderedItems()
    app.extensions["event_streams"] = EventStreams(database.sessions, config.database_url, config.events)

    api = Api(app)
    app.extensions["api"] = api
    api.spec.components.security_scheme("bearerAuth", BEARER_SCHEME)
    observability.init_app(app)
    app.register_blueprint(health)
    errors.init_app(app)
    app.register_error_handler(StoreUnavailable, errors.store_unavailable)
    app.before_request(_authenticate)
    request_guards.init_app(app, config.requests)

    from app.artifacts.uploads import blp as uploads_blueprint
    from app.artifacts.views import blp as artifacts_blueprint
    from app.orders.views import OrderIdConverter
    from app.orders.views import blp as orders_blueprint
    from app.services.views import blp as services_blueprint
    from app.webhooks.views import WebhookIdConverter
    from app.webhooks.views import blp as webhooks_blueprint
    app.url_map.converters["order"] = OrderIdConverter
    api.register_converter(OrderIdConverter, lambda _converter: OrderIdConverter.SCHEMA)
    app.url_map.converters["webhook"] = WebhookIdConverter
    api.register_converter(WebhookIdConverter, lambda _converter: WebhookIdConverter.SCHEMA)
    api.register_blueprint(services_blueprint)
    api.register_blueprint(orders_blueprint)
    api.register_blueprint(artifacts_blueprint)
    api.register_blueprint(uploads_blueprint)
    api.register_blueprint(webhooks_blueprint)
    app.register_blueprint(docs_assets)
    web.init_app(app, config)  # the pages for people: a plain Blueprint, outside the OpenAPI document
    return app

