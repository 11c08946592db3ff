"""What an order says while it runs on Kubernetes: why it waits (from its pods), that it ends when
a pod cannot start for good, and its logs before it ends, bounded. The test plays the kubelet by
creating pods of real shape (the Job's or the Workflow's pod labels and annotations) and patching
their status; the backend's clock is the test's, so grace times pass without waiting."""
from __future__ import annotations

from dataclasses import dataclass

import kmock
import kubernetes

from app.worker import Worker
from tests.cluster.conftest import NAMESPACE, ManualClock, wait_for
from tests.cluster.test_kubernetes_backend import (
    ARGO,
    ARGO_PARAMETERS,
    job_condition,
    order,
    patch,
    publish_ready,
    status_of,
)

ERR_IMAGE_PULL = ("ErrImagePull", 'rpc error: failed to pull "nope:1": not found')
BACK_OFF = ("ImagePullBackOff", 'Back-off pulling image "nope:1"')


def pods_api(emulator):
    return kubernetes.client.CustomObjectsApi(emulator.api_client())


def waiting_pod(reason, message):
    return {"phase": "Pending", "containerStatuses": [
        {"name": "main", "ready": False, "state": {"waiting": {"reason": reason, "message": message}}}]}


RUNNING_POD = {"phase": "Running", "containerStatuses": [
    {"name": "main", "ready": True, "state": {"running": {"startedAt": "2026-11-23T10:00:01Z"}}}]}


def add_pod_of(emulator, workload, status, labels=None, annotations=None):
    """A pod as the Job or Workflow controller makes it: the pod template's labels and annotations
    (Workflow: spec.podMetadata) plus the controller's own. Returns its name."""
    spec = workload["spec"]
    template = spec["template"]["metadata"] if workload["kind"] == "Job" else spec["podMetadata"]
    name = f"{workload['metadata']['name']}-pod1"
    pods_api(emulator).create_namespaced_custom_object("", "v1", NAMESPACE, "pods", {
        "apiVersion": "v1", "kind": "Pod", "status": status,
        "metadata": {"name": name, "namespace": NAMESPACE, "creationTimestamp": "2026-11-23T10:00:00Z",
                     "labels": {**template["labels"], **(labels or {})},
                     "annotations": {**template["annotations"], **(annotations or {})}}})
    return name


def set_pod_status(emulator, name, status):
    pods_api(emulator).patch_namespaced_custom_object("", "v1", NAMESPACE, "pods", name, {"status": status})


def message_is(bob, order_id, expected):
    return (seen := status_of(bob, order_id)).get("status-message") == expected and seen


@dataclass
class Placed:
    clock: ManualClock
    worker: Worker
    order_id: str
    workload: dict  # the Job or Workflow, as the worker created it


def place(alice, bob, start_worker, emulator, argo=False, **settings) -> Placed:
    """A worker on the test's clock, and an order whose Job (or Workflow) exists."""
    clock = ManualClock()
    worker = start_worker(clock, **settings)
    service = (publish_ready(alice, worker, workflow={"type": "argo", "argo": ARGO}, parameters=ARGO_PARAMETERS)
               if argo else publish_ready(alice, worker))
    placed = order(bob, service["id"])
    [workload] = wait_for(lambda: emulator.objects("workflows" if argo else "jobs"), worker)
    return Placed(clock, worker, placed["id"], workload)


def still_scheduled(bob, placed):
    for _ in range(3):
        placed.worker.run_once()
    return status_of(bob, placed.order_id)["status"] == "scheduled"


def ended_failed(bob, placed):
    return wait_for(lambda: (s := status_of(bob, placed.order_id))["status"] == "failed" and s, placed.worker)


def test_an_order_whose_image_cannot_be_pulled_says_why_then_fails_and_its_job_is_deleted(
        alice, bob, start_worker, emulator):
    placed = place(alice, bob, start_worker, emulator)  # the default grace time: 300 s
    job, worker, clock = placed.workload, placed.worker, placed.clock
    pod = add_pod_of(emulator, job, waiting_pod(*ERR_IMAGE_PULL), labels={"job-name": job["metadata"]["name"]})
    seen = wait_for(lambda: message_is(bob, placed.order_id, 'ErrImagePull: rpc error: failed to pull "nope:1": '
                                                             "not found"), worker)
    assert seen["status"] == "scheduled"
    clock.advance(200)
    set_pod_status(emulator, pod, waiting_pod(*BACK_OFF))  # the kubelet alternates; the wait goes on
    seen = wait_for(lambda: message_is(bob, placed.order_id, 'ImagePullBackOff: Back-off pulling image "nope:1"'),
                    worker)
    assert seen["status"] == "scheduled"
    clock.advance(99)
    assert still_scheduled(bob, placed) and emulator.objects("jobs")
    clock.advance(1)  # 300 s since the pod was first seen stuck; no event needed
    assert ended_failed(bob, placed)["status-message"] == (
        'ImagePullBackOff: Back-off pulling image "nope:1" (still so after 300 s; the Job was deleted)')
    assert emulator.objects("jobs") == []
    deletes = emulator.call(lambda: [r for r in emulator.handler if r.action == kmock.action.DELETE])
    assert [r.params.get("propagationPolicy") for r in deletes] == ["Background"]


def test_a_pod_that_recovers_in_time_is_not_ended(alice, bob, start_worker, emulator):
    placed = place(alice, bob, start_worker, emulator, stuck_seconds=60)
    pod = add_pod_of(emulator, placed.workload, waiting_pod(*BACK_OFF))
    wait_for(lambda: message_is(bob, placed.order_id, 'ImagePullBackOff: Back-off pulling image "nope:1"'),
             placed.worker)
    placed.clock.advance(59)
    set_pod_status(emulator, pod, waiting_pod("ContainerCreating", None))  # the registry came back
    wait_for(lambda: message_is(bob, placed.order_id, "ContainerCreating"), placed.worker)
    placed.clock.advance(600)
    assert still_scheduled(bob, placed)
    patch(emulator, "jobs", placed.workload["metadata"]["name"], {"status": {"active": 1, "ready": 1}})
    wait_for(lambda: status_of(bob, placed.order_id)["status"] == "executing", placed.worker)


def test_an_unschedulable_pod_shows_the_schedulers_message_and_is_given_time(alice, bob, start_worker, emulator):
    placed = place(alice, bob, start_worker, emulator, stuck_seconds=1)
    add_pod_of(emulator, placed.workload, {"phase": "Pending", "conditions": [
        {"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
         "message": "0/3 nodes are available: 3 Insufficient memory."}]})
    wait_for(lambda: message_is(bob, placed.order_id, "Unschedulable: 0/3 nodes are available: 3 Insufficient "
                                                      "memory."), placed.worker)
    placed.clock.advance(3600)  # nodes may be added; the Job's own deadline bounds this wait
    assert still_scheduled(bob, placed) and emulator.objects("jobs")


def test_a_stuck_argo_order_fails_and_its_workflow_is_deleted(alice, bob, start_worker, emulator):
    placed = place(alice, bob, start_worker, emulator, argo=True, stuck_seconds=30)
    add_pod_of(emulator, placed.workload, {"phase": "Pending", "initContainerStatuses": [
        {"name": "init", "ready": False, "state": {"waiting": {"reason": "InvalidImageName",
                                                              "message": 'invalid reference "Nope!"'}}}]},
               labels={"workflows.argoproj.io/workflow": placed.workload["metadata"]["name"]})
    wait_for(lambda: message_is(bob, placed.order_id, 'InvalidImageName: invalid reference "Nope!"'), placed.worker)
    placed.clock.advance(30)
    assert ended_failed(bob, placed)["status-message"].startswith(
        'InvalidImageName: invalid reference "Nope!" (still so after 30 s')
    assert emulator.objects("workflows") == []


def serve_growing_log(emulator, pod):
    """The pod's log as the kubelet keeps it: the test appends to `text[0]`."""
    text = [""]
    emulator.call(lambda: emulator.handler[f"get /api/v1/namespaces/{NAMESPACE}/pods/{pod}/log"]
                  << (lambda: text[0].encode()))
    return text


def logs_of(bob, order_id):
    return [line["message"] for line in bob.get(f"/1/orders/{order_id}/logs").get_json()["items"]]


def test_a_running_orders_logs_are_readable_before_it_ends_and_their_volume_is_bounded(
        alice, bob, start_worker, emulator):
    placed = place(alice, bob, start_worker, emulator, log_bytes=200)
    name, worker, clock = placed.workload["metadata"]["name"], placed.worker, placed.clock
    log = serve_growing_log(emulator, add_pod_of(emulator, placed.workload, RUNNING_POD))
    log[0] = "2026-11-23T10:00:01.000000001Z reading scene S2A\n2026-11-23T10:00:02Z half a li"
    patch(emulator, "jobs", name, {"status": {"active": 1, "ready": 1}})
    wait_for(lambda: status_of(bob, placed.order_id)["status"] == "executing", worker)
    assert wait_for(lambda: logs_of(bob, placed.order_id), worker) == ["reading scene S2A"]  # a line ends at "\n"
    [first_read] = emulator.call(lambda: [r for r in emulator.handler if r.url.path.endswith("/log")])
    assert (first_read.params["limitBytes"], first_read.params["timestamps"]) == ("201", "true")

    log[0] += "ne\n2026-11-23T10:00:03Z computing\n"
    clock.advance(5)  # the next read is due
    wait_for(lambda: len(logs_of(bob, placed.order_id)) == 3, worker)
    assert logs_of(bob, placed.order_id) == ["reading scene S2A", "half a line", "computing"]
    assert status_of(bob, placed.order_id)["status"] == "executing"

    log[0] += "".join(f"2026-11-23T10:00:04Z row {i}\n" for i in range(10))  # 80 + 30 × 10 bytes > 200
    clock.advance(5)
    wait_for(lambda: len(logs_of(bob, placed.order_id)) > 3, worker)
    assert logs_of(bob, placed.order_id) == ["reading scene S2A", "half a line", "computing", "row 0", "row 1",
                                             "row 2", "[marketplace] output cut: more than 200 bytes"]

    log[0] += "2026-11-23T10:00:05Z done\n"
    clock.advance(5)
    patch(emulator, "jobs", name, {"status": {"conditions": [job_condition("Complete")]}})
    wait_for(lambda: status_of(bob, placed.order_id)["status"] == "succeeded", worker)
    assert logs_of(bob, placed.order_id)[-1] == "[marketplace] output cut: more than 200 bytes"
    assert len(logs_of(bob, placed.order_id)) == 7


def test_logs_are_read_at_most_once_per_poll_interval(alice, bob, start_worker, emulator):
    placed = place(alice, bob, start_worker, emulator, log_poll_seconds=5)
    pod = add_pod_of(emulator, placed.workload, RUNNING_POD)
    serve_growing_log(emulator, pod)[0] = "2026-11-23T10:00:01Z hello\n"
    patch(emulator, "jobs", placed.workload["metadata"]["name"], {"status": {"active": 1, "ready": 1}})
    wait_for(lambda: logs_of(bob, placed.order_id) == ["hello"], placed.worker)

    def log_reads():
        return emulator.call(lambda: len([r for r in emulator.handler if r.url.path.endswith(f"/pods/{pod}/log")]))

    reads = log_reads()
    for ip in range(5):
        set_pod_status(emulator, pod, {**RUNNING_POD, "podIP": f"10.0.0.{ip}"})  # events, but no read is due
        placed.worker.run_once()
    assert log_reads() == reads
    placed.clock.advance(5)
    wait_for(lambda: log_reads() > reads, placed.worker)
