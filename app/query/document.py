"""The list options as the OpenAPI document states them: one exploded query object (each key
its own query parameter, as clients send them), so that the schema can say exactly what
`read_options` accepts, including what it refuses together."""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from app.query.filtering import MAX_LENGTH as MAX_FILTER_LENGTH
from app.query.listing import ListSpec
from app.query.options import MAX_SKIP
from app.query.ordering import MAX_TERMS

BLANK = r"^\s*$"
# Options that cannot be given together: aliases, and a position besides a page token.
EXCLUSIVE = (("$top", "limit"), ("$skip", "offset"), ("pageToken", "$skip"), ("pageToken", "offset"))


def _one_of(names) -> str:
    return "(?:" + "|".join(re.escape(name) for name in names) + ")"


def _select_pattern(names) -> str:
    name = _one_of(names)
    return rf"{BLANK}|^\s*{name}\s*(?:,\s*{name}\s*)*$"


def _orderby_pattern(names) -> str:
    term = _one_of(names) + r"(?:\s+(?:[aA][sS][cC]|[dD][eE][sS][cC]))?"
    return rf"{BLANK}|^\s*{term}\s*(?:,\s*{term}\s*){{0,{MAX_TERMS - 1}}}$"


def list_options_parameter(spec: ListSpec, example: Mapping[str, Any]) -> dict:
    filterable = sorted(name for name, field in spec.declared.items() if getattr(field, "filterable", True))
    sortable = sorted(name for name, field in spec.declared.items() if getattr(field, "sortable", False))
    page = {"type": "integer", "minimum": 1, "maximum": spec.max_limit}
    position = {"type": "integer", "minimum": 0, "maximum": MAX_SKIP}
    aliased = "$top" in spec.options
    every = {
        "$filter": {"type": "string", "maxLength": MAX_FILTER_LENGTH, "description":
                    "OData v4 condition over the fields " + ", ".join(filterable) + ": eq ne gt ge lt le, and or "
                    "not, in (...), null, contains/startswith/endswith/tolower/toupper, tags/any(t: t eq 'x')"
                    + (", metadata/any(m: m/name eq 'a' and m/value eq 'b')" if "metadata" in filterable else "")
                    + ". A field of another type than the literal, or an unknown field, is a 400."},
        "$orderby": {"type": "string", "pattern": _orderby_pattern(sortable), "description":
                     f"Comma list of up to {MAX_TERMS} `field [asc|desc]`; ties are broken by id; a field named "
                     "again is ignored (its first place counts)."},
        "$top": {**page, "description": f"Page size (default {spec.default_limit}); alias of limit."},
        "limit": {**page, "description": "Page size; alias of $top." if aliased else
                  f"Page size (default {spec.default_limit})."},
        "$skip": {**position, "description": "Rows to skip; alias of offset."},
        "offset": {**position, "description": "Rows to skip; alias of $skip." if aliased else "Rows to skip."},
        "$select": {"type": "string", "pattern": _select_pattern(spec.selectable), "description":
                    "Comma list of the item fields to return (id and links always come)."},
        "pageToken": {"type": "string", "description":
                      "The opaque token of links.next, valid with the $filter and $orderby it was made for."},
    }
    properties = {name: every[name] for name in spec.options}
    properties.update({bound.option: {"type": "string", "format": "date-time", "description": bound.description}
                       for bound in spec.bounds})
    exclusive = [pair for pair in EXCLUSIVE if set(pair) <= set(spec.options)]
    schema = {"type": "object", "additionalProperties": False, "properties": properties}
    if exclusive:
        # Empty options count as absent: only two given with values exclude each other.
        schema["not"] = {"anyOf": [{"required": list(pair), "properties": {
            name: {"minLength": 1} for name in pair if properties[name]["type"] == "string"}} for pair in exclusive]}
    return {
        "in": "query", "name": "options", "style": "form", "explode": True, "required": False,
        "description": "List options, each a query parameter of its own. An empty one counts as absent; "
                       "an unknown or repeated one is a 400"
                       + (", and so are two that cannot go together: "
                          + ", ".join(f"{a} with {b}" for a, b in exclusive) if exclusive else "") + ".",
        "schema": schema,
        "example": dict(example),
    }
