"""A Kubernetes API emulator (kmock's) on 127.0.0.1, in a thread of its own, that the official
client talks to unchanged. Tests drive object status through its HTTP API, like a controller."""
from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import kmock
import kubernetes
import yaml

RESOURCES = {
    "batch/v1/jobs": kmock.ResourceInfo(kind="Job", namespaced=True,
                                        verbs={"create", "get", "list", "watch", "patch", "delete"}),
    "v1/pods": kmock.ResourceInfo(kind="Pod", namespaced=True, verbs={"get", "list", "watch"}),
    "argoproj.io/v1alpha1/workflows": kmock.ResourceInfo(kind="Workflow", namespaced=True,
                                                         verbs={"create", "get", "list", "watch", "patch", "delete"}),
}


class Emulator:
    def __init__(self):
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self.handler: kmock.KubernetesEmulator | None = None
        self.url = ""
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._serve())

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        self._main = asyncio.current_task()
        async with kmock.KubernetesEmulator() as handler, kmock.Server(handler) as server:
            for key, info in RESOURCES.items():
                handler.resources[key] = info
            self.handler, self.url = handler, str(server.url).rstrip("/")
            self._ready.set()
            await self._stop.wait()

    def start(self) -> Emulator:
        self._thread.start()
        self._ready.wait(10)
        return self

    def stop(self) -> None:
        def shut_down():
            self._stop.set()
            for task in asyncio.all_tasks(self._loop):  # open watch streams would hold the server
                if task is not self._main:
                    task.cancel()
        self._loop.call_soon_threadsafe(shut_down)
        self._thread.join(10)

    def call(self, function: Callable[[], Any]) -> Any:
        """Run `function` on the emulator's loop (to script reactions or read its objects)."""
        async def run():
            return function()
        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(10)

    def api_client(self) -> kubernetes.client.ApiClient:
        configuration = kubernetes.client.Configuration()
        configuration.host = self.url
        return kubernetes.client.ApiClient(configuration)

    def kubeconfig(self, folder: Path, namespace: str) -> Path:
        path = folder / "kubeconfig"
        path.write_text(yaml.safe_dump({
            "apiVersion": "v1", "kind": "Config", "current-context": "emulator",
            "clusters": [{"name": "emulator", "cluster": {"server": self.url}}],
            "users": [{"name": "tester", "user": {}}],
            "contexts": [{"name": "emulator", "context": {"cluster": "emulator", "user": "tester",
                                                         "namespace": namespace}}]}))
        return path

    def objects(self, plural: str) -> list[dict[str, Any]]:
        def read():
            return [obj.raw for (resource, _, _), obj in self.handler.objects.items()
                    if resource.plural == plural and not obj.deleted]
        return self.call(read)
