"""Strict validation against the real Kubernetes schemas that `kubernetes-validate` bundles,
collecting every error (its own `validate` stops at the first)."""
from __future__ import annotations

import functools
import re
from typing import Any

import jsonschema
from kubernetes_validate.utils import latest_version, schema_contents
from referencing import Registry, Resource

from workflows.problems import Problem

KUBERNETES_VERSION = latest_version()


@functools.lru_cache(maxsize=32)
def _validator(api_version: str, kind: str) -> jsonschema.protocols.Validator:
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    folder = f"kubernetes-json-schema/v{KUBERNETES_VERSION}-local-strict"
    schema = schema_contents(f"{folder}/{kind.lower()}-{group_version}.json", KUBERNETES_VERSION)
    definitions = schema_contents(f"{folder}/_definitions.json", KUBERNETES_VERSION)
    registry = Resource.from_contents(definitions) @ (Resource.from_contents(schema) @ Registry())
    return jsonschema.validators.Draft202012Validator(schema, registry=registry)


def schema_problems(manifest: dict[str, Any], path_prefix: str = "") -> list[Problem]:
    """Every way the manifest breaks its kind's schema (unknown fields included)."""
    validator = _validator(manifest["apiVersion"], manifest["kind"])
    problems = []
    for error in sorted(validator.iter_errors(manifest), key=lambda e: list(map(str, e.absolute_path))):
        path = ".".join(str(part) for part in error.absolute_path)
        problems.append(Problem(f"{path_prefix}{path}", error.message, error.instance))
    return problems
