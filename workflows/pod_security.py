"""The Pod Security Standards (kubernetes.io/docs/concepts/security/pod-security-standards/) as a
pure check of a pod spec: every control of the `baseline` level, and for `restricted` those plus
its own, each problem with the offending field's path.

Any pod spec can be checked (a Job's template, a pod an Argo template would create): give the
spec, the path where it sits and, for the AppArmor annotations, the pod's metadata. Values of the
wrong type are refused too, as the admission controller would not read them as allowed.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from workflows.problems import Problem


class Level(StrEnum):
    BASELINE = "baseline"
    RESTRICTED = "restricted"


CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")
# Capabilities a container runtime grants by default; baseline refuses adding any other.
BASELINE_CAPABILITIES = frozenset({"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
                                   "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"})
# Sysctls namespaced to the pod, so they cannot touch the node or other pods.
SAFE_SYSCTLS = frozenset({"kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range",
                          "net.ipv4.ip_unprivileged_port_start", "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range",
                          "net.ipv4.ip_local_reserved_ports", "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout",
                          "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes", "net.ipv4.tcp_rmem",
                          "net.ipv4.tcp_wmem"})
SELINUX_TYPES = frozenset({"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"})
PROFILE_TYPES = frozenset({"RuntimeDefault", "Localhost"})  # seccomp and AppArmor alike
APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/"
RESTRICTED_VOLUME_SOURCES = frozenset({"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral",
                                       "persistentVolumeClaim", "projected", "secret"})
PROBES = ("livenessProbe", "readinessProbe", "startupProbe")
LIFECYCLE_HANDLERS = ("postStart", "preStop")


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _items(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


@dataclass(frozen=True)
class Context:
    """A security context (the pod's or a container's) and the path of `securityContext`."""

    path: str
    fields: dict[str, Any]

    def get(self, *keys: str) -> Any:
        value: Any = self.fields
        for key in keys[:-1]:
            value = _mapping(value.get(key))
        return value.get(keys[-1])

    def at(self, *keys: str) -> str:
        return ".".join((self.path, *keys))


@dataclass(frozen=True)
class Container:
    path: str
    spec: dict[str, Any]

    @property
    def context(self) -> Context:
        return Context(f"{self.path}.securityContext", _mapping(self.spec.get("securityContext")))


@dataclass(frozen=True)
class Pod:
    spec: dict[str, Any]
    path: str
    annotations: dict[str, Any]
    annotations_path: str

    @property
    def context(self) -> Context:
        return Context(f"{self.path}.securityContext", _mapping(self.spec.get("securityContext")))

    @property
    def containers(self) -> list[Container]:
        return [Container(f"{self.path}.{kind}.{index}", container)
                for kind in CONTAINER_LISTS
                for index, container in enumerate(_items(self.spec.get(kind))) if isinstance(container, dict)]

    @property
    def contexts(self) -> list[Context]:
        return [self.context, *(container.context for container in self.containers)]

    @property
    def windows(self) -> bool:
        return _mapping(self.spec.get("os")).get("name") == "windows"


Control = Callable[[Pod], Iterator[Problem]]


def _unset_or_false(context: Context, *keys: str, message: str) -> Iterator[Problem]:
    if (value := context.get(*keys)) not in (None, False):
        yield Problem(context.at(*keys), message, value)


# -- baseline ---------------------------------------------------------------------------------
def host_process(pod: Pod) -> Iterator[Problem]:
    for context in pod.contexts:
        yield from _unset_or_false(context, "windowsOptions", "hostProcess",
                                   message="HostProcess: Windows host process containers are not allowed")


def host_namespaces(pod: Pod) -> Iterator[Problem]:
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if (value := pod.spec.get(field)) not in (None, False):
            yield Problem(f"{pod.path}.{field}", "Host Namespaces: sharing the host's namespaces is not allowed", value)


def privileged(pod: Pod) -> Iterator[Problem]:
    for container in pod.containers:
        yield from _unset_or_false(container.context, "privileged",
                                   message="Privileged Containers: must be false or unset")


def _added_capabilities(container: Container) -> Iterator[tuple[str, Any]]:
    for index, capability in enumerate(_items(container.context.get("capabilities", "add"))):
        yield container.context.at("capabilities", "add", str(index)), capability


def baseline_capabilities(pod: Pod) -> Iterator[Problem]:
    for container in pod.containers:
        for path, capability in _added_capabilities(container):
            if capability not in BASELINE_CAPABILITIES:
                yield Problem(path, "Capabilities: only the runtime's default capabilities may be added", capability)


def host_path_volumes(pod: Pod) -> Iterator[Problem]:
    for index, volume in enumerate(_items(pod.spec.get("volumes"))):
        if _mapping(volume).get("hostPath") is not None:
            yield Problem(f"{pod.path}.volumes.{index}.hostPath", "HostPath Volumes: not allowed", volume["hostPath"])


def host_ports(pod: Pod) -> Iterator[Problem]:
    for container in pod.containers:
        for index, port in enumerate(_items(container.spec.get("ports"))):
            if (value := _mapping(port).get("hostPort")) not in (None, 0):
                yield Problem(f"{container.path}.ports.{index}.hostPort", "Host Ports: must be 0 or unset", value)


def app_armor(pod: Pod) -> Iterator[Problem]:
    for context in pod.contexts:
        if (value := context.get("appArmorProfile", "type")) is not None and value not in PROFILE_TYPES:
            yield Problem(context.at("appArmorProfile", "type"),
                          "AppArmor: must be RuntimeDefault, Localhost or unset", value)
    for key, value in pod.annotations.items():
        if str(key).startswith(APPARMOR_ANNOTATION) and not (
                value in ("", "runtime/default") or (isinstance(value, str) and value.startswith("localhost/"))):
            yield Problem(f"{pod.annotations_path}.{key}",
                          "AppArmor: must be runtime/default, localhost/<profile> or unset", value)


def se_linux(pod: Pod) -> Iterator[Problem]:
    for context in pod.contexts:
        if (value := context.get("seLinuxOptions", "type")) not in (None, *SELINUX_TYPES):
            yield Problem(context.at("seLinuxOptions", "type"),
                          f"SELinux: the type must be one of {', '.join(sorted(SELINUX_TYPES - {''}))} or unset", value)
        for field in ("user", "role"):
            if (value := context.get("seLinuxOptions", field)) not in (None, ""):
                yield Problem(context.at("seLinuxOptions", field), f"SELinux: a custom {field} is not allowed", value)


def proc_mount(pod: Pod) -> Iterator[Problem]:
    for container in pod.containers:
        if (value := container.context.get("procMount")) not in (None, "Default"):
            yield Problem(container.context.at("procMount"), "/proc Mount Type: must be Default or unset", value)


def baseline_seccomp(pod: Pod) -> Iterator[Problem]:
    for context in pod.contexts:
        if (value := context.get("seccompProfile", "type")) is not None and value not in PROFILE_TYPES:
            yield Problem(context.at("seccompProfile", "type"), "Seccomp: must be RuntimeDefault, Localhost or unset",
                          value)


def sysctls(pod: Pod) -> Iterator[Problem]:
    for index, sysctl in enumerate(_items(pod.context.get("sysctls"))):
        if (name := _mapping(sysctl).get("name")) not in SAFE_SYSCTLS:
            yield Problem(pod.context.at("sysctls", str(index), "name"),
                          "Sysctls: only sysctls namespaced to the pod are allowed", name)


def host_probes(pod: Pod) -> Iterator[Problem]:
    for container in pod.containers:
        handlers = [(probe, container.spec.get(probe)) for probe in PROBES]
        handlers += [(f"lifecycle.{hook}", _mapping(container.spec.get("lifecycle")).get(hook))
                     for hook in LIFECYCLE_HANDLERS]
        for where, handler in handlers:
            for action in ("httpGet", "tcpSocket"):
                if (host := _mapping(_mapping(handler).get(action)).get("host")) not in (None, ""):
                    yield Problem(f"{container.path}.{where}.{action}.host",
                                  "Host Probes / Lifecycle Hooks: a host other than the pod's is not allowed", host)


# -- restricted -------------------------------------------------------------------------------
def volume_types(pod: Pod) -> Iterator[Problem]:
    for index, volume in enumerate(_items(pod.spec.get("volumes"))):
        for source in set(_mapping(volume)) - RESTRICTED_VOLUME_SOURCES - {"name"}:
            yield Problem(f"{pod.path}.volumes.{index}.{source}",
                          f"Volume Types: only {', '.join(sorted(RESTRICTED_VOLUME_SOURCES))} volumes are allowed",
                          volume[source])


def privilege_escalation(pod: Pod) -> Iterator[Problem]:
    for container in pod.containers:
        if (value := container.context.get("allowPrivilegeEscalation")) is not False:
            yield Problem(container.context.at("allowPrivilegeEscalation"), "Privilege Escalation: must be false",
                          value)


def _required_everywhere(pod: Pod, keys: tuple[str, ...], allowed: Callable[[Any], bool],
                         message: str) -> Iterator[Problem]:
    """A setting every container must have, from its own security context or the pod's."""
    pod_value = pod.context.get(*keys)
    if pod_value is not None and not allowed(pod_value):
        yield Problem(pod.context.at(*keys), message, pod_value)
    for container in pod.containers:
        value = container.context.get(*keys)
        if value is None and pod_value is not None and allowed(pod_value):
            continue
        if value is None or not allowed(value):
            yield Problem(container.context.at(*keys), f"{message} (here or in {pod.context.at(*keys)})", value)


def run_as_non_root(pod: Pod) -> Iterator[Problem]:
    yield from _required_everywhere(pod, ("runAsNonRoot",), lambda value: value is True,
                                    "Running as Non-root: must be true")


def run_as_non_root_user(pod: Pod) -> Iterator[Problem]:
    for context in pod.contexts:
        if (value := context.get("runAsUser")) is not None and (not isinstance(value, int) or value == 0):
            yield Problem(context.at("runAsUser"), "Running as Non-root user: must not be 0", value)


def restricted_seccomp(pod: Pod) -> Iterator[Problem]:
    yield from _required_everywhere(pod, ("seccompProfile", "type"), lambda value: value in PROFILE_TYPES,
                                    "Seccomp: must be RuntimeDefault or Localhost")


def restricted_capabilities(pod: Pod) -> Iterator[Problem]:
    for container in pod.containers:
        if "ALL" not in _items(container.context.get("capabilities", "drop")):
            yield Problem(container.context.at("capabilities", "drop"), "Capabilities: must drop ALL",
                          container.context.get("capabilities", "drop"))
        for path, capability in _added_capabilities(container):
            if capability != "NET_BIND_SERVICE":
                yield Problem(path, "Capabilities: only NET_BIND_SERVICE may be added", capability)


BASELINE_CONTROLS: tuple[Control, ...] = (
    host_process, host_namespaces, privileged, baseline_capabilities, host_path_volumes, host_ports, app_armor,
    se_linux, proc_mount, baseline_seccomp, sysctls, host_probes)
# Restricted replaces three baseline controls with stricter ones that report the same fields.
RESTRICTED_CONTROLS: tuple[Control, ...] = (
    *(control for control in BASELINE_CONTROLS
      if control not in (baseline_capabilities, host_path_volumes, baseline_seccomp)),
    volume_types, privilege_escalation, run_as_non_root, run_as_non_root_user, restricted_seccomp,
    restricted_capabilities)
# These restricted controls mean nothing to Windows nodes, so Windows pods (`spec.os.name`) skip them.
LINUX_ONLY: frozenset[Control] = frozenset({privilege_escalation, restricted_seccomp, restricted_capabilities})


def pod_security_problems(spec: dict[str, Any], level: Level, path: str = "spec",
                          metadata: dict[str, Any] | None = None, metadata_path: str = "metadata") -> list[Problem]:
    """Every way the pod spec breaks the level, with paths under `path` (and `metadata_path`)."""
    pod = Pod(_mapping(spec), path, _mapping(_mapping(metadata).get("annotations")), f"{metadata_path}.annotations")
    controls = BASELINE_CONTROLS if level == Level.BASELINE else RESTRICTED_CONTROLS
    return [problem for control in controls if not (pod.windows and control in LINUX_ONLY)
            for problem in control(pod)]
