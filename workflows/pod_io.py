"""The helpers beside a Job's workload, run from the marketplace's image (workflows.job_data):

    python -m workflows.pod_io fetch --into DIR PARAMETER=ARTIFACT_ID ... --api URL
    python -m workflows.pod_io collect --order ORDER_ID --from DIR --max-files N --max-bytes N --api URL

`fetch` downloads each input artifact from `{api}/1/artifacts/{id}/blob` into DIR/PARAMETER
(through a temporary name, so a file is there whole or not at all); `collect` waits for SIGTERM,
which the kubelet sends once the workload's container has ended, then uploads every product in
DIR (workflows.output_files decides which files are: no links, capped) with
`POST {api}/1/orders/{id}/products?name=NAME`, each body streamed from the file. Both send the
order's access token (MARKETPLACE_ACCESS_TOKEN) as a bearer token, never to the host a download
is redirected to (a presigned storage URL carries its own signature). Transient failures (no
answer, 429, 5xx) are retried with backoff. Standard library only, so it starts fast and needs
nothing beyond the package itself.
"""
from __future__ import annotations

import argparse
import functools
import mimetypes
import os
import signal
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path

from workflows.order_data import artifact_blob_url, product_upload_url
from workflows.output_files import CHUNK_BYTES, OutputFile, list_outputs, read_output

TOKEN_VARIABLE = "MARKETPLACE_ACCESS_TOKEN"
RETRY_DELAYS = (1, 2, 4, 8, 16)  # seconds between attempts
TIMEOUT_SECONDS = 60  # per socket operation, not per transfer


class Refused(Exception):
    """The API refused the request for good (a 4xx other than 408 and 429)."""


def _request(url: str, token: str | None, method: str = "GET", body=None,
             headers: dict[str, str] | None = None) -> urllib.request.Request:
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    if token:
        request.add_unredirected_header("Authorization", f"Bearer {token}")  # not sent on after a redirect
    return request


def _with_retries(attempt: Callable[[], None], what: str, delays: Sequence[float]) -> None:
    for delay in (*delays, None):
        try:
            attempt()
            return
        except urllib.error.HTTPError as error:
            if error.code < 500 and error.code not in (408, 429):
                raise Refused(f"{what}: the API answered {error.code} {error.reason}") from None
            problem = f"{error.code} {error.reason}"
        except (urllib.error.URLError, OSError) as error:
            problem = str(error)
        if delay is None:
            raise OSError(f"{what}: {problem}, also on the last attempt")
        print(f"{what}: {problem}; trying again in {delay}s", file=sys.stderr, flush=True)
        time.sleep(delay)


def _download(url: str, token: str | None, target: Path) -> None:
    with urllib.request.urlopen(_request(url, token), timeout=TIMEOUT_SECONDS) as response, open(target, "wb") as file:
        while chunk := response.read(CHUNK_BYTES):
            file.write(chunk)


def fetch(api: str, token: str | None, into: Path, inputs: Sequence[tuple[str, str]],
          delays: Sequence[float] = RETRY_DELAYS) -> None:
    """Download each (parameter, artifact id) to `into`/parameter."""
    for parameter, artifact_id in inputs:
        if "/" in parameter or parameter in ("", ".", ".."):
            raise ValueError(f"{parameter!r} is not a parameter name")
        target, partial = into / parameter, into / f".{parameter}.partial"
        url = artifact_blob_url(api, artifact_id)
        _with_retries(functools.partial(_download, url, token, partial), f"fetching {parameter} ({artifact_id})",
                      delays)
        os.replace(partial, target)
        print(f"fetched {parameter} ({target.stat().st_size} bytes)", file=sys.stderr, flush=True)


def _upload(url: str, token: str | None, folder: Path, file: OutputFile) -> None:
    headers = {"Content-Type": mimetypes.guess_type(file.name)[0] or "application/octet-stream",
               "Content-Length": str(file.size)}
    request = _request(url, token, "POST", read_output(folder, file), headers)  # streamed, chunk by chunk
    with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
        response.read()


def collect(api: str, token: str | None, order_id: str, folder: Path, max_files: int, max_bytes: int,
            delays: Sequence[float] = RETRY_DELAYS) -> int:
    """Upload every product in `folder`; how many could not be uploaded."""
    listing = list_outputs(folder, max_files, max_bytes, owner=os.getuid())
    for line in listing.refused:
        print(f"[marketplace] {line}", file=sys.stderr, flush=True)
    failed = 0
    for file in listing.files:
        url = product_upload_url(api, order_id, file.name)
        try:
            _with_retries(functools.partial(_upload, url, token, folder, file), f"uploading {file.name!r}", delays)
        except (Refused, OSError) as error:
            failed += 1
            print(f"[marketplace] product {file.name!r} not kept: {error}", file=sys.stderr, flush=True)
    print(f"[marketplace] {len(listing.files) - failed} products uploaded", file=sys.stderr, flush=True)
    return failed


def wait_for_term() -> None:
    """Block until SIGTERM: the kubelet sends it once the workload's container has ended."""
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    print("waiting for the workload to end", file=sys.stderr, flush=True)
    signal.sigwait({signal.SIGTERM})


def _pair(text: str) -> tuple[str, str]:
    parameter, separator, artifact_id = text.partition("=")
    if not separator:
        raise argparse.ArgumentTypeError(f"{text!r} is not PARAMETER=ARTIFACT_ID")
    return parameter, artifact_id


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workflows.pod_io")
    commands = parser.add_subparsers(dest="command", required=True)
    fetching = commands.add_parser("fetch")
    fetching.add_argument("--into", type=Path, required=True)
    fetching.add_argument("inputs", nargs="+", type=_pair)
    collecting = commands.add_parser("collect")
    collecting.add_argument("--order", required=True)
    collecting.add_argument("--from", dest="folder", type=Path, required=True)
    collecting.add_argument("--max-files", type=int, required=True)
    collecting.add_argument("--max-bytes", type=int, required=True)
    collecting.add_argument("--no-wait", action="store_true", help="collect at once, without waiting for SIGTERM")
    for command in (fetching, collecting):
        command.add_argument("--api", required=True)
    arguments = parser.parse_args(argv)
    token, api = os.environ.get(TOKEN_VARIABLE), arguments.api.rstrip("/")
    if arguments.command == "fetch":
        try:
            fetch(api, token, arguments.into, arguments.inputs)
        except (Refused, OSError, ValueError) as error:
            print(f"[marketplace] an input could not be fetched: {error}", file=sys.stderr, flush=True)
            return 1
        return 0
    if not arguments.no_wait:
        wait_for_term()
    return 1 if collect(api, token, arguments.order, arguments.folder, arguments.max_files,
                        arguments.max_bytes) else 0


if __name__ == "__main__":
    sys.exit(main())
