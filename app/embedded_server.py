"""The embedded default's HTTP server: werkzeug's, answering in the one JSON error shape, sending
whole local files with the kernel's sendfile (as gunicorn does in production) instead of reading
them into the process a chunk at a time, and handing each connection to a thread that has served
one before (one per connection still, so that a long event stream holds up nobody)."""
from __future__ import annotations

import queue
import socket
import threading
from collections.abc import Iterator
from typing import BinaryIO

from werkzeug.serving import ThreadedWSGIServer

from app.server_errors import JsonErrorsRequestHandler

IDLE_THREAD_SECONDS = 60.0  # how long a thread with no connection waits for one before it ends


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


class EmbeddedServer(ThreadedWSGIServer):
    """Starting a thread per connection cost the accepting thread more than a request's own
    handling in a burst (the new thread must run, under the interpreter lock, before `start`
    returns); a thread that has finished a connection waits a while for the next instead."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._lock = threading.Lock()
        self._idle = 0  # threads waiting on the queue, less the connections put there for them
        self._connections: queue.SimpleQueue = queue.SimpleQueue()

    @property
    def idle_threads(self) -> int:
        return self._idle

    def process_request(self, request, client_address) -> None:
        with self._lock:
            if self._idle:
                self._idle -= 1
                self._connections.put((request, client_address))
                return
        threading.Thread(target=self._serve, args=(request, client_address), daemon=True,
                         name="http-connection").start()

    def _serve(self, request, client_address) -> None:
        while True:
            self.process_request_thread(request, client_address)  # handles, then closes the connection
            with self._lock:
                self._idle += 1
            try:
                request, client_address = self._connections.get(timeout=IDLE_THREAD_SECONDS)
            except queue.Empty:
                with self._lock:
                    try:  # one put for this thread after its wait ended
                        request, client_address = self._connections.get_nowait()
                    except queue.Empty:
                        self._idle -= 1
                        return
