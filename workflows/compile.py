"""One entry point for every workflow type: an order → the manifest that runs it, and the
checks of that manifest and of the order's values."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from workflows.argo import ArgoDefinitionError, compile_argo_workflow, parse_argo_definition
from workflows.argo_checks import check_argo_workflow, safety_problems
from workflows.argo_schema import workflow_schema_problems
from workflows.argo_values import order_value_problems
from workflows.basic import compile_basic_job
from workflows.checks import check_basic_workflow, job_problems
from workflows.job_data import helpers_configured
from workflows.problems import Problem
from workflows.settings import CompileSettings


class OrderDataUnavailable(ValueError):
    """The order hands its workload input artifacts, and the platform is not set up to deliver them."""


def compile_order(order_id: str, service_id: str, workflow: dict[str, Any],
                  parameters: Sequence[tuple[str, str]], settings: CompileSettings,
                  inputs: Sequence[tuple[str, str]] = (), access_token: str | None = None) -> dict[str, Any]:
    """A `batch/v1` Job for `basic`, an `argoproj.io/v1alpha1` Workflow for `argo`; `inputs`:
    (parameter, artifact id) of the order's input artifacts, fetched with `access_token`. Raises
    ArgoDefinitionError for a definition that does not parse (checked at publish time), and
    OrderDataUnavailable for inputs the settings give no way to deliver."""
    if workflow["type"] == "argo":
        if inputs and not settings.api_url_for_workloads:
            raise OrderDataUnavailable("input artifacts need the API's address for workloads "
                                       "(api_url_for_workloads)")
        return compile_argo_workflow(order_id, service_id, parse_argo_definition(workflow["argo"]),
                                     parameters, settings, inputs, access_token)
    if inputs and not helpers_configured(settings):
        raise OrderDataUnavailable("input artifacts need the API's address for workloads and the helper "
                                   "image (api_url_for_workloads, helper_image)")
    return compile_basic_job(order_id, service_id, workflow["basic"], parameters, settings, inputs, access_token)


def manifest_problems(manifest: dict[str, Any]) -> list[Problem]:
    """The compiled manifest against its real schema, strictly (Kubernetes or Argo), and a Job's
    pods against the restricted Pod Security Standard."""
    if manifest["kind"] == "Workflow":
        return workflow_schema_problems(manifest)
    return job_problems(manifest)


def workflow_problems(workflow: dict[str, Any], parameters: Sequence[dict[str, Any]],
                      settings: CompileSettings) -> list[Problem]:
    """Publish-time checks of a service's workflow, whatever its type, given its parameter definitions."""
    if workflow["type"] == "argo":
        return check_argo_workflow(workflow["argo"], parameters, settings)
    return check_basic_workflow(workflow["basic"], [parameter["name"] for parameter in parameters], settings)


def value_problems(workflow: dict[str, Any], values: Sequence[tuple[str, str]]) -> list[Problem]:
    """Order values the workflow's engine would misread or refuse (Argo expands `{{…}}` and holds
    arguments to their `enum`)."""
    if workflow["type"] != "argo":
        return []
    try:
        definition = parse_argo_definition(workflow["argo"])
    except ArgoDefinitionError:  # a dry run of a broken definition reports it
        definition = None
    return order_value_problems(values, definition)


def dry_run(order_id: str, service_id: str, workflow: dict[str, Any], parameters: Sequence[tuple[str, str]],
            settings: CompileSettings, inputs: Sequence[tuple[str, str]] = ()) -> tuple[dict[str, Any] | None,
                                                                                    list[Problem]]:
    """The manifest an order would run (without its access token) and its problems; None when it
    cannot be compiled. An argo definition's own problems (what a marketplace must not run) come
    first, with its paths."""
    try:
        manifest = compile_order(order_id, service_id, workflow, parameters, settings, inputs)
    except ArgoDefinitionError as error:
        return None, [error.problem]
    except OrderDataUnavailable as error:
        return None, [Problem("parameters", str(error), [parameter for parameter, _ in inputs])]
    problems = manifest_problems(manifest)
    if workflow["type"] == "argo":
        problems = safety_problems(parse_argo_definition(workflow["argo"]), settings) + problems
    return manifest, problems
