"""What the artifacts API costs a large transfer on the embedded default.

A 1 GiB file is uploaded to a real `marketplace serve` process (artifacts in a folder of its data
folder) and downloaded again with Python's http.client (sending with sendfile, receiving into one
reused buffer, so that the client takes little of the cores it shares; BENCH_CLIENT=curl: with
curl), beside
plain copies of the same file on the same disk, alternating them all: `cp`'s way (shutil.copyfile:
the kernel copies, the bytes never reach the process), a program's way (read and write 1 MiB at
a time, as the API's process must), and a durable copy (`cp`, then fsync: the API syncs an upload
before it records it, so that a power cut never leaves a "ready" artifact without its content).
One round warms up uncounted; dirty pages are written out before each transfer, so none pays for
the one before. Printed: the median throughput of each, the API's as a ratio of each copy's
(goal: at least 0.5), and the API process's resident memory above its idle size during the
transfers (goal: under 100 MB; sampled from /proc/<pid>/status VmRSS, with VmHWM for the whole
life of the process beside it). No assertion: figures to read.

    BENCH_SIZE_MIB=1024 BENCH_RUNS=3 python -m tests.bench.bench_artifacts
"""
from __future__ import annotations

import fcntl
import hashlib
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

from tests.serving import Api, Process, clean_environment, free_port, token_for, wait_until

MIB = 1024 * 1024
SIZE = int(os.environ.get("BENCH_SIZE_MIB", 1024)) * MIB
RUNS = int(os.environ.get("BENCH_RUNS", 3))
BLOCK = MIB
COPIES = ("cp", "read-write", "cp+fsync")
F_SETPIPE_SZ = 1031  # fcntl: the size of a pipe (Linux)
CURL = shutil.which("curl") if os.environ.get("BENCH_CLIENT", "python") == "curl" else None
# gunicorn instead of the embedded server: one worker process (whose memory is measured).
PRODUCTION = ["--production"] if os.environ.get("BENCH_PRODUCTION") else []


def memory_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise LookupError(field)


class PeakMemory:
    """The highest VmRSS of a process while the block runs, sampled every few milliseconds."""

    def __init__(self, pid: int):
        self.pid, self.peak_kib = pid, 0
        self._done = threading.Event()

    def _sample(self) -> None:
        while not self._done.is_set():
            self.peak_kib = max(self.peak_kib, memory_kib(self.pid, "VmRSS"))
            self._done.wait(0.005)

    def __enter__(self) -> PeakMemory:
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_) -> None:
        self._done.set()
        self._thread.join()
        self.peak_kib = max(self.peak_kib, memory_kib(self.pid, "VmRSS"))


def serving_process(pid: int) -> int:
    """The process that answers: gunicorn's one worker, or the embedded server itself."""
    if not PRODUCTION:
        return pid
    children = wait_until(lambda: Path(f"/proc/{pid}/task/{pid}/children").read_text().split(), 30,
                          "gunicorn's worker started")
    return int(children[0])


def make_file(path: Path, size: int) -> None:
    block = os.urandom(BLOCK)
    with open(path, "wb") as handle:
        for _ in range(size // BLOCK):
            handle.write(block)


def kernel_copy(source: Path, target: Path) -> float:
    began = time.perf_counter()
    shutil.copyfile(source, target)
    elapsed = time.perf_counter() - began
    target.unlink()
    return elapsed


def durable_copy(source: Path, target: Path) -> float:
    began = time.perf_counter()
    shutil.copyfile(source, target)
    with open(target, "rb") as copied:
        os.fsync(copied.fileno())
    elapsed = time.perf_counter() - began
    target.unlink()
    return elapsed


def read_write_copy(source: Path, target: Path) -> float:
    began = time.perf_counter()
    with open(source, "rb") as reading, open(target, "wb") as writing:
        while block := reading.read(BLOCK):
            writing.write(block)
    elapsed = time.perf_counter() - began
    target.unlink()
    return elapsed


def connection(base: str) -> http.client.HTTPConnection:
    address = urlsplit(base)
    return http.client.HTTPConnection(address.hostname, address.port, timeout=600, blocksize=BLOCK)


def curl(arguments: list[str]) -> tuple[float, bytes]:
    began = time.perf_counter()
    run = subprocess.run([CURL, "-s", "-S", "--fail-with-body", *arguments], capture_output=True, check=True)
    return time.perf_counter() - began, run.stdout


def upload(base: str, token: str, source: Path) -> tuple[float, dict]:
    if CURL:
        elapsed, answer = curl(["-X", "POST", "-T", str(source), "-H", "Expect:",
                                "-H", f"Authorization: Bearer {token}", "-H", "Content-Type: application/octet-stream",
                                "-H", f"X-Name: {source.name}", f"{base}/1/artifacts"])
        return elapsed, json.loads(answer)
    http_connection = connection(base)
    began = time.perf_counter()
    with open(source, "rb") as body:  # the client sends with sendfile, so that it costs the API's core little
        http_connection.putrequest("POST", "/1/artifacts")
        for header, value in {"Authorization": f"Bearer {token}", "Content-Type": "application/octet-stream",
                              "Content-Length": str(source.stat().st_size), "X-Name": source.name}.items():
            http_connection.putheader(header, value)
        http_connection.endheaders()
        http_connection.sock.sendfile(body)
        response = http_connection.getresponse()
        answer = json.loads(response.read())
    elapsed = time.perf_counter() - began
    http_connection.close()
    assert response.status == 201, answer
    return elapsed, answer


def download(base: str, token: str, artifact: dict, target: Path) -> float:
    if CURL:
        elapsed, _ = curl(["-o", str(target), "-H", f"Authorization: Bearer {token}", artifact["links"]["data"]])
        assert target.stat().st_size == artifact["size"]
        target.unlink()
        return elapsed
    http_connection = connection(base)
    began = time.perf_counter()
    http_connection.request("GET", urlsplit(artifact["links"]["data"]).path,
                            headers={"Authorization": f"Bearer {token}"})
    sock = http_connection.sock  # (the connection lets go of it at a Connection: close answer)
    response = http_connection.getresponse()
    assert response.status == 200, response.read()
    with open(target, "wb", buffering=0) as handle:
        first = response.fp.read1(BLOCK)  # what came with the headers; the rest is still in the socket
        handle.write(first)
        splice_into(sock, handle, artifact["size"] - len(first))
    elapsed = time.perf_counter() - began
    http_connection.close()
    assert target.stat().st_size == artifact["size"]
    target.unlink()
    return elapsed


def splice_into(source: socket.socket, target, length: int) -> None:
    """`length` bytes from the socket into the file, through a pipe, never copied into the
    process (splice(2)): the kernel's way for a network transfer, as `cp`'s is for a file."""
    source.settimeout(None)  # splice(2) needs a blocking socket
    reading, writing = os.pipe()
    try:
        fcntl.fcntl(writing, F_SETPIPE_SZ, BLOCK)
        while length:
            received = os.splice(source.fileno(), writing, min(length, BLOCK))
            if not received:
                raise EOFError(f"the download ended {length} bytes short")
            length -= received
            while received:
                received -= os.splice(reading, target.fileno(), received)
    finally:
        os.close(reading)
        os.close(writing)


def sha256_alone(source: Path) -> float:
    """Hashing the file from memory and nothing else: a bound no upload that measures its
    SHA-256 on the way can beat on this CPU."""
    with open(source, "rb") as reading:
        began = time.perf_counter()
        hashlib.file_digest(reading, "sha256")
        return time.perf_counter() - began


def main() -> int:
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_DIR")) as folder:
        folder = Path(folder)
        data_dir, source = folder / "data", folder / "source.bin"
        data_dir.mkdir()
        make_file(source, SIZE)
        env = clean_environment(data_dir, MARKETPLACE_MAX_ARTIFACT_SIZE=str(2 * SIZE), MARKETPLACE_LOG_LEVEL="WARNING",
                                MARKETPLACE_WEB_WORKERS="1")
        if PRODUCTION:  # gunicorn leaves the schema to `db upgrade`
            subprocess.run([sys.executable, "-m", "app.cli", "db", "upgrade"], env=env, cwd=data_dir, check=True,
                           capture_output=True)
        port = free_port()
        server = Process(["serve", "--port", str(port), *PRODUCTION], env, data_dir, folder / "serve.log").start()
        try:
            base = f"http://127.0.0.1:{port}"
            token = token_for("bench", env, data_dir)
            wait_until(Api(base, token).answers, 60, "the API answering")
            pid = serving_process(server.process.pid)
            _, warm = upload(base, token, _small_file(folder))  # every code path loaded once
            Api(base, token).call("DELETE", urlsplit(warm["links"]["self"]).path)
            idle_kib = memory_kib(pid, "VmRSS")
            times: dict[str, list[float]] = {name: [] for name in COPIES + ("upload", "download")}
            hashing: list[float] = []
            peaks: dict[str, int] = {"upload": 0, "download": 0}
            for _ in range(RUNS + 1):  # run 0 warms up: its figures are dropped below
                os.sync()
                times["cp"].append(kernel_copy(source, folder / "copy.bin"))
                os.sync()
                times["read-write"].append(read_write_copy(source, folder / "copy.bin"))
                os.sync()
                times["cp+fsync"].append(durable_copy(source, folder / "copy.bin"))
                hashing.append(sha256_alone(source))
                os.sync()
                with PeakMemory(pid) as memory:
                    elapsed, artifact = upload(base, token, source)
                times["upload"].append(elapsed)
                peaks["upload"] = max(peaks["upload"], memory.peak_kib)
                os.sync()
                with PeakMemory(pid) as memory:
                    times["download"].append(download(base, token, artifact, folder / "download.bin"))
                peaks["download"] = max(peaks["download"], memory.peak_kib)
                Api(base, token).call("DELETE", urlsplit(artifact["links"]["self"]).path)
            high_water_kib = memory_kib(pid, "VmHWM")
            times = {name: samples[1:] for name, samples in times.items()}
            hashing = hashing[1:]
        finally:
            server.stop()
    print(f"{SIZE // MIB} MiB, {RUNS} runs of each after a warm-up, alternating; "
          f"`{' '.join(['marketplace', 'serve', *PRODUCTION])}` with the folder store, "
          f"client {'curl' if CURL else 'http.client, sending with sendfile, receiving with splice'}")
    copies = {name: statistics.median(times[name]) for name in COPIES}
    for name, samples in times.items():
        median = statistics.median(samples)
        ratios = "" if name in COPIES else "  " + ", ".join(
            f"{copies[copy] / median:4.2f}x {copy}'s" for copy in COPIES) + " (goal >= 0.5)"
        print(f"{name:>10}: {SIZE / MIB / median:6.0f} MiB/s (median of {', '.join(f'{s:.2f}' for s in samples)} s)"
              f"{ratios}")
    hash_alone = statistics.median(hashing)
    print(f"SHA-256 alone: {SIZE / MIB / hash_alone:6.0f} MiB/s from memory, {copies['cp'] / hash_alone:4.2f}x cp's: "
          "the most an upload that hashes its content can reach, here")
    print(f"API process: idle {idle_kib / 1024:.0f} MiB resident; peak above idle "
          f"{(peaks['upload'] - idle_kib) / 1024:.1f} MiB during uploads, "
          f"{(peaks['download'] - idle_kib) / 1024:.1f} MiB during downloads (goal < 100 MB); "
          f"VmHWM over its life {high_water_kib / 1024:.0f} MiB")
    return 0


def _small_file(folder: Path) -> Path:
    path = folder / "warm-up.bin"
    path.write_bytes(os.urandom(4 * MIB))
    return path


if __name__ == "__main__":
    raise SystemExit(main())
