"""The command line that runs one local order inside a bubblewrap sandbox (or, where there is
none, the limits that still apply). Pure: no process is started here except the probe.

Inside the sandbox an order sees the system's programs and libraries read-only, a minimal /etc,
its own folder (read-write, its working folder and HOME, at /order), its own /tmp, its input
files (read-only, at /marketplace/inputs) and outputs folder (read-write, at /marketplace/outputs),
fresh /proc and /dev, and nothing else: not the server's data folder, secret, database or other orders. It
has its own PID, IPC, UTS (and, unless allowed, network) namespaces, so it can neither see nor
signal the server or other orders. As root, the order runs as an unprivileged uid of its own,
with no capabilities and no_new_privs; otherwise bubblewrap's user namespace keeps the caller's uid.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass

from workflows.order_data import INPUTS_DIR, OUTPUTS_DIR

SANDBOX_MODES = ("auto", "bubblewrap", "none")
ORDER_FOLDER = "/order"  # the order's own folder, as the workload sees it
SYSTEM_PATHS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# What programs need from /etc, and nothing that could hold a secret.
ETC_FILES = ("passwd", "group", "nsswitch.conf", "hosts", "host.conf", "resolv.conf", "ld.so.cache", "ld.so.conf",
             "ld.so.conf.d", "localtime", "timezone", "ssl/certs", "ca-certificates", "ca-certificates.conf",
             "alternatives", "mime.types", "os-release", "debian_version", "protocols", "services", "fonts")
ORDER_PATH = "/usr/local/bin:/usr/bin:/bin"
UID_BASE, UID_RANGE = 200_000, 100_000


@dataclass(frozen=True)
class Limits:
    """What one order may use; every value is a hard limit."""

    deadline_seconds: int = 3600
    memory_bytes: int = 2 * 1024**3      # address space (RLIMIT_AS)
    cpu_seconds: int = 3600              # CPU time per process (RLIMIT_CPU)
    processes: int = 256                 # processes and threads of the order's uid (RLIMIT_NPROC)
    file_bytes: int = 1024**3            # the largest file it may write (RLIMIT_FSIZE)
    open_files: int = 1024               # RLIMIT_NOFILE
    kill_grace_seconds: int = 5          # between TERM and KILL when it is stopped


@dataclass(frozen=True)
class SandboxSettings:
    mode: str = "auto"                   # resolved by `resolve_mode` before use
    network: bool = False
    read_only_paths: tuple[str, ...] = ()  # more host folders the orders may read (an operator's choice)


def order_uid(order_id: str) -> int:
    """An unprivileged uid of the order's own, stable for its id (used when the server is root)."""
    return UID_BASE + int(hashlib.sha256(order_id.encode()).hexdigest()[:8], 16) % UID_RANGE


def bubblewrap_works(bwrap: str | None = None) -> str | None:
    """None if bubblewrap can make a sandbox here, else why not."""
    bwrap = bwrap or shutil.which("bwrap")
    if bwrap is None:
        return "bubblewrap (bwrap) is not installed"
    probe = [bwrap, *_namespaces(network=False), "--die-with-parent", *_system_binds(), "--proc", "/proc",
             "--dev", "/dev", "--", "/bin/true"]
    try:
        result = subprocess.run(probe, stdin=subprocess.DEVNULL, capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"bubblewrap could not run: {error}"
    return None if result.returncode == 0 else f"bubblewrap failed: {result.stderr.decode(errors='replace')[-300:]}"


def resolve_mode(requested: str) -> tuple[str, str | None]:
    """The mode to use and, when the sandbox is off, why."""
    if requested == "none":
        return "none", "MARKETPLACE_SANDBOX=none"
    problem = bubblewrap_works()
    if problem is None:
        return "bubblewrap", None
    if requested == "bubblewrap":
        raise RuntimeError(f"MARKETPLACE_SANDBOX=bubblewrap, but {problem}")
    return "none", problem


def command_exists(command: str, settings: SandboxSettings) -> bool:
    """Whether the order could find its program: on PATH, or at an absolute path that the
    sandbox shows (the system folders and the operator's read-only paths are bound as they are)."""
    if "/" not in command:
        return any(os.access(os.path.join(folder, command), os.X_OK) for folder in ORDER_PATH.split(":"))
    if settings.mode == "bubblewrap":
        visible = (*SYSTEM_PATHS, *settings.read_only_paths)
        if not any(command == root or command.startswith(root.rstrip("/") + "/") for root in visible):
            return False
    return os.access(command, os.X_OK)


def _namespaces(network: bool) -> list[str]:
    flags = ["--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
    if os.geteuid() != 0:
        flags.append("--unshare-user")  # unprivileged bubblewrap needs a user namespace
    return flags if network else [*flags, "--unshare-net"]


def _bind_as_is(path: str) -> list[str]:
    """A host path at the same place, read-only; a symbolic link (merged /usr) stays a link."""
    if os.path.islink(path):
        return ["--symlink", os.readlink(path), path]
    if os.path.exists(path):
        return ["--ro-bind", path, path]
    return []


def _system_binds(extra: Sequence[str] = ()) -> list[str]:
    binds = [arg for path in SYSTEM_PATHS for arg in _bind_as_is(path)]
    binds += [arg for name in ETC_FILES for arg in _bind_as_is(f"/etc/{name}")]
    return binds + [arg for path in extra for arg in ("--ro-bind", path, path) if os.path.exists(path)]


def _limit_arguments(limits: Limits) -> list[str]:
    return [f"--as={limits.memory_bytes}", f"--cpu={limits.cpu_seconds}", f"--nproc={limits.processes}",
            f"--fsize={limits.file_bytes}", f"--nofile={limits.open_files}"]


def sandboxed_command(argv: Sequence[str], env: dict[str, str], folder: str, tmp: str, order_id: str,
                      limits: Limits, settings: SandboxSettings, inputs: str | None = None,
                      outputs: str | None = None) -> list[str]:
    """bwrap … [setpriv …] prlimit … -- argv: the limits are set inside the namespaces, so that
    the process count is the order's own."""
    # The parent made explicitly: bubblewrap makes the parents of mount points 0700, root's only.
    data = ["--dir", os.path.dirname(INPUTS_DIR)] if inputs or outputs else []
    data += [*(["--ro-bind", inputs, INPUTS_DIR] if inputs else []),
             *(["--bind", outputs, OUTPUTS_DIR] if outputs else [])]
    command = [shutil.which("bwrap") or "bwrap", *_namespaces(settings.network), "--die-with-parent",
               *_system_binds(settings.read_only_paths), "--proc", "/proc", "--dev", "/dev",
               "--bind", folder, ORDER_FOLDER, "--bind", tmp, "/tmp", *data, "--chdir", ORDER_FOLDER,
               "--hostname", "order", "--clearenv"]
    for key, value in {**base_environment(), **env}.items():
        command += ["--setenv", key, value]
    command.append("--")
    if os.geteuid() == 0:
        uid = str(order_uid(order_id))
        command += ["/usr/bin/setpriv", "--reuid", uid, "--regid", uid, "--clear-groups", "--inh-caps=-all",
                    "--bounding-set=-all", "--no-new-privs", "--"]
    return [*command, "/usr/bin/prlimit", *_limit_arguments(limits), "--", *argv]


def base_environment(home: str = ORDER_FOLDER) -> dict[str, str]:
    """Every variable an order gets besides MARKETPLACE_ORDER_ID and MARKETPLACE_SERVICE_ID."""
    return {"PATH": ORDER_PATH, "HOME": home, "LANG": "C.UTF-8"}
