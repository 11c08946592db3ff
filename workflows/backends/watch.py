"""Keeping an in-memory picture of a resource's objects: list, then watch from the list's
resourceVersion; resume after a stream ends, relist after 410 Gone, skip BOOKMARKs but keep
their resourceVersion; on any other failure, back off and relist."""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from workflows.backends.cluster import ClusterClient, Resource, WatchExpired

log = logging.getLogger(__name__)
WATCH_TIMEOUT_SECONDS = 300
MAX_BACKOFF_SECONDS = 30.0


class ResourceWatcher:
    """Feeds `on_list(items)` after each (re)list and `on_event(type, object)` for each change."""

    def __init__(self, client: ClusterClient, resource: Resource, selector: str,
                 on_list: Callable[[list[dict[str, Any]]], None], on_event: Callable[[str, dict[str, Any]], None]):
        self._client, self.resource, self._selector = client, resource, selector
        self._on_list, self._on_event = on_list, on_event
        self.synced = threading.Event()
        self.relists = 0
        self.failures = 0

    def _relist(self) -> str | None:
        items, version = self._client.list(self.resource, self._selector)
        self._on_list(items)
        self.relists += 1
        self.synced.set()
        return version

    def run(self, stop: threading.Event) -> None:
        version, backoff = None, 1.0
        while not stop.is_set():
            try:
                if version is None:
                    version = self._relist()
                for event in self._client.watch(self.resource, self._selector, version, WATCH_TIMEOUT_SECONDS):
                    obj = event.get("object") or {}
                    version = (obj.get("metadata") or {}).get("resourceVersion") or version
                    if event.get("type") != "BOOKMARK":
                        self._on_event(event["type"], obj)
                    if stop.is_set():
                        return
                backoff = 1.0
            except WatchExpired:
                log.info("watch of %s expired (410); listing again", self.resource.plural)
                version = None
            except Exception as error:  # the watch must outlive any API failure
                self.failures += 1
                self.synced.clear()
                log.warning("watch of %s failed (%s); retrying in %.0fs", self.resource.plural, error, backoff)
                version = None
                stop.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)

    def start(self, stop: threading.Event) -> threading.Thread:
        thread = threading.Thread(target=self.run, args=(stop,), name=f"watch-{self.resource.plural}", daemon=True)
        thread.start()
        return thread
