"""The embedded default's HTTP server: werkzeug's, answering in the one JSON error shape, and
sending whole local files with the kernel's sendfile (as gunicorn does in production) instead of
reading them into the process a chunk at a time."""
from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import BinaryIO

from app.server_errors import JsonErrorsRequestHandler


class SendfileWrapper:
    """wsgi.file_wrapper: the first (empty) piece makes the server send the status line and
    headers, then the file goes to the socket from where it stands, up to its end."""

    def __init__(self, connection: socket.socket, file: BinaryIO, block_size: int = 8192):
        self.connection, self.file = connection, file

    def __iter__(self) -> Iterator[bytes]:
        yield b""
        self.connection.sendfile(self.file, offset=self.file.tell())

    def close(self) -> None:
        self.file.close()


class EmbeddedRequestHandler(JsonErrorsRequestHandler):
    def make_environ(self):
        environ = super().make_environ()
        environ["wsgi.file_wrapper"] = lambda file, block_size=8192: SendfileWrapper(self.connection, file, block_size)
        return environ
