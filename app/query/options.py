"""The list options as given: checked for unknown, repeated and conflicting keys, then parsed."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import marshmallow as ma
from werkzeug.datastructures import MultiDict

from app.errors import BadRequest

DEFAULT_LIMIT = 10
MAX_LIMIT = 1000
MAX_SKIP = 2**31
OPTION_NAMES = ("$filter", "$orderby", "$top", "$skip", "$select", "offset", "limit", "pageToken")
ALIASES = (("$top", "limit"), ("$skip", "offset"))


@dataclass(frozen=True)
class ListOptions:
    filter: str | None
    orderby: str | None
    select: str | None
    limit: int
    skip: int
    page_token: str | None


def _whole_number(name: str, raw: str, minimum: int, maximum: int) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"{name} must be a whole number", name=name, value=raw) from None
    if not minimum <= value <= maximum:
        raise BadRequest(f"{name} must be between {minimum} and {maximum}", name=name, value=raw)
    return value


def read_options(args: MultiDict | Mapping[str, str], extra: tuple[str, ...] = ()) -> ListOptions:
    """Every bad option is a 400 naming it: a misspelt option must never be silently ignored."""
    multi = args if isinstance(args, MultiDict) else MultiDict(args)
    for key in multi.keys():
        if key not in OPTION_NAMES and key not in extra:
            raise BadRequest(f"unknown option {key}; the options are {', '.join(OPTION_NAMES)}",
                             name=key, value=multi.get(key))
        if len(multi.getlist(key)) > 1:
            raise BadRequest(f"{key} is given more than once", name=key, value=multi.getlist(key))
    for first, second in ALIASES:
        if first in multi and second in multi:
            raise BadRequest(f"{first} and {second} mean the same: give one", name=second, value=multi[second])
    raw_limit = multi.get("$top", multi.get("limit"))
    raw_skip = multi.get("$skip", multi.get("offset"))
    limit_name = "$top" if "$top" in multi else "limit"
    skip_name = "$skip" if "$skip" in multi else "offset"
    options = ListOptions(
        filter=multi.get("$filter"), orderby=multi.get("$orderby"), select=multi.get("$select"),
        limit=DEFAULT_LIMIT if raw_limit is None else _whole_number(limit_name, raw_limit, 1, MAX_LIMIT),
        skip=0 if raw_skip is None else _whole_number(skip_name, raw_skip, 0, MAX_SKIP),
        page_token=multi.get("pageToken"))
    if options.page_token is not None and raw_skip is not None:
        raise BadRequest("pageToken already says where the page starts: drop " + skip_name,
                         name=skip_name, value=raw_skip)
    return options


class ListOptionsSchema(ma.Schema):
    """For the OpenAPI document; `read_options` is what checks a request."""

    class Meta:
        unknown = ma.INCLUDE  # read_options answers unknown keys with our 400

    filter = ma.fields.String(data_key="$filter", metadata={
        "description": "OData v4 condition over the list's fields, by their API names: eq ne gt ge lt le, "
                       "and or not, in (...), null, contains/startswith/endswith/tolower/toupper, "
                       "tags/any(t: t eq 'x'), metadata/any(m: m/name eq 'a' and m/value eq 'b').",
        "example": "provider-id eq 'urn:acme:provider:geo' and contains(name,'NDVI')"})
    orderby = ma.fields.String(data_key="$orderby", metadata={
        "description": "Comma list of `field [asc|desc]`; ties are broken by id.", "example": "name desc"})
    top = ma.fields.Integer(data_key="$top", metadata={"description": f"Page size (default {DEFAULT_LIMIT}, "
                                                                      f"at most {MAX_LIMIT}); alias of limit."})
    skip = ma.fields.Integer(data_key="$skip", metadata={"description": "Rows to skip; alias of offset."})
    select = ma.fields.String(data_key="$select", metadata={
        "description": "Comma list of fields the items carry (id and links always).", "example": "name,tags"})
    offset = ma.fields.Integer(metadata={"description": "Rows to skip; alias of $skip."})
    limit = ma.fields.Integer(metadata={"description": "Page size; alias of $top."})
    pageToken = ma.fields.String(metadata={"description": "Opaque token of links.next: the page after the "
                                                          "last row seen (stable while rows are added)."})
