"""Parameter definitions of a service and the values an order gives them: pure checks."""
from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

from workflows.problems import Problem

PARAMETER_TYPE_DOCS = {
    "string": "any text",
    "int": "a whole number (64-bit), e.g. -3",
    "float": "a finite number, e.g. 0.5",
    "bool": "true or false",
    "option": "one of the parameter's options values",
    "artifact": "a reference to an input data item: a urn: reference or an http(s):// URL",
    "collection": "a urn: reference to a data collection",
}
PARAMETER_TYPES = tuple(PARAMETER_TYPE_DOCS)
NAME_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,62}")
MAX_VALUE_LENGTH = 65536
_INT_BOUND = 2**63
_URN = re.compile(r"urn:[A-Za-z0-9][A-Za-z0-9-]{0,31}:\S+")
_HTTP_URL = re.compile(r"https?://[^\s/?#]+\S*")
_BOOLS = {"true": "true", "false": "false"}


class ParameterValueError(ValueError):
    """An order's value for a parameter is wrong; ``name`` and ``value`` say which."""

    def __init__(self, name: str, value: Any, message: str):
        super().__init__(message)
        self.name, self.value, self.message = name, value, message


def canonical_value(kind: str, value: Any, options: Sequence[dict] = ()) -> str:
    """The value as the workload receives it, or ValueError saying what was expected."""
    if isinstance(value, bool):
        if kind != "bool":
            raise ValueError(f"{json_text(value)} is not {article(kind)}")
        return "true" if value else "false"
    if not isinstance(value, (str, int, float)):
        raise ValueError(f"a value must be a string, a number or a boolean, not {json_text(value)}")
    text = value if isinstance(value, str) else json_text(value)
    if len(text) > MAX_VALUE_LENGTH:
        raise ValueError(f"a value may be at most {MAX_VALUE_LENGTH} characters")
    if "\x00" in text:
        raise ValueError("a value may not contain NUL characters")
    return _CANONICALISERS[kind](value, text, options)


def article(kind: str) -> str:
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"


def json_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, (int, float)) else str(value)


def _as_string(_value, text, _options):
    return text


def _as_int(value, text, _options):
    if isinstance(value, float) and not value.is_integer():
        raise ValueError(f"{text!r} is not an int")
    try:
        number = int(value) if isinstance(value, float) else int(text.strip(), 10)
    except ValueError:
        raise ValueError(f"{text!r} is not an int") from None
    if not -_INT_BOUND <= number < _INT_BOUND:
        raise ValueError(f"{text!r} is outside the 64-bit int range")
    return str(number)


def _as_float(value, text, _options):
    try:
        number = float(value if isinstance(value, (int, float)) else text.strip())
    except ValueError:
        raise ValueError(f"{text!r} is not a float") from None
    if not math.isfinite(number):
        raise ValueError(f"{text!r} is not a finite float")
    return repr(number)


def _as_bool(_value, text, _options):
    try:
        return _BOOLS[text.strip().lower()]
    except KeyError:
        raise ValueError(f"{text!r} is not a bool: use true or false") from None


def _as_option(_value, text, options):
    allowed = [option["value"] for option in options]
    if text not in allowed:
        raise ValueError(f"{text!r} must be one of: {', '.join(allowed)}")
    return text


def _as_artifact(_value, text, _options):
    if not (_URN.fullmatch(text) or _HTTP_URL.fullmatch(text)):
        raise ValueError(f"{text!r} is not an artifact: use a urn: reference or an http(s):// URL")
    return text


def _as_collection(_value, text, _options):
    if not _URN.fullmatch(text):
        raise ValueError(f"{text!r} is not a collection: use a urn: reference")
    return text


_CANONICALISERS = {"string": _as_string, "int": _as_int, "float": _as_float, "bool": _as_bool,
                   "option": _as_option, "artifact": _as_artifact, "collection": _as_collection}


def check_parameter_definitions(definitions: Sequence[dict]) -> list[Problem]:
    """Every problem with a service's parameter definitions, paths from the document root."""
    problems: list[Problem] = []
    seen: set[str] = set()
    for index, definition in enumerate(definitions):
        path = f"parameters.{index}"
        name, kind = definition.get("name"), definition.get("type")
        options = definition.get("options") or []
        if not NAME_PATTERN.fullmatch(name or ""):
            problems.append(Problem(f"{path}.name", "a parameter name starts with a letter and holds only "
                                    "letters, digits, '_', '.' and '-' (at most 63)", name))
        elif name in seen:
            problems.append(Problem(f"{path}.name", f"the parameter {name!r} is defined twice", name))
        seen.add(name)
        if kind not in PARAMETER_TYPE_DOCS:
            problems.append(Problem(f"{path}.type", f"the type must be one of: {', '.join(PARAMETER_TYPES)}",
                                    kind))
            continue
        if kind == "option" and not options:
            problems.append(Problem(f"{path}.options", "an option parameter needs options", options))
        if kind != "option" and options:
            problems.append(Problem(f"{path}.options", "only option parameters have options", options))
        values = [option["value"] for option in options]
        if len(set(values)) != len(values):
            problems.append(Problem(f"{path}.options", "option values must be unique", values))
        if "default" in definition:
            try:
                canonical_value(kind, definition["default"], options)
            except ValueError as error:
                problems.append(Problem(f"{path}.default", str(error), definition["default"]))
        elif definition.get("constant"):
            problems.append(Problem(f"{path}.default", "a constant parameter needs a default", None))
    return problems


def resolve_order_values(definitions: Sequence[dict], given: Sequence[dict]) -> list[tuple[str, str]]:
    """The value every parameter gets for an order, in definition order, or ParameterValueError."""
    by_name = {definition["name"]: definition for definition in definitions}
    values: dict[str, Any] = {}
    for item in given:
        name, value = item["name"], item.get("value")
        if name in values:
            raise ParameterValueError(name, value, f"the parameter {name!r} is given twice")
        if name not in by_name:
            raise ParameterValueError(name, value, f"the service has no parameter {name!r}")
        values[name] = value
    resolved = []
    for definition in definitions:
        name, kind = definition["name"], definition["type"]
        options = definition.get("options") or []
        if name in values:
            try:
                value = canonical_value(kind, values[name], options)
            except ValueError as error:
                raise ParameterValueError(name, values[name], str(error)) from None
            if definition.get("constant") and value != canonical_value(kind, definition["default"], options):
                raise ParameterValueError(name, values[name],
                                          f"the parameter {name!r} is constant: {definition['default']!r}")
            resolved.append((name, value))
        elif "default" in definition:
            resolved.append((name, canonical_value(kind, definition["default"], options)))
        elif not definition.get("optional"):
            raise ParameterValueError(name, None, f"the parameter {name!r} is required")
    return resolved
