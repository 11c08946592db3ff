"""HTTP views of the services resource: parse, call the logic, render."""
from __future__ import annotations

import sqlalchemy as sa
from flask import current_app, url_for
from flask.views import MethodView

from app import examples
from app.auth import current_account
from app.conditional import conditional_get
from app.db import ID_LENGTH
from app.extensions import Blueprint, db_engine, db_session
from app.services import logic
from app.services.listing import SERVICE_ITEMS, SERVICE_LIST
from app.services.models import Service
from app.services.schemas import (
    ServiceDescriptionSchema,
    ServiceListRTSchema,
    ServiceStatusRTSchema,
    ServiceUpdateQuerySchema,
)


def _account_limits():
    return current_app.config["MARKETPLACE"].accounts


blp = Blueprint("services", __name__, url_prefix="/1/services",
                description="Publish, discover, update and withdraw analytics services.")


@blp.route("")
class Services(MethodView):
    @blp.list_view(SERVICE_LIST, ServiceListRTSchema, {
        "$filter": "provider-id eq 'urn:acme:provider:geo' and contains(name,'NDVI')", "$orderby": "name desc",
        "$top": 10, "$select": "name,description"}, response_example=examples.SERVICE_LIST, projection=SERVICE_ITEMS)
    @blp.doc(operationId="listServices")
    def get(self):
        """List services, with OData-style $filter, $orderby, $select and paging"""
        return sa.select(Service)

    @blp.arguments(ServiceDescriptionSchema, example=examples.SERVICE_DESCRIPTION)
    @blp.response(201, ServiceStatusRTSchema, example=examples.SERVICE)
    @blp.documented_errors(400, 403, 409, 413, 415, 422)
    @blp.doc(operationId="createService")
    def post(self, description):
        """Publish a service"""
        service = logic.publish_service(db_session(), current_account(), description, _account_limits())
        return service, 201, {"Location": url_for("services.ServiceById", service_id=service.id, _external=True)}


@blp.route("/<service_id>")
class ServiceById(MethodView):
    @blp.operation("getService", 200, ServiceStatusRTSchema, 404, example=examples.SERVICE, conditional=True)
    def get(self, service_id):
        """Read a service"""
        session = db_session()
        return conditional_get(("service", service_id),
                               lambda: logic.current_service_etag_parts(db_engine(), service_id),
                               lambda: logic.get_service(session, service_id, shown=True),
                               lambda service: logic.service_etag_parts(service.id, service.incarnation,
                                                                        service.revision))

    @blp.arguments(ServiceUpdateQuerySchema, location="query", error_status_code=400)
    @blp.arguments(ServiceDescriptionSchema, example=examples.SERVICE_DESCRIPTION)
    @blp.response(200, ServiceStatusRTSchema, example=examples.SERVICE)
    @blp.alt_response(201, schema=ServiceStatusRTSchema, success=True, example=examples.SERVICE,
                      description="Created under this id (force-create=true).")
    @blp.documented_errors(400, 403, 404, 409, 413, 415, 422)
    @blp.doc(parameters=[{"in": "path", "name": "service_id", "required": True, "description": logic.SERVICE_ID_RULE,
                          "schema": {"type": "string", "maxLength": ID_LENGTH,
                                     "pattern": f"^{logic.SERVICE_ID_PATTERN.pattern}$"}}])
    @blp.doc(operationId="updateService")
    def put(self, query, description, service_id):
        """Update a service, or create it under this id with force-create"""
        service, created = logic.replace_service(db_session(), current_account(), service_id, description,
                                                 query["force_create"], _account_limits())
        if created:
            return service, 201, {"Location": url_for("services.ServiceById", service_id=service.id,
                                                      _external=True)}
        return service

    @blp.response(204)
    @blp.documented_errors(403, 404)
    @blp.doc(operationId="deleteService")
    def delete(self, service_id):
        """Delete a service"""
        logic.delete_service(db_session(), current_account(), service_id)
