"""The files a workload left in its outputs folder, read without trusting the workload.

Every regular file under the folder is a product, named by its path relative to it with "/"
separators. The workload may be hostile, so the folder is walked by file descriptor with
O_NOFOLLOW at every step, never by path: a symbolic link (to /etc/passwd, to the server's data
folder, to another order's run) is refused, not followed, and so is a directory link; a file
with more than one hard link is refused, because its other name may lie outside the folder
(a hard link to a file the workload could read but should not hand out); special files
(FIFOs, sockets, devices) and names no download could carry are refused too. The walk is
measured (entries, depth) before it goes on, and the count and total size of the files kept
are capped; what is left out is said, one line per reason.

Reading a listed file opens it again the same way and checks that it is the same file (device,
inode, change time, size, a single link): what was listed is what is read. Standard library only: the Job's
product collector (`workflows.pod_io`) runs this in the marketplace image, beside the workload.
"""
from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

MAX_NAME_CHARS = 1024  # of a whole relative name
MAX_DEPTH = 32
MAX_REFUSED_LINES = 50
CHUNK_BYTES = 1024 * 1024
_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK: a FIFO put where a file was listed must not block the reader.
_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


class OutputChanged(OSError):
    """The file at a listed name is no longer the file that was listed."""


@dataclass(frozen=True)
class OutputFile:
    name: str
    size: int
    # (st_dev, st_ino, st_ctime_ns) when listed: inode numbers are reused, and no one can set a ctime.
    identity: tuple[int, int, int]


@dataclass
class OutputListing:
    files: list[OutputFile] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # one line per reason something was left out


def _identity(info: os.stat_result) -> tuple[int, int, int]:
    return info.st_dev, info.st_ino, info.st_ctime_ns


def name_problem(name: str) -> str | None:
    """Why a relative name cannot be a product's name, or None."""
    if len(name) > MAX_NAME_CHARS:
        return f"a name longer than {MAX_NAME_CHARS} characters"
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return "a name that is not UTF-8"
    if any(ord(c) < 32 or 127 <= ord(c) < 160 for c in name) or "\\" in name:
        return "a name with control characters or a backslash"
    if any(part in ("", ".", "..") for part in name.split("/")):
        return "a name with an empty, '.' or '..' part"
    return None


class _Walk:
    def __init__(self, max_files: int, max_bytes: int, owner: int | None):
        self.max_files, self.max_bytes, self.owner = max_files, max_bytes, owner
        self.entries_left = max(10 * max_files, 10_000)  # looked at, files or not
        self.listing = OutputListing()
        self.total = 0
        self.over_count = self.over_bytes = self.over_bytes_size = 0
        self.refusals = 0
        self.cut = False

    def refuse(self, name: str, why: str) -> None:
        self.refusals += 1
        if self.refusals <= MAX_REFUSED_LINES:
            self.listing.refused.append(f"{name!r} left out: {why}")

    def directory(self, fd: int, prefix: str, device: int, depth: int) -> None:
        names = []
        with os.scandir(fd) as entries:
            for entry in entries:
                if self.entries_left <= 0:
                    self.cut = True
                    break
                self.entries_left -= 1
                names.append(entry.name)
        for name in sorted(names):
            self.entry(fd, name, prefix + name, device, depth)

    def entry(self, parent: int, name: str, relative: str, device: int, depth: int) -> None:
        try:
            info = os.stat(name, dir_fd=parent, follow_symlinks=False)
        except FileNotFoundError:
            return
        if problem := name_problem(relative):
            self.refuse(relative, problem)
        elif stat.S_ISLNK(info.st_mode):
            self.refuse(relative, "a symbolic link (links are not followed)")
        elif info.st_dev != device:
            self.refuse(relative, "on another file system")
        elif stat.S_ISDIR(info.st_mode):
            if depth >= MAX_DEPTH:
                self.refuse(relative, f"folders nested deeper than {MAX_DEPTH}")
                return
            child = os.open(name, _DIRECTORY, dir_fd=parent)
            try:
                self.directory(child, relative + "/", device, depth + 1)
            finally:
                os.close(child)
        elif not stat.S_ISREG(info.st_mode):
            self.refuse(relative, "not a regular file")
        elif info.st_nlink != 1:
            self.refuse(relative, "a file with other hard links, which may lie outside the outputs folder")
        elif self.owner is not None and info.st_uid != self.owner:
            self.refuse(relative, "a file the order's user does not own")
        else:
            self.keep(OutputFile(relative, info.st_size, _identity(info)))

    def keep(self, file: OutputFile) -> None:
        if len(self.listing.files) >= self.max_files:
            self.over_count += 1
        elif self.total + file.size > self.max_bytes:
            self.over_bytes += 1
            self.over_bytes_size += file.size
        else:
            self.total += file.size
            self.listing.files.append(file)

    def finish(self) -> OutputListing:
        refused = self.listing.refused
        if self.refusals > MAX_REFUSED_LINES:
            refused.append(f"and {self.refusals - MAX_REFUSED_LINES} more files left out for the reasons above")
        if self.over_count:
            refused.append(f"{self.over_count} more files left out: an order keeps at most {self.max_files} files")
        if self.over_bytes:
            refused.append(f"{self.over_bytes} files ({self.over_bytes_size} bytes) left out: an order keeps at "
                           f"most {self.max_bytes} bytes of files")
        if self.cut:
            refused.append("the outputs folder holds too many entries; the rest were not looked at")
        return self.listing


def list_outputs(folder: Path | str, max_files: int, max_bytes: int, owner: int | None = None) -> OutputListing:
    """The products in `folder`, in name order (the same each time), at most `max_files` of at
    most `max_bytes` together; `owner`: the only uid whose files count (None: any)."""
    walk = _Walk(max_files, max_bytes, owner)
    try:
        root = os.open(folder, _DIRECTORY)
    except FileNotFoundError:
        return walk.finish()
    except OSError:  # the workload put a link or a file in its place
        walk.refuse(".", "the outputs folder is not a folder")
        return walk.finish()
    try:
        walk.directory(root, "", os.fstat(root).st_dev, 0)
    finally:
        os.close(root)
    return walk.finish()


def _open_listed(folder: Path | str, listed: OutputFile) -> int:
    *folders, name = listed.name.split("/")
    fd = os.open(folder, _DIRECTORY)
    try:
        for part in folders:
            child = os.open(part, _DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = child
        file = os.open(name, _FILE, dir_fd=fd)
    finally:
        os.close(fd)
    info = os.fstat(file)
    if not (stat.S_ISREG(info.st_mode) and _identity(info) == listed.identity and info.st_nlink == 1
            and info.st_size == listed.size):
        os.close(file)
        raise OutputChanged(f"{listed.name!r} is no longer the file that was listed")
    return file


def read_output(folder: Path | str, listed: OutputFile, chunk_bytes: int = CHUNK_BYTES) -> Iterator[bytes]:
    """The listed file's content in chunks; OutputChanged if another file took its place."""
    with os.fdopen(_open_listed(folder, listed), "rb", buffering=0) as handle:
        left = listed.size
        while left > 0 and (chunk := handle.read(min(chunk_bytes, left))):
            left -= len(chunk)
            yield chunk
