"""argo definitions written to harm: alias bombs, deep objects, labels that steer Argo's controller."""
from __future__ import annotations

import json
import time

from tests.workflows.test_argo import ORDER, SETTINGS, parameters, spec
from tests.workflows.test_untrusted import ALIAS_BOMB, nested
from workflows.argo import compile_argo_workflow, parse_argo_definition
from workflows.argo_checks import check_argo_workflow
from workflows.compile import dry_run
from workflows.names import LABEL_ORDER, label_value

INSTANCE_ID = "workflows.argoproj.io/controller-instanceid"


def test_an_alias_bomb_is_refused_at_publish_and_at_dry_run_quickly():
    started = time.monotonic()
    [problem] = check_argo_workflow(ALIAS_BOMB, [], SETTINGS)
    manifest, problems = dry_run(ORDER, "svc", {"type": "argo", "argo": ALIAS_BOMB}, [], SETTINGS)
    assert time.monotonic() - started < 1
    assert problem.path == "workflow.argo" and "aliases expanded" in problem.message
    assert manifest is None and problems == [problem]


def test_an_object_definition_is_capped_by_depth_and_size():
    deep = {"spec": {**spec(), "arguments": {"parameters": [{"name": "scene", "value": nested(10_000)}]}}}
    huge = {"spec": {**spec(), "templates": [{"name": f"t{i}", "container": {"image": "a" * 100}}
                                             for i in range(5000)]}}
    for document, message in [(deep, "nested more than"), (huge, "bytes as JSON")]:
        [problem] = check_argo_workflow(document, parameters("scene"), SETTINGS)
        assert problem.path == "workflow.argo" and message in problem.message


def test_metadata_keys_of_argo_and_of_the_platform_are_dropped_where_argo_copies_them():
    hostile = {"workflows.argoproj.io/controller-instanceid": "elsewhere", "workflows.argoproj.io/completed": "true",
               LABEL_ORDER: "forged", "team": "eo"}
    forged_annotations = {"marketplace/order-id": "urn:marketplace:order:other", "note": "kept"}
    given = {"metadata": {"labels": hostile},
             "spec": spec(podMetadata={"labels": hostile},
                          workflowMetadata={"labels": hostile, "labelsFrom": {INSTANCE_ID: {"expression": "'x'"}}},
                          templateDefaults={"metadata": {"labels": hostile}},
                          templates=[{"name": "main", "metadata": {"labels": hostile,
                                                                   "annotations": forged_annotations},
                                      "container": {"image": "alpine"}}])}
    compiled = compile_argo_workflow(ORDER, "svc", parse_argo_definition(given), [("scene", "s")], SETTINGS)
    spec_ = compiled["spec"]
    for labels in (compiled["metadata"]["labels"], spec_["podMetadata"]["labels"]):
        assert not any(key.startswith("workflows.argoproj.io/") for key in labels)
        assert labels["team"] == "eo" and labels[LABEL_ORDER] == label_value(ORDER)
    # Argo copies these over the platform's labels: only the provider's own keys are left.
    for labels in (spec_["workflowMetadata"]["labels"], spec_["templateDefaults"]["metadata"]["labels"],
                   spec_["templates"][0]["metadata"]["labels"]):
        assert labels == {"team": "eo"}
    assert spec_["workflowMetadata"]["labelsFrom"] == {}
    assert spec_["templates"][0]["metadata"]["annotations"] == {"note": "kept"}
    assert INSTANCE_ID not in json.dumps(compiled)
    assert given["metadata"]["labels"][INSTANCE_ID] == "elsewhere"  # the service's definition is not changed
