"""The Kubernetes backend against kmock's API server emulator: the official client talks HTTP
to it unchanged. The tests play the cluster's controllers by patching Job and Workflow status
(objects of real shape), and check that orders follow through the API."""
from __future__ import annotations

import kmock
import kubernetes

from tests.cluster.conftest import NAMESPACE, wait_for
from tests.factories import service_description
from workflows.names import object_name

ARGO = {"spec": {"entrypoint": "main", "arguments": {"parameters": [{"name": "scene"}]},
                 "templates": [{"name": "main", "steps": [[{"name": "say", "template": "say"}]]},
                               {"name": "say", "container": {"image": "alpine:3.20",
                                                             "command": ["echo", "{{workflow.parameters.scene}}"]}}]}}
ARGO_PARAMETERS = [{"name": "scene", "type": "string"}]


def publish_ready(alice, worker, **overrides):
    service = alice.post("/1/services", json=service_description(**overrides)).get_json()
    wait_for(lambda: alice.get(f"/1/services/{service['id']}").get_json()["status"] != "pending", worker)
    built = alice.get(f"/1/services/{service['id']}").get_json()
    assert built["status"] == "ready", built.get("status-message")
    return built


def order(bob, service_id, scene="S2A"):
    response = bob.post("/1/orders", json={"service-id": service_id, "parameters": [{"name": "scene", "value": scene}]})
    assert response.status_code == 201
    return response.get_json()


def status_of(bob, order_id):
    return bob.get(f"/1/orders/{order_id}").get_json()


def patch(emulator, plural, name, body):
    group, version = ("batch", "v1") if plural == "jobs" else ("argoproj.io", "v1alpha1")
    kubernetes.client.CustomObjectsApi(emulator.api_client()).patch_namespaced_custom_object(
        group, version, NAMESPACE, plural, name, body)


def add_pod(emulator, name, labels, annotations=None):
    kubernetes.client.CustomObjectsApi(emulator.api_client()).create_namespaced_custom_object(
        "", "v1", NAMESPACE, "pods", {"apiVersion": "v1", "kind": "Pod", "metadata": {
            "name": name, "namespace": NAMESPACE, "labels": labels, "annotations": annotations or {},
            "creationTimestamp": "2026-11-23T10:00:00Z"}})


def serve_log(emulator, pod, text):
    emulator.call(lambda: emulator.handler[f"get /api/v1/namespaces/{NAMESPACE}/pods/{pod}/log"] << text.encode())


def job_condition(kind, reason=None, message=None):
    condition = {"type": kind, "status": "True", "lastTransitionTime": "2026-11-23T10:00:05Z"}
    return {**condition, **({"reason": reason} if reason else {}), **({"message": message} if message else {})}


def test_a_basic_order_runs_as_a_job_and_succeeds_with_its_logs(alice, bob, start_worker, emulator):
    worker = start_worker()
    service = publish_ready(alice, worker)
    placed = order(bob, service["id"], scene="; rm -rf /")
    wait_for(lambda: emulator.objects("jobs"), worker)
    [job] = emulator.objects("jobs")
    name = object_name(placed["id"])
    assert job["metadata"]["name"] == name
    assert job["spec"]["template"]["spec"]["containers"][0]["command"] == [
        "python", "-m", "ndvi", "--scene", "; rm -rf /", "--threshold", "0.3", "--mode", "fast"]
    assert status_of(bob, placed["id"])["status"] in ("scheduled", "executing")
    patch(emulator, "jobs", name,
          {"metadata": {"uid": "uid-1"}, "status": {"active": 1, "startTime": "2026-11-23T10:00:00Z"}})
    add_pod(emulator, f"{name}-abcde", {"batch.kubernetes.io/controller-uid": "uid-1", "job-name": name})
    serve_log(emulator, f"{name}-abcde", "2026-11-23T10:00:01.123456789Z scene is ; rm -rf /\n"
                                         "2026-11-23T10:00:02Z done\n")
    patch(emulator, "jobs", name, {"status": {"conditions": [job_condition("SuccessCriteriaMet"),
                                                             job_condition("Complete")]}})
    done = wait_for(lambda: (s := status_of(bob, placed["id"]))["status"] == "succeeded" and s, worker)
    assert "finished-at" in done
    logs = bob.get(f"/1/orders/{placed['id']}/logs").get_json()["items"]
    assert [(line["task"], line["message"]) for line in logs] == [("main", "scene is ; rm -rf /"), ("main", "done")]
    assert logs[0]["time"].startswith("2026-11-23T10:00:01.123456")


def test_a_job_is_not_finished_until_complete_or_failed_is_true(alice, bob, start_worker, emulator):
    worker = start_worker()
    service = publish_ready(alice, worker)
    placed = order(bob, service["id"])
    name = object_name(placed["id"])
    wait_for(lambda: emulator.objects("jobs"), worker)
    patch(emulator, "jobs", name, {"status": {"conditions": [
        job_condition("FailureTarget", "BackoffLimitExceeded", "Job has reached the specified backoff limit"),
        {"type": "Failed", "status": "False"}]}})
    for _ in range(5):
        worker.run_once()
    assert status_of(bob, placed["id"])["status"] == "scheduled"  # no pod runs, and the Job has not ended
    patch(emulator, "jobs", name, {"status": {"conditions": [
        job_condition("FailureTarget", "BackoffLimitExceeded", "Job has reached the specified backoff limit"),
        job_condition("Failed", "BackoffLimitExceeded", "Job has reached the specified backoff limit")]}})
    failed = wait_for(lambda: (s := status_of(bob, placed["id"]))["status"] == "failed" and s, worker)
    assert failed["status-message"] == "BackoffLimitExceeded: Job has reached the specified backoff limit"


def test_an_argo_order_runs_as_a_workflow_with_its_nodes_as_tasks(alice, bob, start_worker, emulator):
    worker = start_worker()
    service = publish_ready(alice, worker, workflow={"type": "argo", "argo": ARGO}, parameters=ARGO_PARAMETERS)
    placed = order(bob, service["id"], scene="S2B")
    [workflow] = wait_for(lambda: emulator.objects("workflows"), worker)
    name = object_name(placed["id"])
    assert workflow["metadata"]["name"] == name
    assert workflow["spec"]["arguments"]["parameters"] == [{"name": "scene", "value": "S2B"}]
    worker.run_once()
    assert status_of(bob, placed["id"])["status"] == "scheduled"  # the Workflow exists, nothing of it runs yet
    patch(emulator, "workflows", name, {"status": {"phase": "Running", "startedAt": "2026-11-23T10:00:00Z", "nodes": {
        name: {"id": name, "name": name, "displayName": name, "type": "Steps", "phase": "Running"},
        f"{name}-1": {"id": f"{name}-1", "name": f"{name}[0].say", "displayName": "say", "type": "Pod",
                      "phase": "Running", "startedAt": "2026-11-23T10:00:01Z"}}}})
    wait_for(lambda: status_of(bob, placed["id"])["status"] == "executing", worker)
    tasks = bob.get(f"/1/orders/{placed['id']}/tasks").get_json()["tasks"]
    assert [(t["name"], t["phase"]) for t in tasks] == [("say", "executing")]
    add_pod(emulator, f"{name}-say-1", {"workflows.argoproj.io/workflow": name},
            {"workflows.argoproj.io/node-name": f"{name}[0].say"})
    serve_log(emulator, f"{name}-say-1", "2026-11-23T10:00:02Z S2B\n")
    patch(emulator, "workflows", name, {"status": {"phase": "Failed", "message": "child 'say' failed", "nodes": {
        f"{name}-1": {"phase": "Failed", "finishedAt": "2026-11-23T10:00:03Z", "message": "Error (exit code 1)"}}}})
    failed = wait_for(lambda: (s := status_of(bob, placed["id"]))["status"] == "failed" and s, worker)
    assert failed["status-message"] == "child 'say' failed"
    tasks = bob.get(f"/1/orders/{placed['id']}/tasks").get_json()["tasks"]
    assert [(t["name"], t["phase"], t["message"]) for t in tasks] == [("say", "failed", "Error (exit code 1)")]
    assert tasks[0]["finished-at"].startswith("2026-11-23T10:00:03")
    logs = bob.get(f"/1/orders/{placed['id']}/logs").get_json()["items"]
    assert [(line["task"], line["message"]) for line in logs] == [(f"{name}[0].say", "S2B")]


def test_cancelling_deletes_the_job_and_the_order_ends_cancelled(alice, bob, start_worker, emulator):
    worker = start_worker()
    service = publish_ready(alice, worker)
    placed = order(bob, service["id"])
    wait_for(lambda: emulator.objects("jobs"), worker)
    patch(emulator, "jobs", object_name(placed["id"]), {"status": {"active": 1, "ready": 1}})
    wait_for(lambda: status_of(bob, placed["id"])["status"] == "executing", worker)
    assert bob.post(f"/1/orders/{placed['id']}/cancel").status_code == 202
    wait_for(lambda: status_of(bob, placed["id"])["status"] == "cancelled", worker)
    assert emulator.objects("jobs") == []
    deletes = emulator.call(lambda: [r for r in emulator.handler if r.action == kmock.action.DELETE])
    assert deletes[0].params.get("propagationPolicy") == "Background"


def test_cancelling_an_argo_order_terminates_the_workflow(alice, bob, start_worker, emulator):
    worker = start_worker()
    service = publish_ready(alice, worker, workflow={"type": "argo", "argo": ARGO}, parameters=ARGO_PARAMETERS)
    placed = order(bob, service["id"])
    name = object_name(placed["id"])
    wait_for(lambda: emulator.objects("workflows"), worker)
    patch(emulator, "workflows", name, {"status": {"phase": "Running", "nodes": {f"{name}-1": {
        "id": f"{name}-1", "name": f"{name}[0].say", "displayName": "say", "type": "Pod", "phase": "Running"}}}})
    wait_for(lambda: status_of(bob, placed["id"])["status"] == "executing", worker)
    bob.post(f"/1/orders/{placed['id']}/cancel")
    wait_for(lambda: emulator.objects("workflows")[0]["spec"].get("shutdown") == "Terminate", worker)
    patch(emulator, "workflows", name, {"status": {"phase": "Failed", "message": "Stopped with strategy 'Terminate'"}})
    wait_for(lambda: status_of(bob, placed["id"])["status"] == "cancelled", worker)


def test_a_job_deleted_by_someone_else_ends_the_order_failed_saying_so(alice, bob, start_worker, emulator):
    worker = start_worker()
    service = publish_ready(alice, worker)
    placed = order(bob, service["id"])
    wait_for(lambda: emulator.objects("jobs"), worker)
    kubernetes.client.CustomObjectsApi(emulator.api_client()).delete_namespaced_custom_object(
        "batch", "v1", NAMESPACE, "jobs", object_name(placed["id"]))
    failed = wait_for(lambda: (s := status_of(bob, placed["id"]))["status"] == "failed" and s, worker)
    assert failed["status-message"] == "the Job was deleted before it finished"


def test_a_restarted_worker_picks_up_where_the_last_one_left(alice, bob, start_worker, emulator):
    first = start_worker()
    service = publish_ready(alice, first)
    placed = order(bob, service["id"])
    wait_for(lambda: status_of(bob, placed["id"])["status"] in ("scheduled", "executing"), first)
    # The first worker is gone; meanwhile the Job ends. A new worker lists what it missed.
    patch(emulator, "jobs", object_name(placed["id"]), {"status": {"conditions": [job_condition("Complete")]}})
    second = start_worker()
    wait_for(lambda: status_of(bob, placed["id"])["status"] == "succeeded", second)
    assert len(emulator.objects("jobs")) == 1


def test_submitting_twice_creates_one_job(alice, bob, start_worker, emulator):
    from workflows.backends.base import Submission
    worker = start_worker()
    service = publish_ready(alice, worker)
    placed = order(bob, service["id"])
    wait_for(lambda: emulator.objects("jobs"), worker)
    # A second worker that did not see the first one's commit submits the same order again.
    snapshot = service["workflow"]
    worker.backend.submit(Submission(placed["id"], service["id"], snapshot, [("scene", "S2A")]))
    assert len(emulator.objects("jobs")) == 1


def test_the_watch_relists_after_410_gone_and_keeps_bookmarked_versions(emulator, cluster_config):
    import threading

    from workflows.backends.cluster import ClusterClient
    from workflows.backends.kubernetes import KubernetesBackend
    watches = []

    def scripted(request):
        if request.action == kmock.action.WATCH and request.resource is not None and request.resource.plural == "jobs":
            if request not in watches:
                watches.append(request)
            return request is watches[0] or (len(watches) > 2 and request is watches[2])
        return False

    def script():
        emulator.handler[scripted] << (
            {"type": "BOOKMARK", "object": {"kind": "Job", "metadata": {"resourceVersion": "41"}}},
            {"type": "ERROR", "object": {"kind": "Status", "code": 410, "reason": "Expired",
                                         "message": "too old resource version: 40 (41)"}})
    emulator.call(script)
    backend = KubernetesBackend(ClusterClient(emulator.api_client(), NAMESPACE), cluster_config.compile)
    stop = threading.Event()
    backend.start(stop)
    try:
        jobs_watcher = backend.watchers[0]
        wait_for(lambda: jobs_watcher.relists >= 2)
        lists = emulator.call(lambda: [r for r in emulator.handler
                                       if r.action == kmock.action.LIST and r.resource.plural == "jobs"])
        assert len(lists) >= 2 and jobs_watcher.failures == 0
        assert backend.healthy()
    finally:
        stop.set()


def test_a_bookmark_moves_the_watch_on_without_a_relist(emulator, cluster_config):
    import threading

    from workflows.backends.cluster import JOBS, ClusterClient
    from workflows.backends.watch import ResourceWatcher
    seen = []

    def scripted(request):
        if request.action == kmock.action.WATCH and request.resource is not None and request.resource.plural == "jobs":
            if not seen:
                seen.append(request)
            return request is seen[0]
        return False

    emulator.call(lambda: emulator.handler[scripted] << (
        {"type": "BOOKMARK", "object": {"kind": "Job", "metadata": {"resourceVersion": "77"}}},))
    events = []
    watcher = ResourceWatcher(ClusterClient(emulator.api_client(), NAMESPACE), JOBS, "",
                              lambda items: None, lambda kind, obj: events.append(kind))
    stop = threading.Event()
    watcher.start(stop)
    try:
        watches = wait_for(lambda: (w := emulator.call(
            lambda: [r for r in emulator.handler if r.action == kmock.action.WATCH])) and len(w) >= 2 and w)
        assert watches[1].params["resourceVersion"] == "77"
        assert watcher.relists == 1 and events == []
    finally:
        stop.set()
