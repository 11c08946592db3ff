"""Untrusted JSON bytes → a document, measured before it is walked (no Flask here).

The parser is the standard library's `json` (C-accelerated, the reference behaviour, and the
only common parser that keeps a lone surrogate as a character instead of refusing the whole
text, so we can name the field that holds one). Nesting is measured first, on the bytes, by a
linear scan that skips string literals; numbers are kept as text when too long instead of
being converted; duplicate keys are marked. One walk of the parsed document then finds the
first problem and its dotted path.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

from app.config import RequestLimits

_STRING_LITERAL = re.compile(rb'"(?:[^"\\]++|\\.)*+"', re.DOTALL)
_NOT_BRACKET = bytes(set(range(256)) - set(b"[]{}"))
_BRACKET_STEP = [0] * 256
for _open in b"[{":
    _BRACKET_STEP[_open] = 1
for _close in b"]}":
    _BRACKET_STEP[_close] = -1
_SURROGATE = re.compile("[\ud800-\udfff]")
NUL = "\x00"


class BodyProblem(Exception):
    """What is wrong with a body: a body that cannot be read as we allow is a 400 (`path` names
    the key for a duplicate); a value over a limit or not allowed is a 422 naming its path."""

    def __init__(self, message: str, path: tuple | None = None, value: Any = None, status: int | None = None):
        super().__init__(message)
        self.message, self.path, self.value = message, path, value
        self.status = status or (400 if path is None else 422)


@dataclass(frozen=True)
class _LongNumber:
    text: str


class _DuplicateKeys(dict):
    """An object in which `key` appeared more than once (the last value is kept here)."""

    key: str = ""


def nesting_depth(data: bytes) -> int:
    """How deep arrays and objects nest, without parsing: brackets outside string literals."""
    brackets = _STRING_LITERAL.sub(b"", data).translate(None, _NOT_BRACKET)
    return max(accumulate(map(_BRACKET_STEP.__getitem__, brackets)), default=0)


def decode(data: bytes, limits: RequestLimits) -> Any:
    """The document, or BodyProblem naming the first thing over a limit or not allowed."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BodyProblem(f"the request body is not valid UTF-8 (byte {error.start})") from None
    if (depth := nesting_depth(data)) > limits.json_depth:
        raise BodyProblem(f"the JSON body nests {depth} levels deep; at most {limits.json_depth} are allowed")

    def number(kind):
        def parse(literal: str):
            return kind(literal) if len(literal) <= limits.json_number_digits else _LongNumber(literal)
        return parse

    def refuse_constant(name: str):
        raise BodyProblem(f"{name} is not a JSON value")

    def members(pairs: list[tuple[str, Any]]) -> dict:
        document = dict(pairs)
        if len(document) == len(pairs):
            return document
        marked = _DuplicateKeys(document)
        seen = set()
        marked.key = next(key for key, _ in pairs if key in seen or seen.add(key))
        return marked

    try:
        document = json.loads(text, parse_int=number(int), parse_float=number(float),
                              parse_constant=refuse_constant, object_pairs_hook=members)
    except json.JSONDecodeError:
        raise BodyProblem("the request body is not valid JSON") from None
    if (problem := first_problem(document, limits)) is not None:
        raise problem
    return document


def _text_problem(text: str, limits: RequestLimits) -> str | None:
    if len(text) > limits.json_string_chars:
        return f"longer than {limits.json_string_chars} characters"
    if NUL in text:
        return "NUL characters are not allowed"
    if not text.isascii() and _SURROGATE.search(text):
        return "invalid Unicode: a lone surrogate (\\ud800-\\udfff) is not a character"
    return None


def shown(text: str) -> str:
    """A value fit to echo in an error body: lone surrogates become U+FFFD."""
    return _SURROGATE.sub("\ufffd", text)


def first_problem(document: Any, limits: RequestLimits) -> BodyProblem | None:
    """The first value (in document order) that breaks a limit, with its path."""
    stack: list[tuple[tuple, Any]] = [((), document)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, str):
            if (message := _text_problem(node, limits)) is not None:
                value = shown(node) if len(node) <= limits.json_string_chars else None
                return BodyProblem(message, path, value)
        elif isinstance(node, _LongNumber):
            return BodyProblem(f"a number may have at most {limits.json_number_digits} characters", path)
        elif isinstance(node, float) and not math.isfinite(node):
            return BodyProblem("the number is out of range", path)
        elif isinstance(node, (dict, list)):
            if len(node) > limits.json_items:
                return BodyProblem(f"may hold at most {limits.json_items} items", path)
            if isinstance(node, _DuplicateKeys):
                return BodyProblem(f"the key {shown(node.key)!r} appears more than once in one object",
                                   (*path, node.key), status=400)
            children = list(node.items() if isinstance(node, dict) else enumerate(node))
            for key, _value in children:
                if isinstance(key, str) and (message := _text_problem(key, limits)) is not None:
                    value = shown(key) if len(key) <= limits.json_string_chars else None
                    return BodyProblem(f"key {message}", (*path, key), value)
            stack.extend(((*path, key), value) for key, value in reversed(children))
    return None
