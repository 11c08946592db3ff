"""The pods of each order as the pod watch last saw them (a small PodView each, not the object),
and since when an order has had a pod waiting for a reason that will not heal. Not thread-safe:
the backend holds its lock around every call."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from workflows.backends.cluster_status import PodView, is_ours, pod_view


class OrderPods:
    def __init__(self, clock: Callable[[], float]):
        self._clock = clock
        self._pods: dict[str, dict[str, PodView]] = {}  # order id -> pod name -> view
        self._stuck_since: dict[str, float] = {}  # order id -> clock() when first seen stuck

    def replace(self, pods: list[dict[str, Any]]) -> set[str]:
        """After a (re)list: exactly these pods. Returns the orders whose pods changed."""
        fresh: dict[str, dict[str, PodView]] = {}
        for view in (pod_view(pod) for pod in pods if is_ours(pod)):
            if view.order_id:
                fresh.setdefault(view.order_id, {})[view.name] = view
        changed = {order_id for order_id in fresh.keys() | self._pods.keys()
                   if fresh.get(order_id) != self._pods.get(order_id)}
        self._pods = fresh
        for order_id in changed:
            self._restamp(order_id)
        return changed

    def apply(self, kind: str, pod: dict[str, Any]) -> str | None:
        """One watch event; returns its order when what the order's pods say has changed."""
        view = pod_view(pod)
        if not view.order_id or not is_ours(pod):
            return None  # not an order's pod (the emulator and some proxies ignore label selectors)
        pods = self._pods.setdefault(view.order_id, {})
        before = pods.get(view.name)
        if kind == "DELETED":
            pods.pop(view.name, None)
        else:
            pods[view.name] = view
        if not pods:
            del self._pods[view.order_id]
        if pods.get(view.name) == before:
            return None
        self._restamp(view.order_id)
        return view.order_id

    def _restamp(self, order_id: str) -> None:
        if any(view.stuck for view in self._pods.get(order_id, {}).values()):
            self._stuck_since.setdefault(order_id, self._clock())
        else:
            self._stuck_since.pop(order_id, None)

    def of(self, order_id: str) -> list[PodView]:
        return sorted(self._pods.get(order_id, {}).values(), key=lambda view: view.order_key)

    def stuck_since(self, order_id: str) -> float | None:
        return self._stuck_since.get(order_id)
