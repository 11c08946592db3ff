"""What a marketplace must not run, wherever in an argo definition it hides: host access,
references to objects on the cluster, an account or a namespace of its own, secrets the
platform does not grant, and artifact storage of its own: an artifact in a bucket it names (or
an artifact repository it picks) would be read or written with the platform's repository
credentials, so a key of its choosing could read or overwrite another tenant's objects. HTTP,
git and raw artifacts fetch from elsewhere and stay allowed. The same walk covers the manifests
of resource templates."""
from __future__ import annotations

from typing import Any

from workflows.argo import ROOT, ArgoDefinition, walk
from workflows.problems import Problem
from workflows.settings import CompileSettings

_HOST_ACCESS = ("hostNetwork", "hostPID", "hostIPC")
_CLUSTER_REFERENCES = {
    "workflowTemplateRef": "refers to a WorkflowTemplate on the cluster; give the whole definition instead",
    "templateRef": "refers to a WorkflowTemplate on the cluster; define the template in this workflow instead",
    "podSpecPatch": "may change any field of the pods; the platform does not accept pod spec patches",
    "serviceAccountName": "the platform sets the service account of every pod",
    "artifactRepositoryRef": "the platform decides where artifacts are stored; remove the artifact repository",
}
# Artifact locations in a store (plugin: a driver the operator configured) that the platform's credentials reach.
_STORAGE_KEYS = frozenset({"s3", "gcs", "oss", "azure", "hdfs", "artifactory", "plugin"})
_ARTIFACT_PLACES = frozenset({"artifacts", "archiveLocation"})


def _secret_names(key: str, value: Any) -> list[str]:
    """Names of the secrets a field refers to: `secretKeyRef`, `secretRef`, a `secret` volume,
    `imagePullSecrets`, and artifact credentials such as `accessKeySecret`."""
    if "secret" not in key.lower():
        return []
    entries = value if isinstance(value, list) else [value]
    return [name for entry in entries if isinstance(entry, dict)
            for name in (entry.get("name"), entry.get("secretName")) if isinstance(name, str)]


def forbidden_in(document: Any, prefix: str, settings: CompileSettings,
                 replaced: frozenset[str] = frozenset()) -> list[Problem]:
    """The forbidden fields of `document`, with paths after `prefix`; top-level keys in `replaced`
    are ones the platform overwrites, so they are not refused."""
    problems = []
    for path, key, value in walk(document):
        where = prefix + ".".join(map(str, (*path, key)))
        if key == "hostPath":
            problems.append(Problem(where, "host paths are not allowed: a workload may not read or "
                                    "write the node's files", value))
        elif key in _HOST_ACCESS and value is True:
            problems.append(Problem(where, f"{key} is not allowed: a workload may not share the node's "
                                    "namespaces", value))
        elif key == "privileged" and value is True:
            problems.append(Problem(where, "privileged containers are not allowed", value))
        elif key in _STORAGE_KEYS and _ARTIFACT_PLACES.intersection(map(str, path)):
            problems.append(Problem(where, f"an artifact may not name a storage location ({key}): the platform "
                                    "stores every order's artifacts in its own repository", value))
        elif key in _CLUSTER_REFERENCES and not (key in replaced and not path):
            problems.append(Problem(where, _CLUSTER_REFERENCES[key], value))
        for name in _secret_names(key, value):
            if name not in settings.allowed_secrets:
                problems.append(Problem(where, f"the secret {name!r} is not one the platform grants to "
                                        "services", name))
    return problems


def forbidden_problems(definition: ArgoDefinition, settings: CompileSettings) -> list[Problem]:
    """What a marketplace must not run, in the definition's metadata and spec."""
    problems = []
    if "namespace" in definition.metadata:
        problems.append(Problem(f"{ROOT}.metadata.namespace",
                                "the platform decides where orders run; remove the namespace",
                                definition.metadata["namespace"]))
    # The spec's own serviceAccountName is replaced by the platform; a template's is refused.
    return problems + forbidden_in(definition.spec, definition.spec_path, settings,
                                   replaced=frozenset({"serviceAccountName"}))
