"""Untrusted YAML and JSON, measured before anything walks it.

Text is measured three times before it becomes objects: its length; then, from the parser's
events (no object exists yet), its depth, its size with every alias counted as the anchor it
repeats, and its tags; only then is it loaded. An object (a definition given as JSON) is measured
the same way, iteratively: its serialized size and its depth. So a 600-character alias bomb, a
JSON document nested ten thousand deep or a manifest of a million keys is refused in milliseconds,
with a Problem that names the field, before any code that recurses or copies sees it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from workflows.problems import Problem

MAX_TEXT_BYTES = 256 * 1024
# Aliases may repeat parts of a document, up to this size with every alias expanded (about the size
# of its JSON form); a Workflow must still fit in one Kubernetes object (etcd keeps up to 1.5 MiB).
MAX_EXPANDED_BYTES = 1024 * 1024
MAX_OBJECT_BYTES = MAX_TEXT_BYTES  # the object form, serialized as JSON
MAX_DEPTH = 64  # a Workflow nests about 12 deep, a resource template's Job about 25
_JSON_TAGS = frozenset(f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null", "map", "seq"))
_TIMESTAMP = "tag:yaml.org,2002:timestamp"


class DocumentError(ValueError):
    """The document was refused before it was walked; `problem` says why and where."""

    def __init__(self, problem: Problem):
        super().__init__(problem.message)
        self.problem = problem


class _JsonLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # libyaml when built in: ~10x faster
    """The safe loader without implicit timestamps, so that every value is one JSON knows."""

    yaml_implicit_resolvers = {first: [(tag, pattern) for tag, pattern in resolvers if tag != _TIMESTAMP]
                               for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}


@dataclass
class _Open:
    """A mapping or sequence whose end the parser has not reached: its anchor and size so far."""

    anchor: str | None
    size: int


def _refuse(path: str, message: str, value: Any = None) -> DocumentError:
    return DocumentError(Problem(path, message, value))


def _syntax_error(error: yaml.YAMLError, path: str) -> DocumentError:
    where = getattr(error, "problem_mark", None)
    at = f" (line {where.line + 1}, column {where.column + 1})" if where else ""
    return _refuse(path, f"not valid YAML or JSON{at}")


def _measure_events(text: str, path: str) -> None:
    """Depth, tags and the expanded size of the text, from the parser's events alone."""
    anchors: dict[str, int] = {}  # expanded size of each anchored node
    open_nodes: list[_Open] = []
    expanded = 0
    for event in yaml.parse(text, Loader=_JsonLoader):
        size = None
        if isinstance(event, yaml.NodeEvent) and getattr(event, "tag", None) not in (None, "!", *_JSON_TAGS):
            raise _refuse(path, f"the YAML tag {event.tag} is not allowed: values are text, numbers, booleans, "
                          "null, mappings and lists", event.tag)
        if isinstance(event, yaml.CollectionStartEvent):
            if len(open_nodes) >= MAX_DEPTH:
                raise _refuse(path, f"nested more than {MAX_DEPTH} levels deep")
            open_nodes.append(_Open(event.anchor, 0))
            size = 2
        elif isinstance(event, yaml.CollectionEndEvent):
            closed = open_nodes.pop()
            if closed.anchor is not None:
                anchors[closed.anchor] = closed.size
            if open_nodes:
                open_nodes[-1].size += closed.size
            continue
        elif isinstance(event, yaml.ScalarEvent):
            size = len(event.value) + 3
            if event.anchor is not None:
                anchors[event.anchor] = size
        elif isinstance(event, yaml.AliasEvent):
            if any(node.anchor == event.anchor for node in open_nodes):
                raise _refuse(path, f"the alias *{event.anchor} refers to a node that contains it: "
                              "the document would never end", event.anchor)
            if event.anchor not in anchors:
                raise _refuse(path, f"the alias *{event.anchor} has no anchor &{event.anchor} before it",
                              event.anchor)
            size = anchors[event.anchor]
        if size is None:
            continue
        expanded += size
        if open_nodes:
            open_nodes[-1].size += size
        if expanded > MAX_EXPANDED_BYTES:
            raise _refuse(path, f"larger than {MAX_EXPANDED_BYTES} bytes with its YAML aliases expanded; "
                          "write the repeated parts out, or repeat less")


def load_yaml(text: str, path: str) -> Any:
    """One YAML (or JSON) document, measured before it is loaded; DocumentError names `path`."""
    if len(text.encode()) > MAX_TEXT_BYTES:
        raise _refuse(path, f"longer than {MAX_TEXT_BYTES} bytes")
    try:
        _measure_events(text, path)
    except yaml.YAMLError as error:
        raise _syntax_error(error, path) from None
    try:
        return yaml.load(text, Loader=_JsonLoader)
    except yaml.YAMLError as error:
        raise _syntax_error(error, path) from None
    except ValueError:  # a number of more digits than Python converts (sys.get_int_max_str_digits)
        raise _refuse(path, "a number is too long; quote it if it is text") from None


def _scalar_size(value: Any) -> int:
    if isinstance(value, str):
        return len(value) + 3
    if isinstance(value, int) and not isinstance(value, bool):
        return value.bit_length() // 3 + 2  # about its decimal digits, without converting it
    return 6  # true, false, null, a float


def measure_object(document: Any, path: str) -> None:
    """Refuse an object deeper than MAX_DEPTH or larger than MAX_OBJECT_BYTES as JSON (iteratively:
    nothing here recurses, and the walk stops at the first limit it passes)."""
    pending = [(document, 1)]
    size = 0
    while pending:
        node, depth = pending.pop()
        if depth > MAX_DEPTH:
            raise _refuse(path, f"nested more than {MAX_DEPTH} levels deep")
        if isinstance(node, dict):
            items = node.items()
        elif isinstance(node, list):
            items = ((None, item) for item in node)
        else:
            size += _scalar_size(node)
            items = ()
        size += 2
        for key, item in items:
            size += 1 + (_scalar_size(key) if key is not None else 0)
            if size > MAX_OBJECT_BYTES:
                break
            pending.append((item, depth + 1))
        if size > MAX_OBJECT_BYTES:
            raise _refuse(path, f"larger than {MAX_OBJECT_BYTES} bytes as JSON")
