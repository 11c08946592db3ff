"""The Pod Security Standards checker refuses each control with the field's path, and passes a
compliant pod."""
from __future__ import annotations

import copy

import pytest

from workflows.pod_security import Level, pod_security_problems


def restricted_pod():
    """A pod that meets `restricted`: non-root user, no escalation, no capabilities, RuntimeDefault."""
    container = {"name": "main", "image": "alpine:3",
                 "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}}
    return {"securityContext": {"runAsNonRoot": True, "runAsUser": 10000, "seccompProfile": {"type": "RuntimeDefault"}},
            "initContainers": [copy.deepcopy(container) | {"name": "init"}],
            "containers": [container],
            "volumes": [{"name": "scratch", "emptyDir": {}}, {"name": "config", "configMap": {"name": "c"}}]}


def paths(spec, level, **kwargs):
    return [problem.path for problem in pod_security_problems(spec, level, **kwargs)]


def changed(**edits):
    """The compliant pod with `edits` applied: keys are paths joined by `__` (list indexes as numbers)."""
    spec = restricted_pod()
    for dotted, value in edits.items():
        *parents, last = dotted.split("__")
        target = spec
        for key in parents:
            target = target[int(key)] if isinstance(target, list) else target.setdefault(key, {})
        if isinstance(target, list):
            target[int(last)] = value
        else:
            target[last] = value
    return spec


def test_a_compliant_pod_passes_both_levels():
    assert paths(restricted_pod(), Level.RESTRICTED) == []
    assert paths(restricted_pod(), Level.BASELINE) == []


def test_a_minimal_pod_passes_baseline_but_not_restricted():
    minimal = {"containers": [{"name": "main", "image": "alpine:3"}]}
    assert paths(minimal, Level.BASELINE) == []
    assert paths(minimal, Level.RESTRICTED) == [
        "spec.containers.0.securityContext.allowPrivilegeEscalation",
        "spec.containers.0.securityContext.runAsNonRoot",
        "spec.containers.0.securityContext.seccompProfile.type",
        "spec.containers.0.securityContext.capabilities.drop"]


C = "spec.containers.0.securityContext"
BASELINE_REFUSALS = [
    ("host process (pod)", {"securityContext__windowsOptions": {"hostProcess": True}},
     "spec.securityContext.windowsOptions.hostProcess"),
    ("host process (container)", {"containers__0__securityContext__windowsOptions": {"hostProcess": True}},
     f"{C}.windowsOptions.hostProcess"),
    ("host network", {"hostNetwork": True}, "spec.hostNetwork"),
    ("host PID", {"hostPID": True}, "spec.hostPID"),
    ("host IPC", {"hostIPC": True}, "spec.hostIPC"),
    ("privileged", {"containers__0__securityContext__privileged": True}, f"{C}.privileged"),
    ("privileged init container", {"initContainers__0__securityContext__privileged": True},
     "spec.initContainers.0.securityContext.privileged"),
    ("privileged ephemeral container", {"ephemeralContainers": [
        {"name": "debug", "image": "busybox", "securityContext": {
            "privileged": True, "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}}]},
     "spec.ephemeralContainers.0.securityContext.privileged"),
    ("capability beyond the defaults", {"containers__0__securityContext__capabilities": {
        "drop": ["ALL"], "add": ["NET_BIND_SERVICE", "SYS_ADMIN"]}}, f"{C}.capabilities.add.1"),
    ("host path volume", {"volumes__0": {"name": "host", "hostPath": {"path": "/"}}}, "spec.volumes.0.hostPath"),
    ("host port", {"containers__0__ports": [{"containerPort": 80}, {"containerPort": 81, "hostPort": 8081}]},
     "spec.containers.0.ports.1.hostPort"),
    ("AppArmor unconfined (pod)", {"securityContext__appArmorProfile": {"type": "Unconfined"}},
     "spec.securityContext.appArmorProfile.type"),
    ("AppArmor unconfined (container)", {"containers__0__securityContext__appArmorProfile": {"type": "Unconfined"}},
     f"{C}.appArmorProfile.type"),
    ("SELinux type", {"securityContext__seLinuxOptions": {"type": "spc_t"}},
     "spec.securityContext.seLinuxOptions.type"),
    ("SELinux user", {"containers__0__securityContext__seLinuxOptions": {"user": "system_u"}},
     f"{C}.seLinuxOptions.user"),
    ("SELinux role", {"containers__0__securityContext__seLinuxOptions": {"role": "sysadm_r"}},
     f"{C}.seLinuxOptions.role"),
    ("/proc unmasked", {"containers__0__securityContext__procMount": "Unmasked"}, f"{C}.procMount"),
    ("seccomp unconfined (container)", {"containers__0__securityContext__seccompProfile": {"type": "Unconfined"}},
     f"{C}.seccompProfile.type"),
    ("unsafe sysctl", {"securityContext__sysctls": [{"name": "net.ipv4.tcp_syncookies", "value": "1"},
                                                     {"name": "kernel.msgmax", "value": "1"}]},
     "spec.securityContext.sysctls.1.name"),
    ("probe on another host", {"containers__0__livenessProbe": {"httpGet": {"host": "10.0.0.1", "port": 80}}},
     "spec.containers.0.livenessProbe.httpGet.host"),
    ("lifecycle hook on another host", {"containers__0__lifecycle": {"preStop": {"tcpSocket": {"host": "node",
                                                                                              "port": 22}}}},
     "spec.containers.0.lifecycle.preStop.tcpSocket.host"),
]


@pytest.mark.parametrize("control, edits, path", BASELINE_REFUSALS, ids=[case[0] for case in BASELINE_REFUSALS])
def test_each_baseline_control_is_refused_at_both_levels_with_its_path(control, edits, path):
    spec = changed(**edits)
    assert paths(spec, Level.BASELINE) == [path]
    assert path in paths(spec, Level.RESTRICTED)


def test_apparmor_annotations_are_checked_on_the_pods_metadata():
    metadata = {"annotations": {"container.apparmor.security.beta.kubernetes.io/main": "unconfined",
                                "container.apparmor.security.beta.kubernetes.io/init": "localhost/mine"}}
    assert paths(restricted_pod(), Level.BASELINE, metadata=metadata, metadata_path="spec.template.metadata") == [
        "spec.template.metadata.annotations.container.apparmor.security.beta.kubernetes.io/main"]


RESTRICTED_REFUSALS = [
    ("volume type", {"volumes__1": {"name": "share", "nfs": {"server": "nas", "path": "/"}}}, ["spec.volumes.1.nfs"]),
    ("host path volume", {"volumes__0": {"name": "host", "hostPath": {"path": "/"}}}, ["spec.volumes.0.hostPath"]),
    ("privilege escalation allowed", {"containers__0__securityContext__allowPrivilegeEscalation": True},
     [f"{C}.allowPrivilegeEscalation"]),
    ("privilege escalation unset", {"containers__0__securityContext": {"capabilities": {"drop": ["ALL"]}}},
     [f"{C}.allowPrivilegeEscalation"]),
    ("running as root allowed (pod)", {"securityContext__runAsNonRoot": False},
     ["spec.securityContext.runAsNonRoot", "spec.initContainers.0.securityContext.runAsNonRoot",
      f"{C}.runAsNonRoot"]),
    ("running as root allowed (container)", {"containers__0__securityContext__runAsNonRoot": False},
     [f"{C}.runAsNonRoot"]),
    ("user 0 (pod)", {"securityContext__runAsUser": 0}, ["spec.securityContext.runAsUser"]),
    ("user 0 (container)", {"containers__0__securityContext__runAsUser": 0}, [f"{C}.runAsUser"]),
    ("no seccomp profile", {"securityContext": {"runAsNonRoot": True}},
     ["spec.initContainers.0.securityContext.seccompProfile.type", f"{C}.seccompProfile.type"]),
    ("seccomp unconfined (pod)", {"securityContext__seccompProfile": {"type": "Unconfined"}},
     ["spec.securityContext.seccompProfile.type", "spec.initContainers.0.securityContext.seccompProfile.type",
      f"{C}.seccompProfile.type"]),
    ("capabilities not dropped", {"containers__0__securityContext__capabilities": {"drop": ["NET_RAW"]}},
     [f"{C}.capabilities.drop"]),
    ("a default capability added back", {"containers__0__securityContext__capabilities": {
        "drop": ["ALL"], "add": ["CHOWN"]}}, [f"{C}.capabilities.add.0"]),
]


@pytest.mark.parametrize("control, edits, expected", RESTRICTED_REFUSALS, ids=[case[0] for case in RESTRICTED_REFUSALS])
def test_each_restricted_control_is_refused_with_its_path(control, edits, expected):
    assert paths(changed(**edits), Level.RESTRICTED) == expected


def test_restricted_allows_adding_net_bind_service_and_container_level_settings():
    spec = changed(securityContext={"runAsUser": 1000},
                   containers__0__securityContext={"allowPrivilegeEscalation": False, "runAsNonRoot": True,
                                                   "seccompProfile": {"type": "Localhost", "localhostProfile": "p"},
                                                   "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}},
                   initContainers=[])
    assert paths(spec, Level.RESTRICTED) == []


def test_windows_pods_skip_the_linux_only_restricted_controls():
    spec = {"os": {"name": "windows"}, "securityContext": {"runAsNonRoot": True},
            "containers": [{"name": "main", "image": "mcr.microsoft.com/windows/nanoserver:ltsc2022"}]}
    assert paths(spec, Level.RESTRICTED) == []


def test_paths_start_where_the_pod_spec_sits():
    spec = changed(hostNetwork=True)
    assert paths(spec, Level.BASELINE, path="spec.template.spec") == ["spec.template.spec.hostNetwork"]


def test_values_of_the_wrong_type_are_refused_not_crashed_on():
    spec = changed(hostPID="yes", containers__0__securityContext__privileged="true", volumes=["nope"],
                   securityContext={"runAsNonRoot": True, "seccompProfile": "RuntimeDefault", "sysctls": [7]})
    problems = paths(spec, Level.RESTRICTED)
    assert {"spec.hostPID", f"{C}.privileged", "spec.securityContext.sysctls.0.name",
            f"{C}.seccompProfile.type"} <= set(problems)
