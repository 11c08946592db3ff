"""Every pod an argo workflow can create meets the baseline Pod Security Standard at publish."""
from __future__ import annotations

import pytest

from tests.workflows.test_argo import SETTINGS, parameters
from workflows.argo_checks import check_argo_workflow

APPARMOR = "container.apparmor.security.beta.kubernetes.io/main"


def workflow(*templates, **spec):
    """A Workflow manifest whose first template runs the others as steps."""
    steps = {"name": "main", "steps": [[{"name": t["name"], "template": t["name"]} for t in templates]]}
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
            "spec": {"entrypoint": "main", "templates": [steps, *templates], **spec}}


def container(**fields):
    return {"image": "alpine", "command": ["true"], **fields}


def problems(definition):
    return [(p.path, p.value) for p in check_argo_workflow(definition, parameters(), SETTINGS)]


@pytest.mark.parametrize("definition, path, value", [
    (workflow({"name": "serve", "container": container(ports=[{"containerPort": 80, "hostPort": 80}])}),
     "workflow.argo.spec.templates.1.container.ports.0.hostPort", 80),
    (workflow({"name": "s", "script": {**container(securityContext={"capabilities": {"add": ["SYS_ADMIN"]}}),
                                       "source": "mount"}}),
     "workflow.argo.spec.templates.1.script.securityContext.capabilities.add.0", "SYS_ADMIN"),
    (workflow({"name": "w", "securityContext": {"windowsOptions": {"hostProcess": True}},
               "container": container()}),
     "workflow.argo.spec.templates.1.securityContext.windowsOptions.hostProcess", True),
    (workflow({"name": "w", "container": container(), "sidecars": [
        {"name": "s", "image": "a", "securityContext": {"windowsOptions": {"hostProcess": True}}}]}),
     "workflow.argo.spec.templates.1.sidecars.0.securityContext.windowsOptions.hostProcess", True),
    (workflow({"name": "set", "containerSet": {"containers": [
        {"name": "a", "image": "a"}, {"name": "b", "image": "b", "securityContext": {"procMount": "Unmasked"}}]}}),
     "workflow.argo.spec.templates.1.containerSet.containers.1.securityContext.procMount", "Unmasked"),
    (workflow({"name": "i", "container": container(), "initContainers": [
        {"name": "i", "image": "a", "securityContext": {"capabilities": {"add": ["NET_ADMIN"]}}}]}),
     "workflow.argo.spec.templates.1.initContainers.0.securityContext.capabilities.add.0", "NET_ADMIN"),
    (workflow({"name": "c", "container": container()}, securityContext={"seLinuxOptions": {"user": "system_u"}}),
     "workflow.argo.spec.securityContext.seLinuxOptions.user", "system_u"),
    (workflow({"name": "c", "container": container()}, securityContext={"sysctls": [{"name": "kernel.msgmax",
                                                                                      "value": "1"}]}),
     "workflow.argo.spec.securityContext.sysctls.0.name", "kernel.msgmax"),
    (workflow({"name": "c", "container": container()}, podMetadata={"annotations": {APPARMOR: "unconfined"}}),
     f"workflow.argo.spec.podMetadata.annotations.{APPARMOR}", "unconfined"),
    (workflow({"name": "c", "metadata": {"annotations": {APPARMOR: "unconfined"}}, "container": container()}),
     f"workflow.argo.spec.templates.1.metadata.annotations.{APPARMOR}", "unconfined"),
    (workflow({"name": "c", "container": container()}, templateDefaults={
        "container": {"image": "a", "securityContext": {"capabilities": {"add": ["SYS_PTRACE"]}}}}),
     "workflow.argo.spec.templateDefaults.container.securityContext.capabilities.add.0", "SYS_PTRACE"),
    (workflow({"name": "c", "container": container(livenessProbe={"tcpSocket": {"port": 80, "host": "10.0.0.1"}})}),
     "workflow.argo.spec.templates.1.container.livenessProbe.tcpSocket.host", "10.0.0.1"),
])
def test_a_pod_below_the_baseline_level_is_refused_naming_the_field(definition, path, value):
    assert (path, value) in problems(definition)


def test_a_field_every_pod_shares_is_reported_once():
    definition = workflow({"name": "a", "container": container()}, {"name": "b", "container": container()},
                          securityContext={"seLinuxOptions": {"role": "sysadm_r"}}, hostNetwork=True)
    found = problems(definition)
    assert found.count(("workflow.argo.spec.securityContext.seLinuxOptions.role", "sysadm_r")) == 1
    assert [path for path, _ in found].count("workflow.argo.spec.hostNetwork") == 1


def test_what_baseline_allows_passes():
    definition = workflow({"name": "a", "container": container(
        ports=[{"containerPort": 8080}], securityContext={"capabilities": {"add": ["NET_BIND_SERVICE"],
                                                                           "drop": ["ALL"]},
                                                          "runAsUser": 0})},
        securityContext={"seccompProfile": {"type": "RuntimeDefault"}, "fsGroup": 1000})
    assert problems(definition) == []
