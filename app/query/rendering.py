"""A schema's dump of one object, compiled once into closures: what `schema.dump(obj)` gives,
key for key, without marshmallow's per-field dispatch (accessor, default and hook look-ups for
every value of every item), which made a list page cost several times its SQL.

The schema stays the one source of truth: its dump fields, their data keys and defaults, their
own `get_value` and `_serialize` where a field defines them, and its post_dump hooks are read
from it; only Nested and List, which hold the cost of a page, are walked here, into compiled
nested schemas. A schema with pre_dump hooks, or dotted attributes, is dumped by marshmallow."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import marshmallow as ma
from marshmallow.decorators import POST_DUMP, PRE_DUMP
from marshmallow.utils import get_value as _marshmallow_get_value

Dump = Callable[[Any], Any]
Format = Callable[[Any, str, Any], Any]
_MISSING = ma.missing
_Field = ma.fields.Field


def compiled_dump(schema: ma.Schema) -> Dump:
    """`schema.dump` for one object (or a list when the schema is `many`), compiled on first use
    and kept on the schema instance, whose fields are bound for good."""
    dump = schema.__dict__.get("_compiled_dump")
    if dump is None:
        dump = schema.__dict__["_compiled_dump"] = _compile(schema)
    return dump


def _compile(schema: ma.Schema) -> Dump:
    if schema._hooks[PRE_DUMP] or any("." in (field.attribute or name) for name, field in schema.dump_fields.items()):
        return lambda obj: ma.Schema.dump(schema, obj)
    steps = [(field.data_key if field.data_key is not None else name, _getter(schema, name, field),
              _formatter(field), field.dump_default, name) for name, field in schema.dump_fields.items()]
    many = bool(schema.many)
    # As marshmallow runs them: item hooks on each item, then collection hooks on the whole.
    item_hooks, collection_hooks = ([(getattr(schema, attr_name), kwargs.get("pass_original", False))
                                     for attr_name, hook_many, kwargs in schema._hooks[POST_DUMP]
                                     if hook_many == collection] for collection in (False, True))

    def run(hooks: list, data: Any, original: Any) -> Any:
        for hook, pass_original in hooks:
            data = hook(data, original, many=many) if pass_original else hook(data, many=many)
        return data

    def dump_one(obj: Any) -> dict:
        data = {}
        for key, get, format_value, default, name in steps:
            value = get(obj)
            if value is _MISSING:
                value = default() if callable(default) else default
                if value is _MISSING:
                    continue
            data[key] = format_value(value, name, obj)
        return run(item_hooks, data, obj)

    if many:
        return lambda objs: run(collection_hooks, [dump_one(obj) for obj in objs], objs)
    return lambda obj: run(collection_hooks, dump_one(obj), obj)


def _getter(schema: ma.Schema, name: str, field: _Field) -> Callable[[Any], Any]:
    if not field._CHECK_ATTRIBUTE:
        return lambda _obj: None
    if type(field).get_value is not _Field.get_value or type(schema).get_attribute is not ma.Schema.get_attribute:
        accessor = schema.get_attribute
        return lambda obj: field.get_value(obj, name, accessor=accessor)
    key = field.attribute or name

    def get(obj: Any) -> Any:
        # marshmallow's get_value: a key first for what has items (a dict, a Row), else the attribute.
        if hasattr(obj, "__getitem__"):
            return _marshmallow_get_value(obj, key, _MISSING)
        return getattr(obj, key, _MISSING)
    return get


def _formatter(field: _Field) -> Format:
    serialize = type(field)._serialize
    if serialize is ma.fields.String._serialize:
        return lambda value, _attr, _obj: value if value is None or type(value) is str else field._serialize(
            value, _attr, _obj)
    if serialize is ma.fields.Nested._serialize:
        return _nested_formatter(field)
    if serialize is ma.fields.List._serialize:
        inner = _formatter(field.inner)
        return lambda value, attr, obj: None if value is None else [inner(each, attr, obj) for each in value]
    return field._serialize


def _nested_formatter(field: ma.fields.Nested) -> Format:
    schema = field.schema
    many = bool(schema.many or field.many)
    if many != schema.many:  # a single-object schema, asked for a list by the field
        return lambda value, attr, obj: field._serialize(value, attr, obj)
    dump = compiled_dump(schema)
    return lambda value, _attr, _obj: None if value is None else dump(value)
