"""Values of argo parameters: an order's at order time, defaults at publish (`{{`, and the argument's enum)."""
from __future__ import annotations

import pytest

from tests.workflows.test_argo import SETTINGS, spec
from workflows.argo import parse_argo_definition
from workflows.argo_checks import check_argo_workflow
from workflows.argo_values import order_value_problems
from workflows.compile import value_problems

WITH_ENUM = spec(arguments={"parameters": [{"name": "scene", "enum": ["S1", "S2"]}, {"name": "note"}]})


def test_an_order_value_outside_the_arguments_enum_is_refused_naming_parameter_and_value():
    [problem] = order_value_problems([("scene", "S3"), ("note", "anything")], parse_argo_definition(WITH_ENUM))
    assert (problem.path, problem.value) == ("scene", "S3")
    assert "'S3'" in problem.message and "S1, S2" in problem.message
    assert order_value_problems([("scene", "S2")], parse_argo_definition(WITH_ENUM)) == []


def test_order_values_are_checked_through_the_workflows_entry_point():
    workflow = {"type": "argo", "argo": WITH_ENUM}
    assert [(p.path, p.value) for p in value_problems(workflow, [("scene", "S9"), ("note", "{{x}}")])] == [
        ("scene", "S9"), ("note", "{{x}}")]
    # A definition that does not parse still has its values checked for '{{' (a dry run names the rest).
    broken = {"type": "argo", "argo": "spec: [unclosed"}
    assert [p.path for p in value_problems(broken, [("scene", "S9"), ("note", "{{x}}")])] == ["note"]
    assert value_problems({"type": "basic", "basic": {}}, [("note", "{{x}}")]) == []


@pytest.mark.parametrize("parameters, argo, path, value", [
    ([{"name": "scene", "type": "string", "default": "{{workflow.parameters.token}}"}], spec(),
     "parameters.0.default", "{{workflow.parameters.token}}"),
    ([{"name": "scene", "type": "string", "default": "S3"}], WITH_ENUM, "parameters.0.default", "S3"),
    ([{"name": "scene", "type": "option", "options": [{"value": "S1"}, {"value": "S4"}]}], WITH_ENUM,
     "parameters.0.options.1.value", "S4"),
    ([{"name": "scene", "type": "string", "optional": True}],
     spec(arguments={"parameters": [{"name": "scene", "value": "{{workflow.name}}"}]}),
     "workflow.argo.arguments.parameters.0.value", "{{workflow.name}}"),
    ([{"name": "scene", "type": "string"}],
     spec(arguments={"parameters": [{"name": "scene"}, {"name": "level", "value": "9", "enum": ["1", "2"]}]}),
     "workflow.argo.arguments.parameters.1.value", "9"),
])
def test_a_default_that_would_fail_orders_is_refused_at_publish_naming_it(parameters, argo, path, value):
    found = [(p.path, p.value) for p in check_argo_workflow(argo, parameters, SETTINGS)]
    assert found == [(path, value)]


def test_the_definitions_own_arguments_may_use_argo_expressions():
    argo = spec(arguments={"parameters": [{"name": "scene"}, {"name": "run", "value": "{{workflow.name}}"}]})
    assert check_argo_workflow(argo, [{"name": "scene", "type": "string"}], SETTINGS) == []
