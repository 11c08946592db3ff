"""Liveness and readiness, outside authentication and cheap enough for frequent probes."""
from __future__ import annotations

import flask
import sqlalchemy as sa

health = flask.Blueprint("health", __name__)


@health.get("/healthz")
def healthz():
    """The process answers."""
    return {"status": "ok"}


@health.get("/readyz")
def readyz():
    """The database answers; 503 otherwise, so a load balancer stops sending traffic here."""
    database = flask.current_app.extensions["database"]
    try:
        with database.engine.connect() as connection:
            connection.execute(sa.text("select 1"))
    except sa.exc.SQLAlchemyError as error:
        return {"status": "unavailable", "database": type(error).__name__}, 503
    return {"status": "ok", "database": "ok"}
