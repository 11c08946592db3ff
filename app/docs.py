"""Browsable API docs that work offline: Swagger UI's assets come from a Python package."""
from __future__ import annotations

import flask
import swagger_ui_bundle

ASSETS_URL = "/docs/assets/"

docs_assets = flask.Blueprint("docs-assets", __name__, static_folder=swagger_ui_bundle.swagger_ui_path,
                              static_url_path=ASSETS_URL.rstrip("/"))

OPENAPI_SETTINGS = {
    "API_TITLE": "Analytics Service Marketplace",
    "API_VERSION": "1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/",
    "OPENAPI_JSON_PATH": "openapi.json",
    "OPENAPI_SWAGGER_UI_PATH": "docs",
    "OPENAPI_SWAGGER_UI_URL": ASSETS_URL,
    "API_SPEC_OPTIONS": {
        "info": {"description": "Providers publish analytics services; consumers order them. "
                                "Every `/1/` operation needs `Authorization: Bearer <token>`."},
        "security": [{"bearerAuth": []}],
    },
}
