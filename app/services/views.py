"""HTTP views of the services resource: parse, call the logic, render."""
from __future__ import annotations

from flask import current_app, request, url_for
from flask.views import MethodView

from app.auth import current_account
from app.extensions import Blueprint
from app.services import logic
from app.services.schemas import (ServiceDescriptionSchema, ServiceListRTSchema, ServiceOrderListRTSchema,
                                  ServiceStatusRTSchema,
                                  ServiceUpdateQuerySchema)
from app.paging import SimplePageSchema, page_links

blp = Blueprint("services", __name__, url_prefix="/1/services",
                description="Publish, discover, update and withdraw analytics services.")


def _session():
    return current_app.extensions["database"].session


@blp.route("")
class Services(MethodView):
    @blp.arguments(SimplePageSchema, location="query", error_status_code=400)
    @blp.response(200, ServiceListRTSchema)
    @blp.documented_errors(400, 401)
    def get(self, page):
        """List services"""
        services = logic.list_services(_session(), page["limit"] + 1, page["offset"])
        return {"services": services[:page["limit"]],
                "links": page_links(page, has_next=len(services) > page["limit"])}

    @blp.arguments(ServiceDescriptionSchema, example={
        "name": "NDVI", "description": "Vegetation index from Sentinel-2 scenes",
        "provider-id": "urn:acme:provider:geo", "account-id": "urn:acme:account:geo",
        "tags": ["ag", "ndvi"], "parameters": [{"name": "scene", "type": "string"}],
        "workflow": {"type": "basic", "basic": {"image": "ghcr.io/acme/ndvi:1.2",
                                                "command": ["python", "-m", "ndvi"]}}})
    @blp.response(201, ServiceStatusRTSchema)
    @blp.documented_errors(400, 401, 409, 415, 422)
    def post(self, description):
        """Publish a service"""
        service = logic.publish_service(_session(), current_account(), description)
        return service, 201, {"Location": url_for("services.ServiceById", service_id=service.id, _external=True)}


@blp.route("/<service_id>")
class ServiceById(MethodView):
    @blp.response(200, ServiceStatusRTSchema)
    @blp.documented_errors(401, 404)
    def get(self, service_id):
        """Read a service"""
        return logic.get_service(_session(), service_id)

    @blp.arguments(ServiceUpdateQuerySchema, location="query", error_status_code=400)
    @blp.arguments(ServiceDescriptionSchema)
    @blp.response(200, ServiceStatusRTSchema)
    @blp.alt_response(201, schema=ServiceStatusRTSchema, success=True,
                      description="Created under this id (force-create=true).")
    @blp.documented_errors(400, 401, 403, 404, 409, 415, 422)
    def put(self, query, description, service_id):
        """Update a service, or create it under this id with force-create"""
        service, created = logic.replace_service(_session(), current_account(), service_id, description,
                                                 query["force_create"])
        if created:
            return service, 201, {"Location": url_for("services.ServiceById", service_id=service.id,
                                                      _external=True)}
        return service

    @blp.response(204)
    @blp.documented_errors(401, 403, 404)
    def delete(self, service_id):
        """Delete a service"""
        logic.delete_service(_session(), current_account(), service_id)


@blp.route("/<service_id>/orders")
class ServiceOrders(MethodView):
    @blp.arguments(SimplePageSchema, location="query", error_status_code=400)
    @blp.response(200, ServiceOrderListRTSchema)
    @blp.documented_errors(400, 401, 404)
    def get(self, page, service_id):
        """List the orders placed for a service"""
        logic.get_service(_session(), service_id)
        return {"orders": [], "links": page_links(page, has_next=False)}
