"""Strict validation of a Workflow against hera's models of the Argo schema.

Hera's pydantic models coerce types and drop unknown keys, so they are run in strict mode (type
errors), and the input's keys are walked along the models' fields (unknown keys, such as the
typo `argumnts`, which the models would silently drop). The models are generated from Argo's own
OpenAPI document (ARGO_VERSION: the installed hera's, checked by the tests). Where Argo's schema
keeps any fields (an executor plugin's arguments), the models have none, so their shape is
checked here as Argo checks it.
"""
from __future__ import annotations

import functools
import typing
from typing import Any

import pydantic

from workflows.problems import Problem

ARGO_VERSION = "4.0.5"  # of the Argo Workflows schema hera's models are generated from


@functools.cache
def _keys(model: type[pydantic.BaseModel]) -> dict[str, Any]:
    """The keys a model accepts (aliases and names) → the annotation of each."""
    keys = {}
    for name, info in model.model_fields.items():
        keys[name] = keys[info.alias or name] = info.annotation
    return keys


@functools.cache
def _models_in(annotation: Any) -> tuple[list[type[pydantic.BaseModel]], Any]:
    """The models an annotation may hold directly, and what a list or mapping holds."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _models_in(typing.get_args(annotation)[0])
    if isinstance(annotation, type) and issubclass(annotation, pydantic.RootModel):
        return _models_in(annotation.model_fields["root"].annotation)
    if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
        return [annotation], None
    if origin in (list, dict):
        return [], typing.get_args(annotation)[-1]
    models, inner = [], None
    for arg in typing.get_args(annotation) if origin is not None else ():
        found, held = _models_in(arg)
        models += found
        inner = inner or held
    return models, inner


def _plugin_problems(value: Any, path: tuple) -> list[Problem]:
    """Argo's plugin template is a mapping of exactly one key, the plugin's name, to its arguments."""
    if isinstance(value, dict) and len(value) == 1:
        return []
    return [Problem(".".join(map(str, path)), "a plugin template names one executor plugin: "
                    "{<plugin name>: <its arguments>}", value)]


def _unknown_keys(value: Any, annotation: Any, path: tuple) -> list[Problem]:
    models, inner = _models_in(annotation)
    if len(models) == 1 and models[0].__name__ == "Plugin":
        return _plugin_problems(value, path)
    if isinstance(value, dict) and len(models) == 1:
        accepted = _keys(models[0])
        problems = []
        for key, item in value.items():
            if key in accepted:
                problems += _unknown_keys(item, accepted[key], (*path, key))
            else:
                problems.append(Problem(".".join(map(str, (*path, key))), "unknown field", item))
        return problems
    if inner is not None and isinstance(value, list):
        return [p for i, item in enumerate(value) for p in _unknown_keys(item, inner, (*path, i))]
    if inner is not None and isinstance(value, dict):
        return [p for key, item in value.items() for p in _unknown_keys(item, inner, (*path, key))]
    return []


def workflow_schema_problems(manifest: dict[str, Any]) -> list[Problem]:
    """Every way the Workflow breaks Argo's schema; paths from the manifest's root."""
    from hera.workflows.models import Workflow  # a second to import: only where argo is checked

    problems = _unknown_keys(manifest, Workflow, ())
    try:
        Workflow.model_validate(manifest, strict=True)
    except pydantic.ValidationError as error:
        problems += [Problem(".".join(str(part) for part in e["loc"]), e["msg"], e.get("input"))
                     for e in error.errors(include_url=False)]
    return problems
