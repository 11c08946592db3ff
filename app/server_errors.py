"""The HTTP servers' own answers, given before a request reaches Flask (a request line or
headers too large, a malformed request line), in the one JSON error shape instead of HTML."""
from __future__ import annotations

from http import HTTPStatus

from gunicorn import util as gunicorn_util
from werkzeug.serving import WSGIRequestHandler

from app.api_errors import error_document


def _gunicorn_write_error(sock, status_int, reason, mesg):
    body = error_document(status_int, mesg)
    head = (f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")
    gunicorn_util.write_nonblock(sock, head.encode("latin-1") + body)


def use_json_errors_in_gunicorn() -> None:
    # gunicorn's workers write these through this one function and offer no hook for it.
    gunicorn_util.write_error = _gunicorn_write_error


class JsonErrorsRequestHandler(WSGIRequestHandler):
    """The development server (werkzeug's, on http.server)."""

    def send_error(self, code, message=None, explain=None):
        body = error_document(code, message or "")
        self.send_response(code, HTTPStatus(code).phrase)
        self.send_header("Content-Type", "application/json")
        self.send_header("Connection", "close")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
