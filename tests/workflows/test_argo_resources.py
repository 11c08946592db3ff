"""Resource templates: off unless the operator lists kinds; a manifest is checked like the pods it makes."""
from __future__ import annotations

import dataclasses

import pytest
import yaml

from tests.workflows.test_argo import ORDER, SETTINGS, parameters
from tests.workflows.test_untrusted import ALIAS_BOMB
from workflows.argo import compile_argo_workflow, parse_argo_definition
from workflows.argo_checks import check_argo_workflow
from workflows.settings import parse_resource_kinds

ALLOWED = dataclasses.replace(SETTINGS, argo_resource_kinds=frozenset({"Pod", "ConfigMap", "batch/Job"}))
AT = "workflow.argo.templates.0.resource"


def creating(manifest, **resource):
    """A workflow whose one template creates `manifest` (text or object)."""
    return {"entrypoint": "main", "templates": [
        {"name": "main", "resource": {"action": "create", "manifest": manifest, **resource}}]}


def pod(**spec):
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"generateName": "p-"},
            "spec": {"containers": [{"name": "main", "image": "alpine"}], **spec}}


def problems(definition, settings=ALLOWED):
    return [(p.path, p.value) for p in check_argo_workflow(definition, parameters(), settings)]


PRIVILEGED = pod(containers=[{"name": "main", "image": "alpine", "securityContext": {"privileged": True}}])
HOST_PATH = pod(volumes=[{"name": "root", "hostPath": {"path": "/"}}])
HOST_NETWORK_JOB = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"generateName": "j-"},
                    "spec": {"template": {"spec": {"hostNetwork": True, "restartPolicy": "Never",
                                                   "containers": [{"name": "m", "image": "a"}]}}}}
SECRET_ENV = pod(containers=[{"name": "main", "image": "alpine", "env": [
    {"name": "P", "valueFrom": {"secretKeyRef": {"name": "db-admin", "key": "password"}}}]}])
SECRET = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db-admin"}}
ADDED_CAPABILITY = pod(containers=[{"name": "main", "image": "alpine",
                                    "securityContext": {"capabilities": {"add": ["SYS_ADMIN"]}}}])


@pytest.mark.parametrize("manifest, path, value", [
    (PRIVILEGED, f"{AT}.manifest.spec.containers.0.securityContext.privileged", True),
    (HOST_PATH, f"{AT}.manifest.spec.volumes.0.hostPath", {"path": "/"}),
    (HOST_NETWORK_JOB, f"{AT}.manifest.spec.template.spec.hostNetwork", True),
    (SECRET_ENV, f"{AT}.manifest.spec.containers.0.env.0.valueFrom.secretKeyRef", "db-admin"),
    (SECRET, f"{AT}.manifest.kind", "Secret"),
    (ADDED_CAPABILITY, f"{AT}.manifest.spec.containers.0.securityContext.capabilities.add.0", "SYS_ADMIN"),
    ({**pod(), "metadata": {"name": "p", "namespace": "kube-system"}}, f"{AT}.manifest.metadata.namespace",
     "kube-system"),
    ({"apiVersion": "apps/v1", "kind": "Deployment", "spec": {}}, f"{AT}.manifest.kind", "apps/Deployment"),
    ({"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "spec": {"workflowTemplateRef": {"name": "t"}}},
     f"{AT}.manifest.spec.workflowTemplateRef", {"name": "t"}),
    ({"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "spec": {"templates": [
        {"name": "m", "steps": [[{"name": "s", "templateRef": {"name": "t", "template": "x"}}]]}]}},
     f"{AT}.manifest.spec.templates.0.steps.0.0.templateRef", {"name": "t", "template": "x"}),
])
@pytest.mark.parametrize("form", ["text", "object"])
def test_a_manifest_is_checked_like_the_pods_it_makes(manifest, path, value, form):
    given = yaml.safe_dump(manifest) if form == "text" else manifest
    assert (path, value) in problems(creating(given))


@pytest.mark.parametrize("manifest", [PRIVILEGED, HOST_PATH, SECRET, yaml.safe_dump(pod())])
def test_by_default_every_resource_template_is_refused_naming_the_setting(manifest):
    found = check_argo_workflow(creating(manifest), parameters(), SETTINGS)
    assert any(p.path == AT and "MARKETPLACE_ARGO_RESOURCE_KINDS" in p.message for p in found)


@pytest.mark.parametrize("definition, path", [
    (creating(None, manifestFrom={"artifact": {"name": "m"}}), f"{AT}.manifestFrom"),
    (creating(yaml.safe_dump(pod()), flags=["--namespace=kube-system"]), f"{AT}.flags"),
    (creating(yaml.safe_dump(pod()), action="delete"), f"{AT}.action"),
    (creating("apiVersion: v1\nkind: Pod\nmetadata: {name: '{{inputs.parameters.name}}'}\n"), f"{AT}.manifest"),
    (creating(ALIAS_BOMB), f"{AT}.manifest"),
    (creating("- a\n- list\n"), f"{AT}.manifest"),
    (creating({"kind": "Pod"}), f"{AT}.manifest"),
])
def test_what_cannot_be_checked_before_it_runs_is_refused(definition, path):
    assert path in [path for path, _ in problems(definition)]


def test_an_allowed_object_is_created_owned_by_the_workflow():
    config_map = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "c-"}, "data": {"k": "v"}}
    definition = creating(config_map)
    assert problems(definition) == []
    compiled = compile_argo_workflow(ORDER, "svc", parse_argo_definition(definition), [], ALLOWED)
    resource = compiled["spec"]["templates"][0]["resource"]
    assert yaml.safe_load(resource["manifest"]) == config_map  # Argo takes the manifest as text
    assert resource["setOwnerReference"] is True


def test_resource_kinds_are_read_from_the_setting():
    assert parse_resource_kinds(" ConfigMap, batch/Job ,,") == {"ConfigMap", "batch/Job"}
    assert parse_resource_kinds("") == frozenset()
    with pytest.raises(ValueError, match="'configmap'"):
        parse_resource_kinds("configmap")
