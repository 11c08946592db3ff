"""Publish-time checks of a service's workflow: what would make its orders fail to start.
Problems carry paths from the service document's root (`workflow.basic.cpu.request`)."""
from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from kubernetes.utils.quantity import parse_quantity

from workflows.basic import compile_basic_job
from workflows.kubernetes_schema import schema_problems
from workflows.names import PLACEHOLDER_ORDER_ID
from workflows.pod_security import Level, pod_security_problems
from workflows.problems import Problem
from workflows.settings import CompileSettings

# [registry[:port]/]path[:tag][@digest], the reference grammar of the OCI distribution spec.
_IMAGE = re.compile(
    r"(?:(?:[a-zA-Z0-9-]+\.)*[a-zA-Z0-9-]+(?::[0-9]+)?/)?"
    r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-fA-F0-9]{32,})?")
_JOB_CONTAINER = "spec.template.spec.containers.0."


def _quantity_problems(basic: dict[str, Any]) -> list[Problem]:
    problems = []
    for resource in ("cpu", "memory"):
        amounts = {}
        for bound in ("request", "limit"):
            value = (basic.get(resource) or {}).get(bound)
            if value is None:
                continue
            try:
                amounts[bound] = parse_quantity(value)
            except ValueError:
                problems.append(Problem(f"workflow.basic.{resource}.{bound}",
                                        f"{value!r} is not a Kubernetes quantity (e.g. 500m, 2, 256Mi)", value))
        if len(amounts) == 2 and amounts["request"] > amounts["limit"]:
            problems.append(Problem(f"workflow.basic.{resource}.request",
                                    f"the request is larger than the limit ({basic[resource]['limit']})",
                                    basic[resource]["request"]))
    return problems


def job_problems(job: dict[str, Any]) -> list[Problem]:
    """The compiled Job against the strict Kubernetes schema, and its pods against the restricted
    Pod Security Standard: what the API server or the namespace's admission would refuse."""
    template = job["spec"]["template"]
    return [*schema_problems(job), *pod_security_problems(template.get("spec"), Level.RESTRICTED, "spec.template.spec",
                                                          template.get("metadata"), "spec.template.metadata")]


def _job_path_to_service_path(path: str) -> str:
    if path.startswith(_JOB_CONTAINER):
        return "workflow.basic." + path[len(_JOB_CONTAINER):]
    return f"workflow.basic ({path or 'Job'})"


def check_basic_workflow(basic: dict[str, Any], parameter_names: Sequence[str],
                         settings: CompileSettings) -> list[Problem]:
    problems = []
    if not _IMAGE.fullmatch(basic["image"]):
        problems.append(Problem("workflow.basic.image", "not an image reference such as "
                                "registry.example.org/team/image:1.0", basic["image"]))
    problems.extend(_quantity_problems(basic))
    if problems:
        return problems
    job = compile_basic_job(PLACEHOLDER_ORDER_ID, "placeholder", basic,
                            [(name, "value") for name in parameter_names], settings)
    return [Problem(_job_path_to_service_path(p.path), p.message, p.value) for p in job_problems(job)]
