"""An `argo` workflow and an order's values → an `argoproj.io/v1alpha1` Workflow.

The provider's definition is a Workflow or WorkflowTemplate manifest or a bare `spec`, as an
object or as YAML/JSON text. Order values go into `spec.arguments.parameters` by name (Argo
hands them to templates as `{{workflow.parameters.NAME}}`); nothing is pasted into the text.
An order's input artifacts go into `spec.arguments.artifacts` by parameter name, as HTTP
artifacts read from the marketplace API with the order's token, so a template that declares
`inputs.artifacts: [{name: <parameter>, path: ...}]` gets the file; output artifacts land in the
platform's artifact repository (`spec.artifactRepositoryRef`), and no definition may name a
storage location of its own (argo_forbidden.py).
The platform owns the object's name, namespace and labels, the service account, the deadline,
the TTL and pod garbage collection: whatever the provider wrote there is replaced. It also owns
its own label and annotation keys and Argo's `workflows.argoproj.io/` ones, which steer Argo's
controller (a provider's `controller-instanceid` hands the Workflow to a controller that does
not exist): they are dropped wherever Argo copies metadata onto the Workflow or its pods, so a
template's metadata cannot override the platform's pod labels either.
"""
from __future__ import annotations

import copy
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from workflows.names import object_annotations, object_labels, object_name
from workflows.order_data import artifact_blob_url
from workflows.problems import Problem
from workflows.settings import CompileSettings
from workflows.untrusted import DocumentError, load_yaml, measure_object

API_VERSION = "argoproj.io/v1alpha1"
KINDS = ("Workflow", "WorkflowTemplate")
ROOT = "workflow.argo"
# Pods are removed a while after the Workflow ends, so the worker can save their logs first.
POD_GC_DELAY = "10m"
ARGO_PREFIX = "workflows.argoproj.io/"  # labels and annotations that steer Argo's controller


class ArgoDefinitionError(DocumentError):
    """The definition cannot be read as a Workflow; `problem` says why and where."""


@dataclass(frozen=True)
class ArgoDefinition:
    """The provider's definition, parsed: its spec, metadata, and the path prefix of the spec
    in the service document (`workflow.argo.spec.` for a manifest, `workflow.argo.` for a spec)."""

    spec: dict[str, Any]
    metadata: dict[str, Any]
    spec_path: str

    def templates(self) -> Iterator[tuple[str, dict[str, Any]]]:
        return templates_of(self.spec, self.spec_path)


def templates_of(spec: dict[str, Any], spec_path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """(path, template) of every template, and of `templateDefaults`, which Argo merges into each."""
    templates = spec.get("templates")
    for index, template in enumerate(templates if isinstance(templates, list) else []):
        if isinstance(template, dict):
            yield f"{spec_path}templates.{index}", template
    if isinstance(spec.get("templateDefaults"), dict):
        yield f"{spec_path}templateDefaults", spec["templateDefaults"]


def walk(node: Any, path: tuple = ()) -> Iterator[tuple[tuple, str, Any]]:
    """Every (path, key, value) of a nested document (measured first: see parse_argo_definition)."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield path, key, value
            yield from walk(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk(value, (*path, index))


def parse_argo_definition(definition: dict[str, Any] | str) -> ArgoDefinition:
    """The definition, measured (size, depth, YAML aliases) before anything walks it."""
    try:
        if isinstance(definition, str):
            document = load_yaml(definition, ROOT)
        else:
            measure_object(definition, ROOT)
            document = definition
    except DocumentError as error:
        raise ArgoDefinitionError(error.problem) from None
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


def _with_input_artifacts(arguments: dict[str, Any], inputs: Sequence[tuple[str, str]], access_token: str | None,
                          settings: CompileSettings) -> None:
    """Each (parameter, artifact id) as an HTTP artifact of the API, in place of a declared one."""
    if not inputs or not settings.api_url_for_workloads:
        return
    names = {parameter for parameter, _ in inputs}
    listed = arguments.get("artifacts")
    declared = [entry for entry in (listed if isinstance(listed, list) else [])
                if not (isinstance(entry, dict) and entry.get("name") in names)]
    for parameter, artifact_id in inputs:
        http: dict[str, Any] = {"url": artifact_blob_url(settings.api_url_for_workloads, artifact_id)}
        if access_token:  # none in a dry run
            http["headers"] = [{"name": "Authorization", "value": f"Bearer {access_token}"}]
        declared.append({"name": parameter, "http": http})
    arguments["artifacts"] = declared


def _string_map(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, dict) else {}


def _provider_keys(entries: Any, platform: dict[str, str]) -> dict[str, Any]:
    """A provider's labels or annotations without the platform's keys and Argo's."""
    return {key: value for key, value in _string_map(entries).items()
            if key not in platform and not str(key).startswith(ARGO_PREFIX)}


def _drop_reserved_keys(metadata: Any, labels: dict[str, str], annotations: dict[str, str]) -> None:
    """Where Argo copies metadata onto the Workflow or its pods (over the platform's own), keep
    only the provider's keys."""
    if not isinstance(metadata, dict):
        return
    for field, platform in (("labels", labels), ("labelsFrom", labels), ("annotations", annotations)):
        if isinstance(metadata.get(field), dict):
            metadata[field] = _provider_keys(metadata[field], platform)


def _manifest_as_text(template: dict[str, Any]) -> None:
    """Argo takes a resource manifest as text: one written as an object is sent as JSON, which YAML
    reads alike; objects it creates belong to the Workflow, so they go when it goes."""
    resource = template.get("resource")
    if isinstance(resource, dict):
        if isinstance(resource.get("manifest"), (dict, list)):
            resource["manifest"] = json.dumps(resource["manifest"])
        resource["setOwnerReference"] = True


def compile_argo_workflow(order_id: str, service_id: str, definition: ArgoDefinition,
                          parameters: Sequence[tuple[str, str]], settings: CompileSettings,
                          inputs: Sequence[tuple[str, str]] = (), access_token: str | None = None) -> dict[str, Any]:
    """`inputs`: (parameter, artifact id) of the artifacts the order hands its workflow."""
    labels, annotations = object_labels(order_id, service_id), object_annotations(order_id, service_id)
    spec = copy.deepcopy(definition.spec)
    spec["arguments"] = _with_values(spec.get("arguments"), parameters)
    _with_input_artifacts(spec["arguments"], inputs, access_token, settings)
    if repository := settings.artifact_repository:
        spec["artifactRepositoryRef"] = {"configMap": repository.config_map, "key": repository.key}
    spec["serviceAccountName"] = settings.service_account
    spec["activeDeadlineSeconds"] = settings.active_deadline_seconds
    spec["ttlStrategy"] = {"secondsAfterCompletion": settings.ttl_seconds_after_finished}
    spec["podGC"] = {"strategy": "OnWorkflowCompletion", "deleteDelayDuration": POD_GC_DELAY}
    pod_metadata = _string_map(spec.get("podMetadata"))
    # The platform's labels and annotations on every pod, so its pod watch finds the order.
    spec["podMetadata"] = {**pod_metadata, "labels": {**_provider_keys(pod_metadata.get("labels"), labels), **labels},
                           "annotations": {**_provider_keys(pod_metadata.get("annotations"), annotations),
                                           **annotations}}
    _drop_reserved_keys(spec.get("workflowMetadata"), labels, annotations)
    for _, template in templates_of(spec):
        _drop_reserved_keys(template.get("metadata"), labels, annotations)
        _manifest_as_text(template)
    return {
        "apiVersion": API_VERSION,
        "kind": "Workflow",
        "metadata": {"name": object_name(order_id), "namespace": settings.namespace,
                     "labels": {**_provider_keys(definition.metadata.get("labels"), labels), **labels},
                     "annotations": {**_provider_keys(definition.metadata.get("annotations"), annotations),
                                     **annotations}},
        "spec": spec,
    }
