"""The one exception the client raises for an answer that is not a success."""
from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """The API said no: its HTTP status and its error body (`message`, and `id` or `name` and
    `value` where the API names the offending input); body is None when the answer was not JSON."""

    def __init__(self, status: int, body: dict[str, Any] | None, method: str = "", url: str = ""):
        self.status, self.body, self.method, self.url = status, body, method, url
        super().__init__(f"{status}: {self.message}")

    @property
    def message(self) -> str:
        if isinstance(self.body, dict) and isinstance(self.body.get("message"), str):
            return self.body["message"]
        return f"{self.method} {self.url} answered {self.status}".strip()
