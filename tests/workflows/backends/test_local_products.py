"""A local order reads its input artifacts as files and leaves products in its outputs folder;
the backend lists and streams them once the run has ended, and hands out nothing a hostile
workload points at outside that folder."""
from __future__ import annotations

import ast
import os
import tempfile
import time
from pathlib import Path

import pytest

from workflows.backends.base import InputArtifact, Phase, Submission
from workflows.backends.local import LocalBackend
from workflows.backends.runs import RunFolder, remove_runs_ended_before
from workflows.backends.sandbox import SandboxSettings, order_uid
from workflows.output_files import OutputChanged
from workflows.settings import CompileSettings

ORDER = "urn:marketplace:order:data-1"
ARTIFACT = "urn:marketplace:artifact:5b1f"
TABLE = b"scene,value\n" + b"S2A,0.5\n" * 50_000


@pytest.fixture
def tmp_path():
    """A folder that an order's own uid may pass through (pytest's is its user's alone), so that an
    order run without a sandbox by a root server can reach its run folder."""
    with tempfile.TemporaryDirectory() as folder:
        os.chmod(folder, 0o711)
        yield Path(folder)


def make_backend(tmp_path, mode="auto", **settings):
    return LocalBackend(CompileSettings(**settings), tmp_path / "runs", sandbox=SandboxSettings(mode=mode))


def order(code, inputs=(), parameters=(), order_id=ORDER):
    basic = {"image": "python:3.11-slim", "command": ["python3", "-c", code]}
    values = [*parameters, *((artifact.parameter, artifact.artifact_id) for artifact in inputs)]
    return Submission(order_id, "urn:acme:service:s", {"type": "basic", "basic": basic}, values, inputs=list(inputs),
                      access_token="unused-locally")


def chunks(content, size=4096):
    return lambda: (content[i:i + size] for i in range(0, len(content), size))


def table_input(content=TABLE):
    return InputArtifact("table", ARTIFACT, chunks(content))


def run_to_end(backend, submission, seconds=30):
    backend.submit(submission)
    lines, ends = [], time.monotonic() + seconds
    while time.monotonic() < ends:
        seen = backend.observe(submission.order_id, len(lines))
        lines += [line.message for line in seen.logs]
        if seen.finished:
            return seen, lines
        time.sleep(0.05)
    raise AssertionError(f"the order did not end within {seconds}s: {lines[-5:]}")


def content(product):
    return b"".join(product.open())


WRITES_RESULTS = """
import os, sys
data = open(sys.argv[sys.argv.index('--table') + 1], 'rb').read()
assert data == open(os.path.join(os.environ['MARKETPLACE_INPUTS_DIR'], 'table'), 'rb').read()
out = os.environ['MARKETPLACE_OUTPUTS_DIR']
os.makedirs(os.path.join(out, 'plots'))
open(os.path.join(out, 'result.csv'), 'w').write('lines,%d\\n' % data.count(b'\\n'))
open(os.path.join(out, 'plots', 'a.png'), 'wb').write(b'\\x89PNG')
print(sys.argv[1:])
"""


def test_an_order_reads_its_input_as_a_file_and_its_files_become_products(tmp_path):
    backend = make_backend(tmp_path)
    seen, lines = run_to_end(backend, order(WRITES_RESULTS, [table_input()], [("mode", "fast")]))
    assert seen.phase == Phase.SUCCEEDED, lines
    inputs = "/marketplace/inputs" if backend.sandbox.mode == "bubblewrap" else str(RunFolder(tmp_path / "runs",
                                                                                             ORDER).inputs)
    assert ast.literal_eval(lines[0]) == ["--mode", "fast", "--table", f"{inputs}/table"]
    products = backend.products(ORDER)
    assert [(p.name, p.size) for p in products] == [("plots/a.png", 4), ("result.csv", 12)]
    assert content(products[1]) == b"lines,50001\n" and products.refused == []
    again = backend.products(ORDER)  # a worker restarted before it stored them
    assert [(p.name, p.size) for p in again] == [(p.name, p.size) for p in products]
    assert content(again[0]) == b"\x89PNG"


def test_the_input_is_read_only_in_the_sandbox(tmp_path):
    backend = make_backend(tmp_path, mode="bubblewrap")
    code = "import sys; open(sys.argv[2], 'ab').write(b'x')"
    seen, lines = run_to_end(backend, order(code, [table_input()]))
    assert seen.phase == Phase.FAILED and any("Read-only file system" in line for line in lines)
    assert RunFolder(tmp_path / "runs", ORDER).inputs.joinpath("table").read_bytes() == TABLE


def test_an_input_cut_short_by_a_crash_is_copied_again_whole(tmp_path):
    def breaks_midway():
        yield TABLE[:1000]
        raise ConnectionError("storage went away")

    backend = make_backend(tmp_path)
    with pytest.raises(ConnectionError):
        backend.submit(order("print('ran')", [InputArtifact("table", ARTIFACT, breaks_midway)]))
    run = RunFolder(tmp_path / "runs", ORDER)
    assert not run.submission.exists() and not (run.inputs / "table").exists()
    seen, lines = run_to_end(make_backend(tmp_path), order("import sys; print(len(open(sys.argv[2], 'rb').read()))",
                                                           [table_input()]))
    assert (seen.phase, lines) == (Phase.SUCCEEDED, [str(len(TABLE))])
    assert os.listdir(run.inputs) == ["table"]


def test_a_failed_order_keeps_its_partial_products(tmp_path):
    backend = make_backend(tmp_path)
    code = ("import os, sys; open(os.environ['MARKETPLACE_OUTPUTS_DIR'] + '/partial.log', 'w').write('step 1 ok\\n');"
            "sys.exit(2)")
    seen, _ = run_to_end(backend, order(code))
    assert (seen.phase, seen.reason) == (Phase.FAILED, "exited with code 2")
    [product] = backend.products(ORDER)
    assert (product.name, content(product)) == ("partial.log", b"step 1 ok\n")


PLANTS_LINKS = """
import os, sys
out, runs = os.environ['MARKETPLACE_OUTPUTS_DIR'], sys.argv[sys.argv.index('--runs') + 1]
open(out + '/honest.txt', 'w').write('mine')
os.symlink('/etc/passwd', out + '/passwd')
os.symlink(runs, out + '/runs')  # other orders' run folders, and the server's data beside them
os.symlink('/etc', out + '/etc-folder')
os.mkfifo(out + '/pipe')
open(out + '/once.txt', 'w').write('named twice')
os.link(out + '/once.txt', out + '/twice.txt')  # two names: from here, the other one could be anywhere
try:
    os.link(sys.argv[sys.argv.index('--secret') + 1], out + '/secret.txt')
    print('linked the secret')
except OSError as error:
    print('no hard link:', error.strerror)
"""


@pytest.mark.parametrize("mode", ["bubblewrap", "none"])
def test_links_and_special_files_a_hostile_workload_plants_are_refused(tmp_path, mode):
    secret = tmp_path / "server-data" / "marketplace.db"
    secret.parent.mkdir()
    secret.write_text("every account's tokens")
    secret.chmod(0o666)  # readable and writable: the kernel's protected_hardlinks lets anyone link it
    backend = make_backend(tmp_path, mode=mode)
    seen, lines = run_to_end(backend, order(PLANTS_LINKS, parameters=[("runs", str(tmp_path / "runs")),
                                                                      ("secret", str(secret))]))
    assert seen.phase == Phase.SUCCEEDED, lines
    # In the sandbox the secret is not even visible; without one the link is made, and refused here.
    assert lines == (["linked the secret"] if mode == "none" else ["no hard link: No such file or directory"])
    products = backend.products(ORDER)
    assert [(p.name, content(p)) for p in products] == [("honest.txt", b"mine")]
    refused = "\n".join(products.refused)
    for name in ("passwd", "runs", "etc-folder"):
        assert f"'{name}' left out: a symbolic link" in refused
    assert "'pipe' left out: not a regular file" in refused
    for name in ("once.txt", "twice.txt"):
        assert f"'{name}' left out: a file with other hard links" in refused
    if mode == "none":
        assert "'secret.txt' left out: a file with other hard links" in refused


def test_a_file_swapped_after_the_listing_is_not_read(tmp_path):
    backend = make_backend(tmp_path)
    run_to_end(backend, order("import os; open(os.environ['MARKETPLACE_OUTPUTS_DIR'] + '/a.txt', 'w').write('a')"))
    [product] = backend.products(ORDER)
    outputs = RunFolder(tmp_path / "runs", ORDER).outputs
    (outputs / "a.txt").unlink()
    (outputs / "a.txt").symlink_to("/etc/passwd")
    with pytest.raises(OSError):
        content(product)
    (outputs / "a.txt").unlink()
    (outputs / "a.txt").write_text("b")  # the same name and size, another file
    with pytest.raises(OutputChanged):
        content(product)


@pytest.mark.skipif(os.geteuid() != 0, reason="orders have a uid of their own only when the server is root")
def test_as_root_only_the_orders_own_files_are_products(tmp_path):
    backend = make_backend(tmp_path)
    run_to_end(backend, order("import os; open(os.environ['MARKETPLACE_OUTPUTS_DIR'] + '/a.txt', 'w').write('a')"))
    outputs = RunFolder(tmp_path / "runs", ORDER).outputs
    assert (outputs / "a.txt").stat().st_uid == order_uid(ORDER)
    (outputs / "planted.txt").write_text("root's")
    assert [p.name for p in backend.products(ORDER)] == ["a.txt"]


def test_products_beyond_the_limits_are_left_out_and_said(tmp_path):
    code = ("import os; out = os.environ['MARKETPLACE_OUTPUTS_DIR']\n"
            "for name, size in [('a', 10), ('b', 50), ('c', 10), ('d', 10), ('e', 10)]:\n"
            "    open(os.path.join(out, name), 'wb').write(b'x' * size)")
    backend = make_backend(tmp_path, max_products=3, max_product_bytes=40)
    run_to_end(backend, order(code))
    products = backend.products(ORDER)
    assert [p.name for p in products] == ["a", "c", "d"]
    assert products.refused == ["1 more files left out: an order keeps at most 3 files",
                                "1 files (50 bytes) left out: an order keeps at most 40 bytes of files"]


def test_a_run_folder_stays_until_the_order_is_forgotten(tmp_path):
    backend = make_backend(tmp_path)
    run_to_end(backend, order("import os; open(os.environ['MARKETPLACE_OUTPUTS_DIR'] + '/a.txt', 'w').write('a')"))
    runs = tmp_path / "runs"
    assert remove_runs_ended_before(runs, -1, 3600) == 0  # past the TTL, but its products are not stored yet
    assert [p.name for p in backend.products(ORDER)] == ["a.txt"]
    backend.forget(ORDER)
    assert remove_runs_ended_before(runs, -1, 3600) == 1
    assert backend.products(ORDER) == []
