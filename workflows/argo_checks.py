"""Publish-time checks of an `argo` workflow: what a marketplace must not run (forbidden fields,
pods below the baseline Pod Security Standard, resource templates), what Argo's schema refuses,
and what the schema cannot see (missing templates, undeclared parameters, defaults that would fail
orders). Problems carry paths from the service document's root (`workflow.argo.spec.templates.0.name`)."""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from workflows.argo import ROOT, ArgoDefinition, ArgoDefinitionError, compile_argo_workflow, parse_argo_definition, walk
from workflows.argo_forbidden import forbidden_problems
from workflows.argo_pods import pod_problems
from workflows.argo_resources import resource_problems
from workflows.argo_schema import workflow_schema_problems
from workflows.argo_values import default_problems
from workflows.names import PLACEHOLDER_ORDER_ID
from workflows.problems import Problem
from workflows.settings import CompileSettings


def _template_references(spec: dict[str, Any]) -> Iterator[tuple[tuple, str]]:
    """(path, template name) of every reference to a template of this workflow."""
    if isinstance(spec.get("entrypoint"), str):
        yield ("entrypoint",), spec["entrypoint"]
    if isinstance(spec.get("onExit"), str):
        yield ("onExit",), spec["onExit"]
    for path, key, value in walk(spec.get("templates")):
        if key in ("template", "onExit") and isinstance(value, str):
            yield ("templates", *path, key), value
    for path, key, value in walk(spec.get("hooks")):
        if key == "template" and isinstance(value, str):
            yield ("hooks", *path, key), value


def meaning_problems(definition: ArgoDefinition, parameter_names: Sequence[str],
                     artifact_names: Sequence[str] = ()) -> list[Problem]:
    """What the schema cannot see: the entrypoint and every referenced template exist, and every
    service parameter is declared in `spec.arguments.parameters` (an artifact parameter may be
    declared in `spec.arguments.artifacts` instead, where its file is delivered)."""
    spec, prefix = definition.spec, definition.spec_path
    problems = []
    templates = spec.get("templates") if isinstance(spec.get("templates"), list) else []
    names = {t.get("name") for t in templates if isinstance(t, dict)}
    if not templates:
        problems.append(Problem(prefix + "templates", "a workflow needs at least one template", None))
    if "entrypoint" not in spec:
        problems.append(Problem(prefix + "entrypoint", "name the template the workflow starts with", None))
    for path, name in _template_references(spec):
        if name not in names:
            problems.append(Problem(prefix + ".".join(map(str, path)), f"no template is named {name!r}", name))
    arguments = spec.get("arguments") if isinstance(spec.get("arguments"), dict) else {}
    declared = {p.get("name") for p in arguments.get("parameters") or [] if isinstance(p, dict)}
    listed = arguments.get("artifacts")
    artifacts = {a.get("name") for a in (listed if isinstance(listed, list) else []) if isinstance(a, dict)}
    for name in parameter_names:
        if name not in declared and not (name in artifact_names and name in artifacts):
            problems.append(Problem(prefix + "arguments.parameters",
                                    f"the service parameter {name!r} is not declared here, so the "
                                    "workflow could not use its value", name))
    return problems


def _manifest_path_to_service_path(path: str, definition: ArgoDefinition) -> str:
    if path.startswith("spec."):
        return definition.spec_path + path[len("spec."):]
    return f"{ROOT} ({path or 'Workflow'})"


def safety_problems(definition: ArgoDefinition, settings: CompileSettings) -> list[Problem]:
    """What a marketplace must not run, each field once (the forbidden-field walk and the pods'
    baseline check both see host access)."""
    problems = forbidden_problems(definition, settings)
    reported = {problem.path for problem in problems}
    return problems + [problem for problem in pod_problems(definition) + resource_problems(definition, settings)
                       if problem.path not in reported]


def check_argo_workflow(argo: dict[str, Any] | str, parameters: Sequence[dict[str, Any]],
                        settings: CompileSettings) -> list[Problem]:
    """Every problem of the definition, given the service's parameter definitions."""
    try:
        definition = parse_argo_definition(argo)
    except ArgoDefinitionError as error:
        return [error.problem]
    names = [parameter["name"] for parameter in parameters]
    artifact_names = [parameter["name"] for parameter in parameters if parameter.get("type") == "artifact"]
    problems = (safety_problems(definition, settings) + meaning_problems(definition, names, artifact_names)
                + default_problems(definition, parameters))
    manifest = compile_argo_workflow(PLACEHOLDER_ORDER_ID, "placeholder", definition,
                                     [(name, "value") for name in names], settings)
    problems += [Problem(_manifest_path_to_service_path(p.path, definition), p.message, p.value)
                 for p in workflow_schema_problems(manifest)]
    return problems
