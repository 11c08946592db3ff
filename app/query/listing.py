"""A list endpoint declares its fields once; `fetch` applies the options and builds the page.
Every list pages here, an order's logs included: one parser of options, one builder of links."""
from __future__ import annotations

import operator
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlencode

import cachetools
import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.api_errors import BadRequest
from app.direct_reads import PreparedRead
from app.query.fields import DATETIME, Field, PairCollection, StringCollection
from app.query.filtering import compile_filter
from app.query.options import DEFAULT_LIMIT, MAX_LIMIT, OPTION_NAMES, SPACE, Bound, read_options
from app.query.ordering import order_clauses, parse_orderby, partitions, seek_after
from app.query.projection import Projection
from app.query.tokens import make_token, read_token

_POSITION_OPTIONS = ("$skip", "offset", "pageToken")
# Tags-first pages' statements, compiled (app.direct_reads.PreparedRead), by _prepared_key; least
# recently used out first. A page is prepared the second time it is read (_SEEN the first time).
_PREPARED: cachetools.LRUCache = cachetools.LRUCache(maxsize=4096)
_PREPARED_LOCK = threading.Lock()
_SEEN = "seen"
_PAGE_LIMIT = sa.bindparam("page_limit", 0, type_=sa.Integer)  # its value given at each read
_BOUND_OPERATORS = {">=": operator.ge, "<": operator.lt}


class KeptItems(Protocol):
    """Items rendered before, by tag (app.query.projection.Tag): the JSON of each, as its schema
    renders it for this caller; and how often the items of a kind were found kept lately."""

    def get(self, tag: tuple) -> str | None: ...

    def keep(self, tag: tuple, text: str) -> None: ...

    def mostly_kept(self, kind: str) -> bool: ...

    def found(self, kind: str, kept: int, looked_up: int) -> None: ...


@dataclass(frozen=True, slots=True)
class KeptItem:
    """An item of a page whose rendering was kept: its JSON."""

    text: str


@dataclass
class Page:
    """One page of a list, as ListPageSchema renders it. When read with kept items (`kept`), its
    items are KeptItem or objects to render, whose `tags` say under which to keep them."""

    items: list[Any]
    links: dict[str, str]
    select: list[str] | None
    kept: KeptItems | None = None
    tags: list[tuple] | None = None


@dataclass(frozen=True)
class ListSpec:
    fields: list[Field | StringCollection | PairCollection]
    tie_breaker: str
    default_order: list[tuple[str, str]]
    selectable: tuple[str, ...] = ()
    # The options this list takes; without pageToken, the next link pages by offset.
    options: tuple[str, ...] = OPTION_NAMES
    default_limit: int = DEFAULT_LIMIT
    max_limit: int = MAX_LIMIT
    bounds: tuple[Bound, ...] = ()
    declared: dict[str, Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "declared", {f.name: f for f in self.fields})
        if "pageToken" not in self.options and "offset" not in self.options:
            raise ValueError("a list pages by pageToken or by offset: it must take one of them")
        for bound in self.bounds:
            if self.declared[bound.field].kind != DATETIME or bound.operator not in _BOUND_OPERATORS:
                raise ValueError(f"{bound.option}: bounds are >= or < on a date-time field")

    def _scalar_fields(self) -> dict[str, Field]:
        return {name: f for name, f in self.declared.items() if isinstance(f, Field)}

    def _select(self, text: str | None) -> list[str] | None:
        if text is None:
            return None
        names = [name.strip(SPACE) for name in text.split(",")]
        unknown = [name for name in names if name not in self.selectable]
        if unknown or not all(names):
            raise BadRequest(f"$select: {unknown[0] if unknown else 'an empty name'} is not a field you can "
                             f"select; fields: {', '.join(self.selectable)}", name="$select", value=text)
        return names

    def fetch(self, session: Session, base: sa.Select, args: Iterable[tuple[str, str]], secret: str,
              base_url: str, projection: Projection | None = None, kept: KeptItems | None = None) -> Page:
        """The page that the query string's pairs `args` ask for, of the rows of `base` (which
        already limits what the caller may see); `secret` signs page tokens, links start at `base_url`.
        With a `projection`, its items are read in one statement, as plain objects. With `kept`
        too (and a projection with a tag, and no $select), the items kept under their current tag
        are not rendered again; and when the items of this kind were mostly found kept lately, the
        page is read as its items' tags, and only the items not kept are read, in one more
        statement (a page read for the first time, as when following links.next through a list,
        is read in one statement as before)."""
        args = list(args)
        options = read_options(args, self)
        fields = self._scalar_fields()
        terms = parse_orderby(options.orderby, fields, self.default_order, fields[self.tie_breaker])
        select = self._select(options.select)
        sorted_by = [term.field.column for term in terms]
        dialect = session.get_bind().dialect.name
        if kept is None or select is not None or projection is None or projection.tag is None:
            kept = None
        tags_first = kept is not None and kept.mostly_kept(projection.tag.kind)
        # A tags-first page read again by the same caller with the same options runs its statements as
        # compiled when it was read before (building them and SQLAlchemy's execution cost more than they do).
        prepared_key = _prepared_key(self, projection, base, args, dialect) if tags_first and not options.skip \
            else None
        prepared = _prepared(prepared_key) if prepared_key is not None else None
        wanted = options.limit + 1  # one row more than the page holds tells whether a next page exists
        if prepared and prepared is not _SEEN:
            rows = _read_partitions(_runs(session, prepared), wanted)
        else:  # read through SQLAlchemy: seen once, the page is prepared as it is read the second time
            rows = self._read(session, base, options, terms, sorted_by, dialect, projection, tags_first, secret,
                              wanted, prepared_key if prepared is _SEEN else None)
            if prepared is None and prepared_key is not None:
                _keep_prepared(prepared_key, _SEEN)
        tags = None
        if kept is not None:
            items, tags = _kept_or_read(session, base if tags_first else None, dialect, projection,
                                        rows[:options.limit], kept)
        else:
            items = rows[:options.limit] if projection is None else projection.items(rows[:options.limit])
        unpositioned = [(key, value) for key, value in args if key not in _POSITION_OPTIONS]
        links = {"self": _url(base_url, args), "first": _url(base_url, unpositioned)}
        if len(rows) > options.limit:
            if "pageToken" in self.options:
                last = rows[options.limit - 1]
                position = ("pageToken", make_token(secret, options.filter, terms,
                                                    [getattr(last, term.field.column.key) for term in terms]))
            else:
                position = ("offset", str(options.skip + options.limit))
            links["next"] = _url(base_url, [*unpositioned, position])
        return Page(items, links, select, kept, tags)

    def _read(self, session: Session, base: sa.Select, options, terms: list, sorted_by: list, dialect: str,
              projection: Projection | None, tags_first: bool, secret: str, wanted: int,
              prepare_as: tuple | None) -> list:
        """The page's rows (and one more), read through SQLAlchemy; or with `prepare_as`, a
        tags-first page's statements compiled and kept under that key, when they can be."""
        statement = base
        if tags_first:
            statement = projection.tags_statement(base, sorted_by)
        elif projection is not None:
            statement = projection.statement(base, dialect, sorted_by)
        read = session.scalars if projection is None else session.execute
        for bound in self.bounds:
            if bound.option in options.bounds:
                column = self.declared[bound.field].column
                statement = statement.where(_BOUND_OPERATORS[bound.operator](column, options.bounds[bound.option]))
        if options.filter is not None:
            statement = statement.where(compile_filter(options.filter, self.declared))
        values = None
        if options.page_token is not None:
            values = read_token(secret, options.page_token, options.filter, terms)
        if options.skip:
            if values is not None:
                statement = statement.where(seek_after(terms, values))
            return list(read(statement.order_by(*order_clauses(terms)).offset(options.skip).limit(wanted)))
        parts = partitions(terms, values)  # each an index range (app.query.ordering)
        if prepare_as is not None:
            prepared = [PreparedRead.prepare(statement.where(condition).order_by(*order).limit(_PAGE_LIMIT),
                                             session.get_bind().dialect) for condition, order in parts]
            _keep_prepared(prepare_as, tuple(prepared) if all(prepared) else ())  # (): cannot be, read as below
            if all(prepared):
                return _read_partitions(_runs(session, prepared), wanted)
        return _read_partitions((lambda limit, condition=condition, order=order:
                                 list(read(statement.where(condition).order_by(*order).limit(limit)))
                                 for condition, order in parts), wanted)


def _kept_or_read(session: Session, base: sa.Select | None, dialect: str, projection: Projection,
                  rows: list[sa.Row], kept: KeptItems) -> tuple[list[Any], list[tuple]]:
    """The page's items, of `rows`: the kept ones as KeptItem, the others as plain objects. When
    `rows` are their tags alone, the others are read from `base` in one statement (under the tag
    they have then: they may have changed since); an item gone in between is left out, as if
    the page had been read a moment later. Without `base`, `rows` are the items' whole rows."""
    tags = [projection.tag.of(row) for row in rows]
    texts = [kept.get(tag) for tag in tags]
    missing = [i for i, text in enumerate(texts) if text is None]
    kept.found(projection.tag.kind, len(texts) - len(missing), len(texts))
    if base is None:
        fresh = dict(zip((tags[i][1] for i in missing), projection.items([rows[i] for i in missing]), strict=True))
    else:
        ids = [tags[i][1] for i in missing]
        read = projection.items(list(session.execute(projection.tagged_statement(base, dialect, ids)))) if ids else []
        fresh = {projection.tag.of(item)[1]: item for item in read}
    items, item_tags = [], []
    for tag, text in zip(tags, texts, strict=True):
        if text is not None:
            items.append(KeptItem(text))
            item_tags.append(tag)
        elif (item := fresh.get(tag[1])) is not None:
            items.append(item)
            item_tags.append(tag if base is None else projection.tag.of(item))
    return items, item_tags


def _prepared_key(spec: ListSpec, projection: Projection, base: sa.Select, args: list[tuple[str, str]],
                  dialect: str) -> tuple | None:
    """What a page's statements are made of: the list, its projection, `base` (SQLAlchemy's own
    key of a statement, and the values bound in it: the caller's account, say), the query
    string's pairs and the dialect. None when `base` has no such key."""
    key = base._generate_cache_key()  # SQLAlchemy's identity of a statement, as its own cache uses
    if key is None:
        return None
    identity = (id(spec), id(projection), key.key, tuple(bind.effective_value for bind in key.bindparams),
                tuple(args), dialect)
    try:
        hash(identity)
    except TypeError:  # a value bound in `base` that is not hashable (a list)
        return None
    return identity


def _prepared(key: tuple) -> tuple[PreparedRead, ...] | str | None:
    with _PREPARED_LOCK:
        return _PREPARED.get(key)


def _keep_prepared(key: tuple, entry: tuple[PreparedRead, ...] | str) -> None:
    with _PREPARED_LOCK:
        _PREPARED[key] = entry


def _runs(session: Session, prepared: Iterable[PreparedRead]) -> list[Callable[[int], list]]:
    return [lambda limit, read=read: read.run(session, page_limit=limit) for read in prepared]


def _read_partitions(reads: Iterable[Callable[[int], list]], wanted: int) -> list:
    """`wanted` rows, a partition after another (each an index range, app.query.ordering): each
    read is given how many rows are still wanted."""
    rows = []
    for read in reads:
        rows += read(wanted - len(rows))
        if len(rows) == wanted:
            break
    return rows


def _url(base_url: str, args: list[tuple[str, str]]) -> str:
    query = urlencode(args)
    return f"{base_url}?{query}" if query else base_url
