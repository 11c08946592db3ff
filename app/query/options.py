"""The list options as given: checked for unknown, repeated and conflicting keys, then parsed.
The one parser of every list's options, an order's logs included."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from app.api_errors import BadRequest
from app.query.filtering import MAX_LENGTH as MAX_FILTER_LENGTH
from app.query.filtering import OPTION as FILTER

if TYPE_CHECKING:
    from app.query.listing import ListSpec

DEFAULT_LIMIT = 10
MAX_LIMIT = 1000
MAX_SKIP = 2**31
OPTION_NAMES = ("$filter", "$orderby", "$top", "$skip", "$select", "offset", "limit", "pageToken")
ALIASES = (("$top", "limit"), ("$skip", "offset"))


@dataclass(frozen=True)
class Bound:
    """An option that bounds a date-time field from one side, such as a log's `since` and `until`."""

    option: str
    field: str
    operator: str  # ">=" (from this time on) or "<" (before it)
    description: str


@dataclass(frozen=True)
class ListOptions:
    filter: str | None
    orderby: str | None
    select: str | None
    limit: int
    skip: int
    page_token: str | None
    bounds: dict[str, datetime]  # by option name


def _whole_number(name: str, raw: str, minimum: int, maximum: int) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"{name} must be a whole number", name=name, value=raw) from None
    if not minimum <= value <= maximum:
        raise BadRequest(f"{name} must be between {minimum} and {maximum}", name=name, value=raw)
    return value


def _date_time(name: str, raw: str) -> datetime:
    try:
        # RFC 3339 allows a lower-case t and z, which fromisoformat does not read.
        value = datetime.fromisoformat(raw.upper().replace("Z", "+00:00"))
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:  # a time without a zone means a different instant to each reader
        raise BadRequest(f"{name} must be a date-time with its time zone, e.g. 2026-01-31T12:00:00Z",
                         name=name, value=raw)
    return value


# What `\s` matches in the document's patterns (ECMA-262, as validators read them). Python's own
# str.strip() also strips \x1c-\x1f and \x85: an option of those alone is no blank to a client.
SPACE = " \t\n\v\f\r\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a" \
        "\u2028\u2029\u202f\u205f\u3000\ufeff"


def blank(value: object) -> bool:
    """An option's value that counts as absent (`$filter=`, or spaces alone), as forms and
    generated clients send them."""
    return not str(value).strip(SPACE)


def read_options(args: Iterable[tuple[str, str]], spec: ListSpec) -> ListOptions:
    """Every bad option is a 400 naming it: a misspelt option must never be silently ignored.
    An empty option (`$filter=`) counts as absent, as forms and generated clients send them.
    `args` are the query string's pairs as given, repeated keys included."""
    given: dict[str, list[str]] = {}
    accepted = (*spec.options, *(bound.option for bound in spec.bounds))
    for key, value in args:
        if key not in accepted:  # empty too (`?=`, `?$fliter=`): only an option's own blank counts as absent
            raise BadRequest(f"unknown option {key if key.strip() else repr(key)}; the options are "
                             f"{', '.join(accepted)}", name=key, value=value)
        if key == FILTER and len(value) > MAX_FILTER_LENGTH:  # measured before it may count as blank
            raise BadRequest(f"$filter may be at most {MAX_FILTER_LENGTH} characters", name=key, value=value[:100])
        if not blank(value):
            given.setdefault(key, []).append(value)
    for key, values in given.items():
        if len(values) > 1:
            raise BadRequest(f"{key} is given more than once", name=key, value=values)
    one = {key: values[0] for key, values in given.items()}
    for first, second in ALIASES:
        if first in one and second in one:
            raise BadRequest(f"{first} and {second} mean the same: give one", name=second, value=one[second])
    limit_name = "$top" if "$top" in one else "limit"
    skip_name = "$skip" if "$skip" in one else "offset"
    raw_limit, raw_skip = one.get(limit_name), one.get(skip_name)
    options = ListOptions(
        filter=one.get("$filter"), orderby=one.get("$orderby"), select=one.get("$select"),
        limit=spec.default_limit if raw_limit is None else _whole_number(limit_name, raw_limit, 1, spec.max_limit),
        skip=0 if raw_skip is None else _whole_number(skip_name, raw_skip, 0, MAX_SKIP),
        page_token=one.get("pageToken"),
        bounds={bound.option: _date_time(bound.option, one[bound.option]) for bound in spec.bounds
                if bound.option in one})
    if options.page_token is not None and raw_skip is not None:
        raise BadRequest("pageToken already says where the page starts: drop " + skip_name,
                         name=skip_name, value=raw_skip)
    return options
