"""Resource templates: Argo creates the template's manifest with the workflow's service account, so
the manifest is read like the definition (measured, then parsed) and checked like it: the kinds
the operator allows (MARKETPLACE_ARGO_RESOURCE_KINDS; none by default), the forbidden fields, and
every pod the object would make (a Pod, or the pod template of a Job, Deployment, CronJob…)
against the baseline Pod Security Standard.

Only `create` is accepted: the other actions name an existing object, which may be another
order's. A manifest from an artifact (`manifestFrom`) exists only when the workflow runs, `{{…}}`
in a manifest is filled in after these checks, and kubectl `flags` can send the manifest
elsewhere: all three are refused.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from workflows.argo import ArgoDefinition
from workflows.argo_forbidden import forbidden_in
from workflows.pod_security import Level, pod_security_problems
from workflows.problems import Problem
from workflows.settings import CompileSettings
from workflows.untrusted import DocumentError, load_yaml

SETTING = "MARKETPLACE_ARGO_RESOURCE_KINDS"
ACTIONS = ("create",)
# Pod templates inside workload objects (Job, Deployment, StatefulSet, DaemonSet, ReplicaSet; CronJob).
_POD_TEMPLATES = (("spec", "template"), ("spec", "jobTemplate", "spec", "template"))


def _group_and_kind(manifest: dict[str, Any]) -> tuple[str, str]:
    api_version, kind = manifest.get("apiVersion"), manifest.get("kind")
    group = api_version.rpartition("/")[0] if isinstance(api_version, str) else ""
    return group, kind if isinstance(kind, str) else ""


def _never_allowed(group: str, kind: str) -> str | None:
    """Why no operator setting lets a workflow touch this kind, if that is so."""
    if group == "" and kind == "Secret":
        return "a resource template may not create or read Secrets: a service gets only the secrets the platform grants"
    if group == "argoproj.io":
        return "a resource template may not create Argo objects: their pods would escape these checks"
    return None


def _kind_problems(manifest: dict[str, Any], at: str, settings: CompileSettings) -> list[Problem]:
    group, kind = _group_and_kind(manifest)
    if not kind or not isinstance(manifest.get("apiVersion"), str):
        return [Problem(at, "a manifest is one Kubernetes object, with its apiVersion and kind", manifest)]
    name = f"{group}/{kind}" if group else kind
    if reason := _never_allowed(group, kind):
        return [Problem(f"{at}.kind", reason, name)]
    if kind not in settings.argo_resource_kinds and name not in settings.argo_resource_kinds:
        allowed = ", ".join(sorted(settings.argo_resource_kinds))
        return [Problem(f"{at}.kind", f"resource templates may create only {allowed} ({SETTING})", name)]
    return []


def _pods(manifest: dict[str, Any], at: str) -> Iterator[tuple[dict[str, Any], dict[str, Any], str]]:
    """(pod spec, pod metadata, path of the pod template) of every pod the object would make."""
    if _group_and_kind(manifest) == ("", "Pod"):
        yield manifest.get("spec"), manifest.get("metadata"), at
    for keys in _POD_TEMPLATES:
        template: Any = manifest
        for key in keys:
            template = template.get(key) if isinstance(template, dict) else None
        if isinstance(template, dict):
            yield template.get("spec"), template.get("metadata"), ".".join((at, *keys))


def _manifest(resource: dict[str, Any], at: str) -> tuple[Any, list[Problem]]:
    """The manifest as an object (parsed from its text with the definition's limits), or problems."""
    if "manifestFrom" in resource:
        return None, [Problem(f"{at}.manifestFrom", "a manifest from an artifact exists only when the workflow "
                              "runs, so it cannot be checked: write the manifest here", resource["manifestFrom"])]
    manifest = resource.get("manifest")
    if isinstance(manifest, str):
        if "{{" in manifest:
            return None, [Problem(f"{at}.manifest", "a manifest may not contain '{{': Argo would fill it in "
                                  "after these checks", None)]
        try:
            manifest = load_yaml(manifest, f"{at}.manifest")
        except DocumentError as error:
            return None, [error.problem]
    if not isinstance(manifest, dict):
        return None, [Problem(f"{at}.manifest", "a manifest is one Kubernetes object, with its apiVersion and kind",
                              None)]
    return manifest, []


def _resource_problems(resource: dict[str, Any], at: str, settings: CompileSettings) -> list[Problem]:
    if not settings.argo_resource_kinds:
        return [Problem(at, f"resource templates are off: the operator lists the kinds they may create in {SETTING}",
                        None)]
    problems = []
    if resource.get("action") not in ACTIONS:
        problems.append(Problem(f"{at}.action", "a resource template may only create: other actions reach "
                                "objects that are not the order's", resource.get("action")))
    if "flags" in resource:
        problems.append(Problem(f"{at}.flags", "kubectl flags could send the manifest elsewhere; the platform "
                                "does not accept them", resource["flags"]))
    manifest, unreadable = _manifest(resource, at)
    if manifest is None:
        return problems + unreadable
    where = f"{at}.manifest"
    problems += _kind_problems(manifest, where, settings)
    metadata = manifest.get("metadata")
    if isinstance(metadata, dict) and "namespace" in metadata:
        problems.append(Problem(f"{where}.metadata.namespace", "the platform decides where orders run; remove "
                                "the namespace", metadata["namespace"]))
    problems += forbidden_in(manifest, f"{where}.", settings)
    reported = {problem.path for problem in problems}
    for spec, pod_metadata, pod_at in _pods(manifest, where):
        problems += [problem for problem in pod_security_problems(spec, Level.BASELINE, f"{pod_at}.spec", pod_metadata,
                                                                  f"{pod_at}.metadata")
                     if problem.path not in reported]
    return problems


def resource_problems(definition: ArgoDefinition, settings: CompileSettings) -> list[Problem]:
    """The problems of every resource template of the definition."""
    return [problem for at, template in definition.templates() if isinstance(template.get("resource"), dict)
            for problem in _resource_problems(template["resource"], f"{at}.resource", settings)]
