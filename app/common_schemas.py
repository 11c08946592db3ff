"""Schemas shared by every resource: error bodies and the links objects of the contract."""
from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

SHORT = validate.Length(max=255)


class ErrorSchema(ma.Schema):
    """The body of every error response."""

    message = ma.fields.String(required=True, metadata={"description": "What went wrong."})
    id = ma.fields.String(metadata={"description": "The resource the error is about (403, 404, 409)."})
    name = ma.fields.String(metadata={"description": "The offending input: a dotted field path, "
                                                     "a query option or a parameter name."})
    value = ma.fields.Raw(allow_none=True, metadata={"description": "The offending value as given."})
    errors = ma.fields.List(ma.fields.Dict(), metadata={
        "description": "Every problem found, each with name, message and value."})


class InvalidParameterValueSchema(ErrorSchema):
    """422: a value was given but is wrong; ``name`` and ``value`` say which."""


class DescribedBySchema(ma.Schema):
    href = ma.fields.String(required=True, metadata={"description": "URL of the JSON schema of the resource."})
    type = ma.fields.String(required=True, metadata={"description": "Media type of that document."})


class SelfLinksSchema(ma.Schema):
    """The contract's SelfT: where a resource lives and what describes it."""

    self = ma.fields.String(required=True, metadata={"description": "URL of the resource."})
    describedBy = ma.fields.Nested(DescribedBySchema, required=True)


class NavLinksSchema(ma.Schema):
    """The contract's NavT: first, next (absent on the last page) and self of a list."""

    first = ma.fields.String(required=True)
    next = ma.fields.String()
    self = ma.fields.String(required=True)


class ReferenceToSchema(ma.Schema):
    """A reference to another party (provider, account): its id and links."""

    id = ma.fields.String(required=True)
    links = ma.fields.Nested(SelfLinksSchema)


class ComputedNested(ma.fields.Nested):
    """A nested object computed from the whole object at dump time, documented by its schema."""

    def __init__(self, nested, compute, **kwargs):
        super().__init__(nested, dump_only=True, **kwargs)
        self.compute = compute

    def get_value(self, obj, attr, accessor=None, default=ma.missing):
        return self.compute(obj)

    def _serialize(self, value, attr, obj, **kwargs):
        # Already in its final JSON shape; the nested schema only documents it.
        return value


class ResponseSchema(ma.Schema):
    """Output schemas leave out what is not set, instead of answering null."""

    @ma.post_dump
    def _drop_unset(self, data, **_kwargs):
        return {key: value for key, value in data.items() if value is not None}


class StrictSchema(ma.Schema):
    """A request schema: an unknown key is an error, not ignored."""

    class Meta:
        unknown = ma.RAISE


class ScalarValue(ma.fields.Field):
    """A JSON string, number or boolean (a parameter default may be written as 5 or true)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, (str, int, float)):
            if isinstance(value, str) and len(value) > 65536:
                raise ma.ValidationError("Longer than maximum length 65536.")
            return value
        raise ma.ValidationError("Must be a string, a number or a boolean.")
