"""An `argo` workflow and an order's values → an `argoproj.io/v1alpha1` Workflow.

The provider's definition is a Workflow or WorkflowTemplate manifest or a bare `spec`, as an
object or as YAML/JSON text. Order values go into `spec.arguments.parameters` by name (Argo
hands them to templates as `{{workflow.parameters.NAME}}`); nothing is pasted into the text.
The platform owns the object's name, namespace and labels, the service account, the deadline,
the TTL and pod garbage collection: whatever the provider wrote there is replaced.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Sequence

import yaml

from workflows.names import object_annotations, object_labels, object_name
from workflows.problems import Problem
from workflows.settings import CompileSettings

API_VERSION = "argoproj.io/v1alpha1"
KINDS = ("Workflow", "WorkflowTemplate")
ROOT = "workflow.argo"
# Pods are removed a while after the Workflow ends, so the worker can save their logs first.
POD_GC_DELAY = "10m"
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when built in: ~10x faster


class ArgoDefinitionError(ValueError):
    def __init__(self, problem: Problem):
        super().__init__(problem.message)
        self.problem = problem


@dataclass(frozen=True)
class ArgoDefinition:
    """The provider's definition, parsed: its spec, metadata, and the path prefix of the spec
    in the service document (`workflow.argo.spec.` for a manifest, `workflow.argo.` for a spec)."""

    spec: dict[str, Any]
    metadata: dict[str, Any]
    spec_path: str


def parse_argo_definition(definition: dict[str, Any] | str) -> ArgoDefinition:
    document = definition
    if isinstance(definition, str):
        try:
            document = yaml.load(definition, Loader=_YAML_LOADER)
        except yaml.YAMLError as error:
            where = getattr(error, "problem_mark", None)
            at = f" (line {where.line + 1}, column {where.column + 1})" if where else ""
            raise ArgoDefinitionError(Problem(ROOT, f"not valid YAML or JSON{at}", None)) from None
    if not isinstance(document, dict):
        raise ArgoDefinitionError(Problem(ROOT, "must be a Workflow, a WorkflowTemplate or a Workflow spec "
                                          "(a mapping)", None))
    if "templates" in document or "entrypoint" in document:
        return ArgoDefinition(document, {}, f"{ROOT}.")
    kind = document.get("kind", "Workflow")
    if kind not in KINDS:
        raise ArgoDefinitionError(Problem(f"{ROOT}.kind", f"must be one of {', '.join(KINDS)}", kind))
    if document.get("apiVersion", API_VERSION) != API_VERSION:
        raise ArgoDefinitionError(Problem(f"{ROOT}.apiVersion", f"must be {API_VERSION}", document["apiVersion"]))
    spec, metadata = document.get("spec"), document.get("metadata") or {}
    if not isinstance(spec, dict):
        raise ArgoDefinitionError(Problem(f"{ROOT}.spec", "a Workflow needs a spec (a mapping)", spec))
    if not isinstance(metadata, dict):
        raise ArgoDefinitionError(Problem(f"{ROOT}.metadata", "must be a mapping", metadata))
    return ArgoDefinition(spec, metadata, f"{ROOT}.spec.")


def _with_values(arguments: Any, parameters: Sequence[tuple[str, str]]) -> dict[str, Any]:
    arguments = copy.deepcopy(arguments) if isinstance(arguments, dict) else {}
    declared = arguments.setdefault("parameters", [])
    values = dict(parameters)
    for entry in declared:
        if isinstance(entry, dict) and entry.get("name") in values:
            entry["value"] = values.pop(entry["name"])
            entry.pop("valueFrom", None)
    declared.extend({"name": name, "value": value} for name, value in values.items())
    return arguments


def _string_map(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, dict) else {}


def compile_argo_workflow(order_id: str, service_id: str, definition: ArgoDefinition,
                          parameters: Sequence[tuple[str, str]], settings: CompileSettings) -> dict[str, Any]:
    labels, annotations = object_labels(order_id, service_id), object_annotations(order_id, service_id)
    spec = copy.deepcopy(definition.spec)
    spec["arguments"] = _with_values(spec.get("arguments"), parameters)
    spec["serviceAccountName"] = settings.service_account
    spec["activeDeadlineSeconds"] = settings.active_deadline_seconds
    spec["ttlStrategy"] = {"secondsAfterCompletion": settings.ttl_seconds_after_finished}
    spec["podGC"] = {"strategy": "OnWorkflowCompletion", "deleteDelayDuration": POD_GC_DELAY}
    pod_metadata = _string_map(spec.get("podMetadata"))
    # The platform's labels and annotations on every pod, so its pod watch finds the order.
    spec["podMetadata"] = {**pod_metadata, "labels": {**_string_map(pod_metadata.get("labels")), **labels},
                           "annotations": {**_string_map(pod_metadata.get("annotations")), **annotations}}
    return {
        "apiVersion": API_VERSION,
        "kind": "Workflow",
        "metadata": {"name": object_name(order_id), "namespace": settings.namespace,
                     "labels": {**_string_map(definition.metadata.get("labels")), **labels},
                     "annotations": {**_string_map(definition.metadata.get("annotations")), **annotations}},
        "spec": spec,
    }
