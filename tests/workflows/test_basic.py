"""A basic workflow compiles into a Job that passes the real, strict Kubernetes schema."""
from __future__ import annotations

import copy
import re

from workflows.basic import basic_command_line, compile_basic_job
from workflows.checks import check_basic_workflow, job_problems
from workflows.kubernetes_schema import schema_problems
from workflows.names import label_value, object_name
from workflows.pod_security import Level, pod_security_problems
from workflows.settings import CompileSettings

ORDER = "urn:marketplace:order:3f2c1a9e-5b7d-4e0a-9c1f-2d3e4f5a6b7c"
SERVICE = "urn:acme:service:ndvi"
BASIC = {"image": "ghcr.io/acme/ndvi:1.2", "command": ["python", "-m", "ndvi"],
         "cpu": {"request": "250m", "limit": "1"}, "memory": {"request": "128Mi"}}
VALUES = [("scene", "S2A"), ("note", "; rm -rf / $(id) {{x}}")]
DNS_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")


def job(basic=BASIC, values=VALUES, settings=CompileSettings()):
    return compile_basic_job(ORDER, SERVICE, basic, values, settings)


def test_the_command_line_appends_each_parameter_as_a_literal_pair():
    assert basic_command_line(BASIC, VALUES) == ["python", "-m", "ndvi", "--scene", "S2A",
                                                 "--note", "; rm -rf / $(id) {{x}}"]


def test_the_job_runs_the_command_line_with_the_order_in_its_environment():
    container = job()["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == basic_command_line(BASIC, VALUES)
    assert container["image"] == "ghcr.io/acme/ndvi:1.2"
    assert {"name": "MARKETPLACE_ORDER_ID", "value": ORDER} in container["env"]
    assert container["resources"] == {"requests": {"cpu": "250m", "memory": "128Mi"}, "limits": {"cpu": "1"}}


def test_without_a_command_the_pairs_go_to_the_images_entrypoint():
    container = job(basic={"image": "alpine:3"})["spec"]["template"]["spec"]["containers"][0]
    assert "command" not in container and container["args"] == ["--scene", "S2A", "--note", VALUES[1][1]]
    assert "resources" not in container


def test_the_job_has_the_platforms_safe_defaults():
    compiled = job(settings=CompileSettings(namespace="orders", backoff_limit=1, active_deadline_seconds=60,
                                            ttl_seconds_after_finished=600))
    spec, pod = compiled["spec"], compiled["spec"]["template"]["spec"]
    assert compiled["metadata"]["namespace"] == "orders"
    assert (spec["backoffLimit"], spec["activeDeadlineSeconds"], spec["ttlSecondsAfterFinished"]) == (1, 60, 600)
    assert pod["restartPolicy"] == "Never" and pod["automountServiceAccountToken"] is False
    assert pod["securityContext"] == {"runAsNonRoot": True, "runAsUser": 10000, "runAsGroup": 10000,
                                      "seccompProfile": {"type": "RuntimeDefault"}}
    assert pod["containers"][0]["securityContext"] == {"allowPrivilegeEscalation": False, "runAsNonRoot": True,
                                                       "capabilities": {"drop": ["ALL"]}}
    assert compiled["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "marketplace"
    assert compiled["metadata"]["annotations"] == {"marketplace/order-id": ORDER, "marketplace/service-id": SERVICE}


def test_the_compiled_job_passes_the_strict_kubernetes_schema():
    assert schema_problems(job()) == []
    assert schema_problems(job(basic={"image": "alpine:3"}, values=[])) == []


def test_the_schema_check_reports_every_error_with_its_path():
    broken = copy.deepcopy(job())
    broken["spec"]["backofLimit"] = 1
    broken["spec"]["template"]["spec"]["containers"][0]["image"] = 5
    paths = [problem.path for problem in schema_problems(broken)]
    assert "spec" in paths and "spec.template.spec.containers.0.image" in paths


def test_object_names_are_stable_dns_labels_of_at_most_63():
    for order_id in [ORDER, "urn:x:order:" + "A" * 300, "weird!!id", "urn:a:b:"]:
        name = object_name(order_id)
        assert DNS_LABEL.fullmatch(name) and len(name) <= 63 and name == object_name(order_id)
    assert object_name(ORDER) != object_name(ORDER + "x")


def test_label_values_are_valid_for_any_id():
    for identifier in [SERVICE, "urn:x:" + "y" * 100, "a b c", "ok-value"]:
        value = label_value(identifier)
        assert len(value) <= 63 and re.fullmatch(r"[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?", value)
    assert label_value("ok-value") == "ok-value"


# The README's example service: an image whose default user is root.
WORD_COUNT = {"image": "python:3.11-slim",
              "command": ["python3", "-c", "import sys; print(len(sys.argv[2].split()))"]}


def test_the_readme_example_runs_as_a_non_root_user_under_the_restricted_profile():
    compiled = compile_basic_job(ORDER, SERVICE, WORD_COUNT, [("text", "to be or not")],
                                 CompileSettings(run_as_user=4242))
    template = compiled["spec"]["template"]
    assert template["spec"]["securityContext"]["runAsUser"] == 4242
    assert template["spec"]["securityContext"]["runAsGroup"] == 4242
    assert template["spec"]["containers"][0]["command"][-2:] == ["--text", "to be or not"]
    assert pod_security_problems(template["spec"], Level.RESTRICTED, metadata=template["metadata"]) == []
    assert schema_problems(compiled) == []
    assert job_problems(compiled) == []


def test_the_job_checks_name_what_would_break_the_restricted_profile():
    compiled = copy.deepcopy(job())
    compiled["spec"]["template"]["spec"]["hostNetwork"] = True
    assert [p.path for p in job_problems(compiled)] == ["spec.template.spec.hostNetwork"]
    as_root = check_basic_workflow(WORD_COUNT, ["text"], CompileSettings(run_as_user=0))
    assert [p.path for p in as_root] == ["workflow.basic (spec.template.spec.securityContext.runAsUser)"]


def test_the_pods_carry_the_orders_labels_and_annotations():
    template = job()["spec"]["template"]["metadata"]
    assert template["annotations"] == {"marketplace/order-id": ORDER, "marketplace/service-id": SERVICE}
    assert template["labels"]["app.kubernetes.io/managed-by"] == "marketplace"
