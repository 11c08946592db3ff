"""The values an argo workflow's parameters take: an order's, and the defaults that stand in for
it. Argo expands `{{…}}` in a value (it could read other parameters or secrets the workflow uses)
and fails a Workflow whose argument value is not in the argument's `enum`; so order values are
checked at order time, and defaults (the service's parameters and options, the definition's own
argument values) at publish, where a bad one would otherwise refuse every order that uses it.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from workflows.argo import ArgoDefinition
from workflows.problems import Problem

_ARGUMENT_VALUES = ("value", "default")


def _declared_arguments(definition: ArgoDefinition) -> list[tuple[int, dict[str, Any]]]:
    arguments = definition.spec.get("arguments")
    declared = arguments.get("parameters") if isinstance(arguments, dict) else None
    return [(index, entry) for index, entry in enumerate(declared if isinstance(declared, list) else [])
            if isinstance(entry, dict)]


def _enums(definition: ArgoDefinition | None) -> dict[str, list[Any]]:
    """The `enum` of each declared argument that has one, by name."""
    if definition is None:
        return {}
    return {entry.get("name"): entry["enum"] for _, entry in _declared_arguments(definition)
            if isinstance(entry.get("enum"), list)}


def _expansion(path: str, value: str) -> list[Problem]:
    return [Problem(path, "a value for an argo workflow may not contain '{{'", value)] if "{{" in value else []


def _outside_enum(path: str, name: str, value: str, enums: dict[str, list[Any]]) -> list[Problem]:
    if name not in enums or value in enums[name]:
        return []
    allowed = ", ".join(map(str, enums[name]))
    return [Problem(path, f"{value!r} is not a value the workflow's argument {name!r} allows: {allowed}", value)]


def order_value_problems(values: Sequence[tuple[str, str]], definition: ArgoDefinition | None = None) -> list[Problem]:
    """An order's values (name, canonical text) that Argo would expand or refuse."""
    enums = _enums(definition)
    return [problem for name, value in values
            for problem in _expansion(name, value) + _outside_enum(name, name, value, enums)]


def _service_default_problems(parameters: Sequence[dict[str, Any]], enums: dict[str, list[Any]]) -> list[Problem]:
    problems = []
    for index, parameter in enumerate(parameters):
        name = parameter.get("name")
        candidates = [(f"parameters.{index}.default", parameter.get("default"))]
        candidates += [(f"parameters.{index}.options.{number}.value", option.get("value"))
                       for number, option in enumerate(parameter.get("options") or []) if isinstance(option, dict)]
        for path, value in candidates:
            if isinstance(value, str):
                problems += _expansion(path, value) + _outside_enum(path, name, value, enums)
    return problems


def default_problems(definition: ArgoDefinition, parameters: Sequence[dict[str, Any]]) -> list[Problem]:
    """Defaults that would fail orders: a service parameter's default or option value, and a value or
    default written in the definition's arguments, outside the argument's enum or, where it stands in
    for an order's value (a service parameter), containing `{{`."""
    enums = _enums(definition)
    service_parameters = {parameter.get("name") for parameter in parameters}
    problems = _service_default_problems(parameters, enums)
    for index, argument in _declared_arguments(definition):
        name = argument.get("name")
        for field in _ARGUMENT_VALUES:
            value, path = argument.get(field), f"{definition.spec_path}arguments.parameters.{index}.{field}"
            if isinstance(value, str):
                problems += _outside_enum(path, name, value, enums)
                problems += _expansion(path, value) if name in service_parameters else []
    return problems
