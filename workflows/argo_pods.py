"""The pods an argo workflow makes Argo create, checked against the Pod Security Standards'
`baseline` level before anything runs.

For each template (and `templateDefaults`, which Argo merges into every template) the pod is
built the way Argo builds it: the template's container, script or containerSet containers, its
sidecars and initContainers; the template's security context, else the workflow's; the workflow's
hostNetwork; the workflow's and the template's volumes; the annotations of `podMetadata` and of
the template's metadata. Every problem names the field where the provider wrote it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from workflows.argo import ArgoDefinition
from workflows.pod_security import Level, pod_security_problems
from workflows.problems import Problem

_POD = "pod"


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _items(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


@dataclass
class _PodBuilder:
    """A pod spec put together from parts of the definition, remembering where each part came from."""

    spec: dict[str, Any] = field(default_factory=dict)
    annotations: dict[str, Any] = field(default_factory=dict)
    origins: dict[str, str] = field(default_factory=dict)  # path in the pod → path in the definition

    def set(self, key: str, value: Any, origin: str) -> None:
        self.spec[key] = value
        self.origins[f"{_POD}.{key}"] = origin

    def add(self, key: str, value: Any, origin: str) -> None:
        """Append `value` (at `origin` in the definition) to the pod's list `key`."""
        entries = self.spec.setdefault(key, [])
        self.origins[f"{_POD}.{key}.{len(entries)}"] = origin
        entries.append(value)

    def extend(self, key: str, values: Any, origin: str) -> None:
        for index, value in enumerate(_items(values)):
            self.add(key, value, f"{origin}.{index}")

    def annotate(self, annotations: Any, origin: str) -> None:
        for key, value in _mapping(annotations).items():
            self.annotations[key] = value
            self.origins[f"{_POD}.metadata.annotations.{key}"] = f"{origin}.{key}"

    def origin_of(self, path: str) -> str:
        """The definition's path of a pod path: its longest prefix that came from the definition."""
        prefix = path
        while prefix not in self.origins and "." in prefix:
            prefix = prefix.rsplit(".", 1)[0]
        return self.origins.get(prefix, prefix) + path[len(prefix):]

    def problems(self) -> list[Problem]:
        found = pod_security_problems(self.spec, Level.BASELINE, _POD, {"annotations": self.annotations},
                                      f"{_POD}.metadata")
        return [Problem(self.origin_of(p.path), p.message, p.value) for p in found]


def _template_pod(template: dict[str, Any], at: str, definition: ArgoDefinition) -> _PodBuilder:
    spec, spec_at = definition.spec, definition.spec_path
    pod = _PodBuilder()
    if isinstance(template.get("securityContext"), dict):
        pod.set("securityContext", template["securityContext"], f"{at}.securityContext")
    elif isinstance(spec.get("securityContext"), dict):
        pod.set("securityContext", spec["securityContext"], f"{spec_at}securityContext")
    if "hostNetwork" in spec:
        pod.set("hostNetwork", spec["hostNetwork"], f"{spec_at}hostNetwork")
    pod.extend("volumes", spec.get("volumes"), f"{spec_at}volumes")
    pod.extend("volumes", template.get("volumes"), f"{at}.volumes")
    for kind in ("container", "script"):
        if isinstance(template.get(kind), dict):
            pod.add("containers", template[kind], f"{at}.{kind}")
    pod.extend("containers", _mapping(template.get("containerSet")).get("containers"), f"{at}.containerSet.containers")
    pod.extend("containers", template.get("sidecars"), f"{at}.sidecars")
    pod.extend("initContainers", template.get("initContainers"), f"{at}.initContainers")
    pod.annotate(_mapping(spec.get("podMetadata")).get("annotations"), f"{spec_at}podMetadata.annotations")
    pod.annotate(_mapping(template.get("metadata")).get("annotations"), f"{at}.metadata.annotations")
    return pod


def pod_problems(definition: ArgoDefinition) -> list[Problem]:
    """Every way a pod of the workflow breaks the baseline level, once per field."""
    problems: dict[tuple[str, str], Problem] = {}
    for at, template in definition.templates():
        for problem in _template_pod(template, at, definition).problems():
            problems.setdefault((problem.path, problem.message), problem)
    return list(problems.values())
