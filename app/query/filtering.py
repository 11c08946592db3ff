"""`$filter`: OData v4 expressions → a SQLAlchemy condition over declared fields only.

odata-query's parser gives the syntax tree; the translation is ours, so that only declared
fields can be named (nothing reachable through a model can be probed), literals are checked
against the field's type, and `contains()` escapes LIKE wildcards. Input is bounded before
parsing: the parser and any recursive walk stay far from Python's recursion limit.
"""
from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from odata_query import ast
from odata_query.grammar import ODataLexer, ODataParser

from app.api_errors import BadRequest
from app.query.fields import BOOL, DATETIME, INT, NUMBER, STRING, Field, PairCollection, StringCollection

OPTION = "$filter"
MAX_LENGTH = 2000
MAX_DEPTH = 20
MAX_OPERATORS = 64
MAX_IN_ITEMS = 100
_INT_BOUND = 2**63
_BOOLEAN_OPERATORS = re.compile(r"\b(?:and|or|not)\b")
_ALIAS_PREFIX = "hyphenated_field_"
Declared = Field | StringCollection | PairCollection


def _outside_strings(text: str) -> list[tuple[bool, str]]:
    """Split into (is_string_literal, part); OData escapes a quote inside a string as ''."""
    return [(index % 2 == 1, part) for index, part in enumerate(text.split("'"))]


def _guard(text: str) -> None:
    if len(text) > MAX_LENGTH:
        raise BadRequest(f"$filter may be at most {MAX_LENGTH} characters", name=OPTION, value=text)
    depth = deepest = operators = 0
    for is_string, part in _outside_strings(text):
        if is_string:
            continue
        operators += len(_BOOLEAN_OPERATORS.findall(part))
        for char in part:
            depth += (char == "(") - (char == ")")
            deepest = max(deepest, depth)
    if deepest > MAX_DEPTH:
        raise BadRequest(f"$filter may nest parentheses at most {MAX_DEPTH} deep", name=OPTION, value=text)
    if operators > MAX_OPERATORS:
        raise BadRequest(f"$filter may hold at most {MAX_OPERATORS} and/or/not", name=OPTION, value=text)


def _rewrite_hyphenated(text: str, names: list[str]) -> tuple[str, dict[str, str]]:
    """Plain OData identifiers cannot hold '-': give declared hyphenated names an alias first."""
    aliases = {f"{_ALIAS_PREFIX}{i}": name for i, name in enumerate(n for n in names if "-" in n)}
    if not aliases:
        return text, {}
    pattern = re.compile(r"(?<![\w/-])(" + "|".join(re.escape(n) for n in aliases.values()) + r")(?![\w-])")
    by_name = {name: alias for alias, name in aliases.items()}
    parts = [part if is_string else pattern.sub(lambda m: by_name[m.group(1)], part)
             for is_string, part in _outside_strings(text)]
    return "'".join(parts), aliases


class _Translator:
    def __init__(self, declared: Mapping[str, Declared], aliases: Mapping[str, str], text: str):
        self._declared = declared
        self._aliases = aliases
        self._text = text
        self._scope: dict[str, StringCollection | PairCollection] = {}

    def fail(self, message: str) -> BadRequest:
        return BadRequest(f"$filter: {message}", name=OPTION, value=self._text)

    # conditions ----------------------------------------------------------------------------

    def condition(self, node: ast._Node) -> sa.ColumnElement[bool]:
        if isinstance(node, ast.BoolOp):
            combine = sa.and_ if isinstance(node.op, ast.And) else sa.or_
            return combine(self.condition(node.left), self.condition(node.right))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return sa.not_(self.condition(node.operand))
        if isinstance(node, ast.Compare):
            return self.compare(node)
        if isinstance(node, ast.Call):
            return self.text_function(node)
        if isinstance(node, ast.CollectionLambda):
            return self.collection(node)
        if isinstance(node, ast.Boolean):
            return sa.true() if node.val.lower() == "true" else sa.false()
        if isinstance(node, (ast.Identifier, ast.Attribute)):
            expression, kind = self.operand(node)
            if kind == BOOL:
                return expression.is_(True)
        raise self.fail("this is not a condition; compare a field, e.g. name eq 'x'")

    def compare(self, node: ast.Compare) -> sa.ColumnElement[bool]:
        left, left_kind = self.operand(node.left)
        if isinstance(node.comparator, ast.In):
            if not isinstance(node.right, ast.List):
                raise self.fail("in takes a list, e.g. status in ('ready', 'error')")
            if len(node.right.val) > MAX_IN_ITEMS:
                raise self.fail(f"an in list may hold at most {MAX_IN_ITEMS} values")
            values = [self.literal(item, left_kind) for item in node.right.val]
            return left.in_(values)
        if isinstance(node.right, ast.Null) or isinstance(node.left, ast.Null):
            if isinstance(node.comparator, ast.Eq):
                return left.is_(None)
            if isinstance(node.comparator, ast.NotEq):
                return left.is_not(None)
            raise self.fail("null can only be compared with eq or ne")
        if isinstance(node.right, ast._Literal):
            right = self.literal(node.right, left_kind)
        else:
            right, right_kind = self.operand(node.right)
            if {left_kind, right_kind} - {INT, NUMBER} and left_kind != right_kind:
                raise self.fail(f"cannot compare a {left_kind} with a {right_kind}")
        return {ast.Eq: sa.sql.operators.eq, ast.NotEq: sa.sql.operators.ne, ast.Lt: sa.sql.operators.lt,
                ast.LtE: sa.sql.operators.le, ast.Gt: sa.sql.operators.gt,
                ast.GtE: sa.sql.operators.ge}[type(node.comparator)](left, right)

    def text_function(self, node: ast.Call) -> sa.ColumnElement[bool]:
        name = node.func.name
        if name not in ("contains", "startswith", "endswith") or len(node.args) != 2:
            raise self.fail(f"unknown function {name}(); use contains, startswith, endswith, tolower, toupper")
        expression, kind = self.operand(node.args[0])
        if kind != STRING or not isinstance(node.args[1], ast.String):
            raise self.fail(f"{name}() takes a text field and a string, e.g. {name}(name,'abc')")
        text = node.args[1].val
        # autoescape: % and _ in the caller's text are literal characters, not wildcards.
        return getattr(expression, name)(text, autoescape=True)

    def collection(self, node: ast.CollectionLambda) -> sa.ColumnElement[bool]:
        owner = node.owner
        declared = self._declared.get(self._name(owner)) if isinstance(owner, ast.Identifier) else None
        if not isinstance(declared, (StringCollection, PairCollection)):
            raise self.fail("any() and all() apply to collections such as tags or metadata")
        if node.lambda_ is None:
            if isinstance(node.operator, ast.All):
                raise self.fail("all() needs a condition, e.g. tags/all(t: t ne 'x')")
            return sa.exists().where(declared.join)
        variable = node.lambda_.identifier.name
        if variable in self._declared or variable in self._scope:
            raise self.fail(f"the lambda variable {variable} hides a field; choose another name")
        self._scope[variable] = declared
        try:
            inner = self.condition(node.lambda_.expression)
        finally:
            del self._scope[variable]
        if isinstance(node.operator, ast.All):
            return ~sa.exists().where(declared.join, ~inner)
        return sa.exists().where(declared.join, inner)

    # operands -------------------------------------------------------------------------------

    def _name(self, identifier: ast.Identifier) -> str:
        return self._aliases.get(identifier.name, identifier.name)

    def operand(self, node: ast._Node) -> tuple[Any, str]:
        if isinstance(node, ast.Identifier):
            name = self._name(node)
            if name in self._scope:
                collection = self._scope[name]
                if isinstance(collection, StringCollection):
                    return collection.value, STRING
                raise self.fail(f"name a member of {collection.name}: "
                                f"{', '.join(f'{name}/{m}' for m in collection.members)}")
            field = self._declared.get(name)
            if not isinstance(field, Field) or not field.filterable:
                filterable = sorted(n for n, f in self._declared.items() if getattr(f, "filterable", True))
                raise BadRequest(f"$filter: {name} is not a field you can filter on; fields: {', '.join(filterable)}",
                                 name=OPTION, value=self._text)
            return field.column, field.kind
        if isinstance(node, ast.Attribute) and isinstance(node.owner, ast.Identifier):
            collection = self._scope.get(node.owner.name)
            if isinstance(collection, PairCollection) and node.attr in collection.members:
                return collection.members[node.attr], STRING
            raise self.fail(f"{node.owner.name}/{node.attr} is not a member you can filter on")
        if isinstance(node, ast.Call) and node.func.name in ("tolower", "toupper") and len(node.args) == 1:
            expression, kind = self.operand(node.args[0])
            if kind != STRING:
                raise self.fail(f"{node.func.name}() takes a text field")
            return (sa.func.lower if node.func.name == "tolower" else sa.func.upper)(expression), STRING
        if isinstance(node, ast._Literal):
            raise self.fail("put the field on the left, e.g. name eq 'x'")
        raise self.fail("expected a field, a collection member, tolower() or toupper()")

    def literal(self, node: ast._Node, kind: str) -> Any:
        if isinstance(node, ast.String) and kind == STRING:
            return node.val
        if isinstance(node, ast.Integer) and kind in (INT, NUMBER):
            value = int(node.val)
            if not -_INT_BOUND <= value < _INT_BOUND:
                raise self.fail(f"{node.val} is outside the 64-bit range")
            return value
        if isinstance(node, ast.Float) and kind == NUMBER:
            value = float(node.val)
            if not math.isfinite(value):
                raise self.fail(f"{node.val} is not a finite number")
            return value
        if isinstance(node, ast.Boolean) and kind == BOOL:
            return node.val.lower() == "true"
        if isinstance(node, (ast.DateTime, ast.Date)) and kind == DATETIME:
            try:
                value = datetime.fromisoformat(node.val.replace("Z", "+00:00"))
            except ValueError:
                raise self.fail(f"{node.val} is not a date-time") from None
            return value if value.tzinfo else value.replace(tzinfo=UTC)
        shown = getattr(node, "val", type(node).__name__)
        raise self.fail(f"{shown!r} is not a {kind} value" if kind != DATETIME else
                        f"{shown!r} is not a date-time (write e.g. 2026-01-31T12:00:00Z, no quotes)")


def compile_filter(text: str, declared: Mapping[str, Declared]) -> sa.ColumnElement[bool]:
    """The condition a `$filter` stands for, or BadRequest naming `$filter`."""
    _guard(text)
    rewritten, aliases = _rewrite_hyphenated(text, list(declared))
    try:
        tree = ODataParser().parse(ODataLexer().tokenize(rewritten))
    except Exception as error:  # the grammar library raises several types; any is a bad filter
        raise BadRequest(f"$filter is not a valid expression: {error}", name=OPTION, value=text) from None
    if tree is None:
        raise BadRequest("$filter is empty", name=OPTION, value=text)
    return _Translator(declared, aliases, text).condition(tree)
