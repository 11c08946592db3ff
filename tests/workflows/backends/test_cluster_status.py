"""What a pod says about its order: why it waits, whether that heals, whether its log is complete."""
from __future__ import annotations

import pytest

from workflows.backends.cluster_status import pod_view, pod_waiting

ORDER = "urn:marketplace:order:1"


def pod(phase="Pending", containers=(), init_containers=(), conditions=(), annotations=None):
    return {"metadata": {"name": "order-1-abcde", "creationTimestamp": "2026-11-23T10:00:00Z",
                         "annotations": {"marketplace/order-id": ORDER, **(annotations or {})}},
            "status": {"phase": phase, "conditions": list(conditions), "containerStatuses": list(containers),
                       "initContainerStatuses": list(init_containers)}}


def waiting(reason, message=None, name="main"):
    state = {"reason": reason, **({"message": message} if message else {})}
    return {"name": name, "ready": False, "state": {"waiting": state}}


def running(name="main"):
    return {"name": name, "ready": True, "state": {"running": {"startedAt": "2026-11-23T10:00:02Z"}}}


UNSCHEDULABLE = {"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                 "message": "0/3 nodes are available: 3 Insufficient memory."}


@pytest.mark.parametrize("reason, message, expected, stuck", [
    ("ImagePullBackOff", 'Back-off pulling image "nope:1"', 'ImagePullBackOff: Back-off pulling image "nope:1"', True),
    ("ErrImagePull", "rpc error: not found", "ErrImagePull: rpc error: not found", True),
    ("InvalidImageName", 'invalid reference "Nope!"', 'InvalidImageName: invalid reference "Nope!"', True),
    ("ErrImageNeverPull", None, "ErrImageNeverPull", True),
    ("CreateContainerConfigError", 'secret "s" not found', 'CreateContainerConfigError: secret "s" not found', True),
    ("CreateContainerError", "mount failed", "CreateContainerError: mount failed", True),
    ("ContainerCreating", None, "ContainerCreating", False),
    ("CrashLoopBackOff", "back-off 10s", "CrashLoopBackOff: back-off 10s", False),
])
def test_a_waiting_container_says_why_and_whether_it_heals(reason, message, expected, stuck):
    assert pod_waiting(pod(containers=[waiting(reason, message)])) == (expected, stuck)


def test_an_unschedulable_pod_says_so_with_the_schedulers_message():
    assert pod_waiting(pod(conditions=[UNSCHEDULABLE])) == (
        "Unschedulable: 0/3 nodes are available: 3 Insufficient memory.", False)


def test_a_reason_that_will_not_heal_wins_over_others_in_init_containers_too():
    stuck = pod(conditions=[UNSCHEDULABLE], init_containers=[waiting("ErrImagePull", "denied", name="init")],
                containers=[waiting("PodInitializing")])
    assert pod_waiting(stuck) == ("ErrImagePull: denied", True)
    assert pod_waiting(pod(containers=[waiting("PodInitializing"), waiting("ImagePullBackOff", name="side")])) == (
        "ImagePullBackOff", True)


def test_a_running_or_fresh_pod_does_not_wait_for_anything():
    assert pod_waiting(pod(phase="Running", containers=[running()])) == (None, False)
    assert pod_waiting({"metadata": {"name": "p"}}) == (None, False)


def test_a_long_message_is_cut():
    reason, _ = pod_waiting(pod(containers=[waiting("ErrImagePull", "x" * 5000)]))
    assert len(reason) == 1000


def test_the_pod_view_keeps_what_the_backend_needs():
    view = pod_view(pod(containers=[waiting("ImagePullBackOff", "Back-off")],
                        annotations={"workflows.argoproj.io/node-name": "wf[0].say"}))
    assert (view.name, view.order_id, view.created, view.finished) == (
        "order-1-abcde", ORDER, "2026-11-23T10:00:00Z", False)
    assert (view.waiting, view.stuck, view.task) == ("ImagePullBackOff: Back-off", True, "wf[0].say")
    assert pod_view(pod(phase="Succeeded")).finished and pod_view(pod(phase="Failed")).finished
    assert not pod_view(pod(phase="Running", containers=[running()])).finished
