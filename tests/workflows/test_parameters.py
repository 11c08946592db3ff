"""Parameter definitions are checked at publish time, order values at order time."""
from __future__ import annotations

import pytest

from workflows.parameters import ParameterValueError, check_parameter_definitions, resolve_order_values

DEFINITIONS = [
    {"name": "scene", "type": "string"},
    {"name": "count", "type": "int", "default": "3"},
    {"name": "ratio", "type": "float", "optional": True},
    {"name": "fast", "type": "bool", "default": True},
    {"name": "mode", "type": "option", "default": "a", "options": [{"value": "a"}, {"value": "b"}]},
    {"name": "input", "type": "artifact", "optional": True},
    {"name": "area", "type": "collection", "optional": True},
    {"name": "version", "type": "string", "default": "v1", "constant": True},
]


def paths(definitions):
    return [(p.path, p.value) for p in check_parameter_definitions(definitions)]


def test_good_definitions_have_no_problem():
    assert check_parameter_definitions(DEFINITIONS) == []


@pytest.mark.parametrize("definition, path, value", [
    ({"name": "x", "type": "text"}, "parameters.0.type", "text"),
    ({"name": "1x", "type": "string"}, "parameters.0.name", "1x"),
    ({"name": "x", "type": "int", "default": "3.5"}, "parameters.0.default", "3.5"),
    ({"name": "x", "type": "float", "default": "nan"}, "parameters.0.default", "nan"),
    ({"name": "x", "type": "bool", "default": "maybe"}, "parameters.0.default", "maybe"),
    ({"name": "x", "type": "option"}, "parameters.0.options", []),
    ({"name": "x", "type": "string", "options": [{"value": "a"}]}, "parameters.0.options", [{"value": "a"}]),
    ({"name": "x", "type": "option", "options": [{"value": "a"}, {"value": "a"}]}, "parameters.0.options",
     ["a", "a"]),
    ({"name": "x", "type": "option", "default": "c", "options": [{"value": "a"}]}, "parameters.0.default", "c"),
    ({"name": "x", "type": "artifact", "default": "/etc/passwd"}, "parameters.0.default", "/etc/passwd"),
    ({"name": "x", "type": "collection", "default": "https://x.org"}, "parameters.0.default", "https://x.org"),
    ({"name": "x", "type": "string", "constant": True}, "parameters.0.default", None),
])
def test_each_bad_definition_is_named_by_its_path(definition, path, value):
    assert paths([definition]) == [(path, value)]


def test_duplicate_names_are_a_problem_of_the_second():
    assert paths([{"name": "x", "type": "string"}, {"name": "x", "type": "int"}]) == [("parameters.1.name", "x")]


def test_values_are_resolved_in_definition_order_with_defaults_and_canonical_forms():
    given = [{"name": "ratio", "value": 0.5}, {"name": "scene", "value": "S2A"}, {"name": "count", "value": 7},
             {"name": "fast", "value": "FALSE"}, {"name": "input", "value": "urn:acme:item:1"}]
    assert resolve_order_values(DEFINITIONS, given) == [
        ("scene", "S2A"), ("count", "7"), ("ratio", "0.5"), ("fast", "false"), ("mode", "a"),
        ("input", "urn:acme:item:1"), ("version", "v1")]


@pytest.mark.parametrize("given, name, value", [
    ([{"name": "scene", "value": "a"}, {"name": "scene", "value": "b"}], "scene", "b"),
    ([{"name": "nope", "value": "1"}], "nope", "1"),
    ([{"name": "scene", "value": "a"}, {"name": "count", "value": "many"}], "count", "many"),
    ([{"name": "scene", "value": "a"}, {"name": "count", "value": 2**64}], "count", 2**64),
    ([{"name": "scene", "value": "a"}, {"name": "fast", "value": 1}], "fast", 1),
    ([{"name": "scene", "value": "a"}, {"name": "mode", "value": "z"}], "mode", "z"),
    ([{"name": "scene", "value": "a"}, {"name": "version", "value": "v2"}], "version", "v2"),
    ([{"name": "scene", "value": {"a": 1}}], "scene", {"a": 1}),
    ([{"name": "scene", "value": None}], "scene", None),
    ([{"name": "scene", "value": "a\x00b"}], "scene", "a\x00b"),
    ([], "scene", None),
])
def test_each_wrong_value_names_the_parameter_and_the_value(given, name, value):
    with pytest.raises(ParameterValueError) as caught:
        resolve_order_values(DEFINITIONS, given)
    assert (caught.value.name, caught.value.value) == (name, value)


def test_the_same_constant_value_is_accepted():
    given = [{"name": "scene", "value": "a"}, {"name": "version", "value": "v1"}]
    assert ("version", "v1") in resolve_order_values(DEFINITIONS, given)


def test_hostile_values_stay_literal():
    hostile = "; rm -rf / {{workflow.name}} $(id)"
    assert resolve_order_values(DEFINITIONS, [{"name": "scene", "value": hostile}])[0] == ("scene", hostile)
