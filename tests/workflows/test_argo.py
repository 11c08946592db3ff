"""argo workflows: compiling an order into a Workflow, and the publish-time checks."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from workflows.argo import compile_argo_workflow, parse_argo_definition
from workflows.argo_checks import check_argo_workflow
from workflows.argo_schema import workflow_schema_problems
from workflows.argo_values import order_value_problems
from workflows.names import LABEL_ORDER, label_value, object_name
from workflows.settings import CompileSettings

EXAMPLES = sorted((Path(__file__).parent / "argo_examples").glob("*.yaml"))
SETTINGS = CompileSettings(namespace="orders", service_account="runner", active_deadline_seconds=600,
                           ttl_seconds_after_finished=3600, allowed_secrets=frozenset({"shared-bucket"}))
ORDER = "urn:marketplace:order:6f1c"


def spec(**extra):
    return {"entrypoint": "main", "arguments": {"parameters": [{"name": "scene"}]},
            "templates": [{"name": "main", "container": {"image": "alpine", "command": ["echo"]}}], **extra}


def parameters(*names):
    """Service parameter definitions of these names."""
    return [{"name": name, "type": "string"} for name in names]


def problems(argo, names=("scene",)):
    return [(p.path, p.value) for p in check_argo_workflow(argo, parameters(*names), SETTINGS)]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_real_world_examples_compile_and_validate(path):
    text = path.read_text()
    declared = [p["name"] for p in (parse_argo_definition(text).spec.get("arguments") or {}).get("parameters", [])]
    assert check_argo_workflow(text, parameters(*declared), SETTINGS) == []
    manifest = compile_argo_workflow(ORDER, "svc", parse_argo_definition(text), [(n, "v") for n in declared],
                                     SETTINGS)
    assert workflow_schema_problems(manifest) == []


def test_example_table_covers_the_common_shapes():
    text = "".join(p.read_text() for p in EXAMPLES)
    for feature in ("steps:", "dag:", "withItems", "withParam", "withSequence", "when:", "artifacts:",
                    "script:", "retryStrategy", "onExit", "WorkflowTemplate"):
        assert feature in text, feature


@pytest.mark.parametrize("form", ["object", "yaml", "json", "spec", "template"])
def test_every_form_of_definition_compiles_to_the_same_workflow(form):
    import json
    manifest = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"generateName": "x-"},
                "spec": spec()}
    given = {"object": manifest, "yaml": yaml.safe_dump(manifest), "json": json.dumps(manifest),
             "spec": spec(), "template": {**manifest, "kind": "WorkflowTemplate"}}[form]
    compiled = compile_argo_workflow(ORDER, "svc", parse_argo_definition(given), [("scene", "s1")], SETTINGS)
    assert compiled["kind"] == "Workflow"
    assert compiled["spec"]["arguments"]["parameters"] == [{"name": "scene", "value": "s1"}]


def test_the_platform_owns_name_namespace_account_deadline_ttl_and_gc():
    given = {"metadata": {"name": "mine", "labels": {"team": "eo", LABEL_ORDER: "forged"}},
             "spec": spec(serviceAccountName="admin", activeDeadlineSeconds=999999,
                          ttlStrategy={"secondsAfterSuccess": 1}, podGC={"strategy": "OnPodSuccess"})}
    compiled = compile_argo_workflow(ORDER, "svc", parse_argo_definition(given), [("scene", "s")], SETTINGS)
    assert compiled["metadata"]["name"] == object_name(ORDER)
    assert compiled["metadata"]["namespace"] == "orders"
    assert compiled["metadata"]["labels"]["team"] == "eo"
    assert compiled["metadata"]["labels"][LABEL_ORDER] == label_value(ORDER)
    assert compiled["metadata"]["annotations"]["marketplace/order-id"] == ORDER
    assert compiled["spec"]["serviceAccountName"] == "runner"
    assert compiled["spec"]["activeDeadlineSeconds"] == 600
    assert compiled["spec"]["ttlStrategy"] == {"secondsAfterCompletion": 3600}
    assert compiled["spec"]["podGC"]["strategy"] == "OnWorkflowCompletion"
    assert compiled["spec"]["podMetadata"]["labels"][LABEL_ORDER] == label_value(ORDER)
    assert compiled["spec"]["podMetadata"]["annotations"]["marketplace/order-id"] == ORDER


def test_values_go_into_arguments_never_into_the_text():
    hostile = "'; rm -rf / #"
    given = spec()
    given["arguments"]["parameters"] = [{"name": "scene", "valueFrom": {"configMapKeyRef": {"name": "c", "key": "k"}}},
                                        {"name": "kept", "value": "default"}]
    compiled = compile_argo_workflow(ORDER, "svc", parse_argo_definition(given), [("scene", hostile)], SETTINGS)
    assert compiled["spec"]["arguments"]["parameters"] == [{"name": "scene", "value": hostile},
                                                           {"name": "kept", "value": "default"}]
    assert compiled["spec"]["templates"] == given["templates"]
    assert given["arguments"]["parameters"][0].get("value") is None  # the service's definition is not changed


@pytest.mark.parametrize("argo, path, value", [
    ({"metadata": {"namespace": "kube-system"}, "spec": spec()}, "workflow.argo.metadata.namespace", "kube-system"),
    (spec(volumes=[{"name": "h", "hostPath": {"path": "/"}}]), "workflow.argo.volumes.0.hostPath", {"path": "/"}),
    (spec(hostNetwork=True), "workflow.argo.hostNetwork", True),
    (spec(templates=[{"name": "main", "container": {"image": "a", "securityContext": {"privileged": True}}}]),
     "workflow.argo.templates.0.container.securityContext.privileged", True),
    (spec(podSpecPatch='{"hostPID": true}'), "workflow.argo.podSpecPatch", '{"hostPID": true}'),
    (spec(workflowTemplateRef={"name": "other"}), "workflow.argo.workflowTemplateRef", {"name": "other"}),
    (spec(templates=[{"name": "main", "steps": [[{"name": "s", "templateRef": {"name": "t", "template": "x"}}]]}]),
     "workflow.argo.templates.0.steps.0.0.templateRef", {"name": "t", "template": "x"}),
    (spec(templates=[{"name": "main", "serviceAccountName": "admin", "container": {"image": "a"}}]),
     "workflow.argo.templates.0.serviceAccountName", "admin"),
    (spec(templates=[{"name": "main", "container": {"image": "a", "env": [
        {"name": "K", "valueFrom": {"secretKeyRef": {"name": "db-admin", "key": "password"}}}]}}]),
     "workflow.argo.templates.0.container.env.0.valueFrom.secretKeyRef", "db-admin"),
    (spec(volumes=[{"name": "s", "secret": {"secretName": "tls"}}]), "workflow.argo.volumes.0.secret", "tls"),
    (spec(imagePullSecrets=[{"name": "regcred"}]), "workflow.argo.imagePullSecrets", "regcred"),
    (spec(templates=[{"name": "main", "container": {"image": "a"}, "outputs": {"artifacts": [
        {"name": "o", "path": "/o",
         "s3": {"key": "k", "bucket": "b", "accessKeySecret": {"name": "aws", "key": "a"}}}]}}]),
     "workflow.argo.templates.0.outputs.artifacts.0.s3.accessKeySecret", "aws"),
])
def test_what_a_marketplace_must_not_run_is_refused(argo, path, value):
    assert (path, value) in problems(argo)


def test_a_granted_secret_is_allowed():
    granted = spec(volumes=[{"name": "s", "secret": {"secretName": "shared-bucket"}}])
    assert problems(granted) == []


@pytest.mark.parametrize("argo, path, value", [
    ({"templates": [{"name": "main", "container": {"image": "a"}}]}, "workflow.argo.entrypoint", None),
    (spec(entrypoint="start"), "workflow.argo.entrypoint", "start"),
    (spec(onExit="cleanup"), "workflow.argo.onExit", "cleanup"),
    (spec(templates=[{"name": "main", "dag": {"tasks": [{"name": "a", "template": "nope"}]}}]),
     "workflow.argo.templates.0.dag.tasks.0.template", "nope"),
    ({"entrypoint": "main", "templates": []}, "workflow.argo.templates", None),
    (spec(arguments={}), "workflow.argo.arguments.parameters", "scene"),
    (spec(argumnts={}), "workflow.argo.argumnts", {}),
    (spec(templates=[{"name": "main", "container": {"image": "a", "comand": ["x"]}}]),
     "workflow.argo.templates.0.container.comand", ["x"]),
    (spec(parallelism="2"), "workflow.argo.parallelism", "2"),
    ({"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "spec": {**spec(), "argumnts": {}}},
     "workflow.argo.spec.argumnts", {}),
    ({"kind": "CronWorkflow", "spec": spec()}, "workflow.argo.kind", "CronWorkflow"),
    ({"apiVersion": "argoproj.io/v2", "spec": spec()}, "workflow.argo.apiVersion", "argoproj.io/v2"),
    ("spec: [unclosed", "workflow.argo", None),
    ("- just\n- a list\n", "workflow.argo", None),
])
def test_each_problem_names_the_field(argo, path, value):
    assert (path, value) in problems(argo)


def test_a_yaml_error_says_where():
    [problem] = check_argo_workflow("spec:\n  entrypoint: [a\n", [], SETTINGS)
    assert "line" in problem.message


def test_order_values_that_argo_would_expand_are_refused():
    found = order_value_problems([("scene", "ok { }"), ("note", "a {{workflow.parameters.secret}}")])
    assert [(p.path, p.value) for p in found] == [("note", "a {{workflow.parameters.secret}}")]
