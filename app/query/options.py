"""The list options as given: checked for unknown, repeated and conflicting keys, then parsed."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from werkzeug.datastructures import MultiDict

from app.api_errors import BadRequest

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
    """Every bad option is a 400 naming it: a misspelt option must never be silently ignored.
    An empty option (`$filter=`) counts as absent, as forms and generated clients send them."""
    given = args.items(multi=True) if isinstance(args, MultiDict) else args.items()
    multi = MultiDict([(key, value) for key, value in given if str(value).strip()])
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

