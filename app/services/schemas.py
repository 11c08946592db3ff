"""The services API's JSON, exactly as the contract spells it (hyphenated keys)."""
from __future__ import annotations

import json

import marshmallow as ma
from marshmallow import validate

from app.common_schemas import (
    SHORT,
    ComputedNested,
    ReferenceToSchema,
    ResponseSchema,
    ScalarValue,
    SelfLinksSchema,
    StrictSchema,
)
from app.links import resource_links
from app.query.schemas import ListPageSchema
from app.status import ServiceStatus
from workflows.parameters import NAME_PATTERN, PARAMETER_TYPE_DOCS, PARAMETER_TYPES

MEDIUM = validate.Length(max=4096)
WORKFLOW_TYPES = ("basic", "argo")
MAX_ARGO_DOCUMENT = 256 * 1024  # characters of an argo definition given as text


def _list(item, max_items: int, **kwargs):
    return ma.fields.List(item, validate=validate.Length(max=max_items), **kwargs)


class MetadataEntrySchema(StrictSchema):
    name = ma.fields.String(required=True, validate=validate.Length(min=1, max=255))
    value = ma.fields.String(required=True, validate=validate.Length(max=1024))


# Whole-value patterns, so that the OpenAPI document states exactly what is accepted. Spaces are
# spelled out: what `\S` excludes differs between Python, JavaScript and generators.
_NOT_SPACE = r"[^ \t\n\r\f\v]"
HTTP_URL = rf"https?://[^ \t\n\r\f\v/?#]+{_NOT_SPACE}*"
URN = rf"urn:[A-Za-z0-9][A-Za-z0-9-]{{0,31}}:{_NOT_SPACE}+"
REFERENCE_VALUE = validate.Regexp(rf"^(?:{HTTP_URL}|{URN})$")


class ReferenceSchema(StrictSchema):
    title = ma.fields.String(validate=SHORT)
    uri = ma.fields.String(required=True, validate=[validate.Length(max=2048), REFERENCE_VALUE],
                           metadata={"description": "An http(s) URL or a URN."})


class ParameterOptionSchema(StrictSchema):
    value = ma.fields.String(required=True, validate=validate.Length(min=1, max=1024))
    description = ma.fields.String(validate=MEDIUM)


class ParameterDefinitionSchema(StrictSchema):
    name = ma.fields.String(required=True, validate=[validate.Length(min=1, max=63),
                                                    validate.Regexp(rf"^{NAME_PATTERN.pattern}$")])
    type = ma.fields.String(required=True, validate=validate.OneOf(PARAMETER_TYPES), metadata={
        "description": "; ".join(f"`{kind}`: {doc}" for kind, doc in PARAMETER_TYPE_DOCS.items())})
    label = ma.fields.String(validate=SHORT)
    description = ma.fields.String(validate=MEDIUM)
    help = ma.fields.String(validate=MEDIUM)
    unit = ma.fields.String(validate=validate.Length(max=64))
    default = ScalarValue(metadata={
        "oneOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}],
        "description": "Value used when the order gives none; valid for the type; read back as text."})
    optional = ma.fields.Boolean(load_default=False, dump_default=False)
    constant = ma.fields.Boolean(load_default=False, dump_default=False)
    options = _list(ma.fields.Nested(ParameterOptionSchema), 200)


class ResourceAmountSchema(StrictSchema):
    """A Kubernetes quantity for request and limit, e.g. "500m" cpu or "256Mi" memory."""

    request = ma.fields.String(validate=validate.Length(min=1, max=32))
    limit = ma.fields.String(validate=validate.Length(min=1, max=32))


class BasicWorkflowSchema(StrictSchema):
    image = ma.fields.String(required=True, validate=validate.Length(min=1, max=512),
                             metadata={"example": "ghcr.io/acme/ndvi:1.2"})
    command = _list(ma.fields.String(validate=MEDIUM), 256)
    cpu = ma.fields.Nested(ResourceAmountSchema)
    memory = ma.fields.Nested(ResourceAmountSchema)


class ArgoDefinition(ma.fields.Field):
    """An Argo Workflow (or WorkflowTemplate, or bare spec) as a JSON object or a YAML/JSON text."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            if not value.strip():
                raise ma.ValidationError("Must not be empty.")
            if len(value) > MAX_ARGO_DOCUMENT:
                raise ma.ValidationError(f"Longer than maximum length {MAX_ARGO_DOCUMENT}.")
            return value
        if isinstance(value, dict) and value:
            # The same cap as the text form, on the object as it would be written compactly.
            if len(json.dumps(value, separators=(",", ":"), ensure_ascii=False)) > MAX_ARGO_DOCUMENT:
                raise ma.ValidationError(f"Longer than maximum length {MAX_ARGO_DOCUMENT} (written as JSON).")
            return value
        raise ma.ValidationError("Must be an Argo Workflow as a JSON object or a YAML/JSON text.")


class WorkflowSchema(StrictSchema):
    type = ma.fields.String(required=True, validate=validate.OneOf(WORKFLOW_TYPES))
    basic = ma.fields.Nested(BasicWorkflowSchema)
    opts = ma.fields.Nested(BasicWorkflowSchema, metadata={
        "deprecated": True, "description": "Deprecated alias of `basic`, same schema."})
    argo = ArgoDefinition(metadata={
        "description": "Argo Workflow definition: a Workflow or WorkflowTemplate manifest or a bare spec, "
                       f"as an object or as YAML/JSON text, of at most {MAX_ARGO_DOCUMENT} characters "
                       "(an object: as compact JSON).",
        "oneOf": [{"type": "object", "minProperties": 1},
                  {"type": "string", "minLength": 1, "maxLength": MAX_ARGO_DOCUMENT, "pattern": r"\S"}]})

    @ma.validates_schema
    def _has_definition_of_its_type(self, data, **_kwargs):
        kind = data.get("type")
        if kind == "basic" and "basic" not in data and "opts" not in data:
            raise ma.ValidationError("Missing data for required field (workflow type basic).", "basic")
        if kind == "argo" and "argo" not in data:
            raise ma.ValidationError("Missing data for required field (workflow type argo).", "argo")

    @ma.post_load
    def _normalise(self, data, **_kwargs):
        """Keep only the definition of the workflow's type; `opts` becomes `basic`."""
        kind = data["type"]
        definition = data.get("basic", data.get("opts")) if kind == "basic" else data["argo"]
        return {"type": kind, kind: definition}


class ServiceDescriptionSchema(StrictSchema):
    """ServiceDescriptionT: what a provider publishes."""

    account_id = ma.fields.String(data_key="account-id", required=True, validate=validate.Length(min=1, max=255))
    banner = ma.fields.String(validate=[validate.Length(max=2048), validate.Regexp(rf"^(?:{HTTP_URL})?$")],
                              metadata={"description": "An http(s) URL of an image; empty: no banner."})
    description = ma.fields.String(required=True, validate=validate.Length(min=1, max=20000))
    metadata_entries = _list(ma.fields.Nested(MetadataEntrySchema), 100, data_key="metadata", load_default=list)
    name = ma.fields.String(validate=SHORT)
    parameters = _list(ma.fields.Nested(ParameterDefinitionSchema), 200, required=True)
    provider_id = ma.fields.String(data_key="provider-id", required=True, validate=validate.Length(min=1, max=255))
    provider_ref = ma.fields.String(data_key="provider-ref", validate=SHORT)
    references = _list(ma.fields.Nested(ReferenceSchema), 100, load_default=list)
    tags = _list(ma.fields.String(validate=validate.Length(min=1, max=128)), 64, load_default=list)
    workflow = ma.fields.Nested(WorkflowSchema, required=True, metadata={
        "description": "A `basic` workflow gives `basic` (or the deprecated `opts`), an `argo` one gives `argo`.",
        "oneOf": [{"properties": {"type": {"enum": ["basic"]}}, "anyOf": [{"required": ["basic"]},
                                                                           {"required": ["opts"]}]},
                  {"properties": {"type": {"enum": ["argo"]}}, "required": ["argo"]}]})

    @ma.post_load
    def _normalise(self, data, **_kwargs):
        data["tags"] = list(dict.fromkeys(data["tags"]))
        if not data.get("banner"):
            data.pop("banner", None)
        return data


class ServiceUpdateQuerySchema(StrictSchema):
    force_create = ma.fields.Boolean(data_key="force-create", load_default=False, metadata={
        "description": "Create the service under this id when none exists (201)."})


def _service_links(service):
    return resource_links("services.ServiceById", "ServiceStatusRT", service_id=service.id)


def _party(party_id: str) -> dict:
    return {"id": party_id}


class ServiceStatusRTSchema(ResponseSchema):
    """ServiceStatusRT: a service as the API shows it."""

    id = ma.fields.String(required=True)
    name = ma.fields.String()
    description = ma.fields.String()
    status = ma.fields.String(required=True, validate=validate.OneOf([s.value for s in ServiceStatus]))
    status_message = ma.fields.String(data_key="status-message", metadata={
        "description": "Why the service is in error, when it is."})
    account = ComputedNested(ReferenceToSchema, lambda s: _party(s.account_id))
    provider = ComputedNested(ReferenceToSchema, lambda s: _party(s.provider_id))
    provider_ref = ma.fields.String(data_key="provider-ref")
    owner = ma.fields.String(metadata={"description": "The account that published the service and may change it."})
    banner = ma.fields.String()
    metadata_entries = ma.fields.List(ma.fields.Nested(MetadataEntrySchema), data_key="metadata")
    parameters = ma.fields.List(ma.fields.Nested(ParameterDefinitionSchema), required=True)
    references = ma.fields.List(ma.fields.Nested(ReferenceSchema))
    tags = ma.fields.List(ma.fields.String())
    workflow = ma.fields.Dict(metadata={"description": "The workflow as published (`opts` normalised to `basic`)."})
    created_at = ma.fields.AwareDateTime(data_key="created-at")
    updated_at = ma.fields.AwareDateTime(data_key="updated-at")
    links = ComputedNested(SelfLinksSchema, _service_links, required=True)


class ServiceListItemSchema(ResponseSchema):
    id = ma.fields.String(required=True)
    name = ma.fields.String()
    description = ma.fields.String()
    provider = ComputedNested(ReferenceToSchema, lambda s: _party(s.provider_id))
    links = ComputedNested(SelfLinksSchema, _service_links, required=True)


class ServiceListRTSchema(ListPageSchema):
    ITEMS = "services"

    services = ma.fields.List(ma.fields.Nested(ServiceListItemSchema), required=True, attribute="items")

