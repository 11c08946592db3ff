"""The web catalogue: pages for people, served by the same application as the API.

A plain Flask Blueprint with Jinja templates (autoescaped), never part of the OpenAPI document.
Its pages call the same domain functions as the API's views (services, orders and artifacts
`logic`, `app.query` for filtering and paging): the rules live there once. Signing in keeps the
account in Flask's signed session cookie; every form carries a CSRF token (Flask-WTF), checked
for this blueprint alone, since the JSON API authenticates with bearer tokens, not cookies."""
from __future__ import annotations

from datetime import timedelta

from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFProtect

from app.config import Config
from app.request_guards import API_PREFIX

csrf = CSRFProtect()


class PagesSessionInterface(SecureCookieSessionInterface):
    """The signed session cookie, for the pages alone: a JSON API request authenticates with its
    bearer token, so it neither reads a cookie (which costs a signature check) nor sets one."""

    def open_session(self, app, request):
        if request.path.startswith(API_PREFIX):
            return self.make_null_session(app)
        return super().open_session(app, request)


def init_app(app: Flask, config: Config) -> None:
    from app.web.oidc import OidcSignIn
    from app.web.views import web

    app.config.update(
        SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax", SESSION_COOKIE_SECURE=config.production,
        SESSION_COOKIE_NAME="marketplace-session",
        PERMANENT_SESSION_LIFETIME=timedelta(seconds=config.token_ttl_seconds),
        # Checked by the web blueprint's own before_request: the JSON API never asks for a CSRF token.
        WTF_CSRF_CHECK_DEFAULT=False, WTF_CSRF_TIME_LIMIT=None, WTF_CSRF_SSL_STRICT=True)
    app.session_interface = PagesSessionInterface()
    csrf.init_app(app)
    # Sign-in through the OIDC issuer, when this application is one of its clients.
    app.extensions["web_oidc"] = OidcSignIn(config.oidc) if config.oidc and config.oidc.client_id else None
    app.register_blueprint(web)
