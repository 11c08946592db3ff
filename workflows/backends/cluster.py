"""The thin, typed seam to a Kubernetes API server, with the official `kubernetes` client.

Objects travel as plain dicts (`_preload_content=False`), exactly as the server sends them, so
that Jobs and Argo Workflows are handled alike. Watch streams are read here line by line: the
client's `Watch.stream(deserialize=False)` crashes on ERROR events (v37), and a 410 must reach
the caller as `WatchExpired` so that it relists.
"""
from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import kubernetes
from kubernetes.client.rest import ApiException
from kubernetes.watch.watch import iter_resp_lines
from urllib3.exceptions import HTTPError

from workflows.backends.base import BackendUnavailable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Resource:
    group: str
    version: str
    plural: str
    kind: str


JOBS = Resource("batch", "v1", "jobs", "Job")
WORKFLOWS = Resource("argoproj.io", "v1alpha1", "workflows", "Workflow")
PODS = Resource("", "v1", "pods", "Pod")  # the core group: /api/v1, not /apis/{group}/…
RESOURCES = {r.kind: r for r in (JOBS, WORKFLOWS)}


class WatchExpired(Exception):
    """410 Gone: the resourceVersion is too old; list again."""


def load_api_client() -> kubernetes.client.ApiClient:
    """In-cluster configuration when running in a pod, else the kubeconfig (KUBECONFIG)."""
    try:
        kubernetes.config.load_incluster_config()
    except kubernetes.config.ConfigException:
        kubernetes.config.load_kube_config()
    return kubernetes.client.ApiClient()


def _json(response) -> Any:
    return json.loads(response.data)


class ClusterClient:
    def __init__(self, api_client: kubernetes.client.ApiClient, namespace: str):
        self.namespace = namespace
        self._custom = kubernetes.client.CustomObjectsApi(api_client)
        self._core = kubernetes.client.CoreV1Api(api_client)

    def _call(self, method, *args, **kwargs):
        try:
            return method(*args, _preload_content=False, **kwargs)
        except HTTPError as error:
            raise BackendUnavailable(f"the Kubernetes API does not answer: {error}") from error
        except ApiException as error:
            if error.status is None or error.status >= 500 or error.status == 429:
                raise BackendUnavailable(f"the Kubernetes API answered {error.status}: {error.reason}") from error
            raise

    def create(self, manifest: dict[str, Any]) -> bool:
        """Create the object, with strict field validation. False if it exists already (a retried
        submit: names derive from the order id, so that is the same order's object)."""
        resource = RESOURCES[manifest["kind"]]
        try:
            self._call(self._custom.create_namespaced_custom_object, resource.group, resource.version,
                       self.namespace, resource.plural, manifest, field_validation="Strict")
        except ApiException as error:
            if error.status == 409:
                return False
            raise ValueError(f"the Kubernetes API refused the {resource.kind}: {error.status} {error.reason}: "
                             f"{(error.body or '')[:500]}") from None
        return True

    def get(self, resource: Resource, name: str) -> dict[str, Any] | None:
        try:
            return _json(self._call(self._custom.get_namespaced_custom_object, resource.group,
                                    resource.version, self.namespace, resource.plural, name))
        except ApiException as error:
            if error.status == 404:
                return None
            raise

    def _lister(self, resource: Resource) -> Callable[..., Any]:
        if resource == PODS:
            return functools.partial(self._core.list_namespaced_pod, self.namespace)
        return functools.partial(self._custom.list_namespaced_custom_object, resource.group, resource.version,
                                 self.namespace, resource.plural)

    def list(self, resource: Resource, selector: str) -> tuple[list[dict[str, Any]], str | None]:
        body = _json(self._call(self._lister(resource), label_selector=selector))
        return body.get("items") or [], (body.get("metadata") or {}).get("resourceVersion")

    def watch(self, resource: Resource, selector: str, resource_version: str | None,
              timeout_seconds: int) -> Iterator[dict[str, Any]]:
        """Events after `resource_version` (ADDED, MODIFIED, DELETED, BOOKMARK) until the server
        ends the stream. Raises WatchExpired on 410."""
        response = self._call(self._lister(resource), label_selector=selector, watch=True,
                              resource_version=resource_version, allow_watch_bookmarks=True,
                              timeout_seconds=timeout_seconds)
        try:
            for line in iter_resp_lines(response):
                if not line.strip():
                    continue
                event = json.loads(line)
                if event.get("type") == "ERROR":
                    status = event.get("object") or {}
                    if status.get("code") == 410:
                        raise WatchExpired(status.get("message") or "410 Gone")
                    raise BackendUnavailable(f"the watch of {resource.plural} failed: {status.get('message')}")
                yield event
        finally:
            response.close()
            response.release_conn()

    def delete(self, resource: Resource, name: str) -> None:
        """Delete the object and, in the background, what it owns (a Job's pods); gone is fine."""
        try:
            self._call(self._custom.delete_namespaced_custom_object, resource.group, resource.version,
                       self.namespace, resource.plural, name, propagation_policy="Background")
        except ApiException as error:
            if error.status != 404:
                raise

    def shutdown_workflow(self, name: str) -> None:
        try:
            self._call(self._custom.patch_namespaced_custom_object, WORKFLOWS.group, WORKFLOWS.version,
                       self.namespace, WORKFLOWS.plural, name, {"spec": {"shutdown": "Terminate"}})
        except ApiException as error:
            if error.status != 404:
                raise

    def pod_log(self, name: str, container: str, limit_bytes: int) -> bytes | None:
        """At most `limit_bytes` of the container's log, each line after its RFC 3339 time; None
        when it cannot be read (not started yet, or the pod is gone)."""
        try:
            response = self._call(self._core.read_namespaced_pod_log, name, self.namespace, container=container,
                                  timestamps=True, limit_bytes=limit_bytes)
        except ApiException as error:
            log.info("logs of pod %s unreadable: %s", name, error.status)
            return None
        try:
            return response.read(limit_bytes)  # a server that ignores limitBytes is not trusted either
        finally:
            response.close()  # unread bytes must not stay on a pooled connection
            response.release_conn()
