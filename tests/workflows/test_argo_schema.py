"""The Argo schema the definitions follow: hera's models, and the fields they cannot describe."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.workflows.test_argo import SETTINGS, parameters
from workflows.argo_checks import check_argo_workflow
from workflows.argo_schema import ARGO_VERSION


def test_the_models_follow_the_argo_version_we_name():
    from hera.workflows.models.io.argoproj.workflow import v1alpha1

    header = Path(v1alpha1.__file__).read_text()[:300]
    assert re.search(r"argo-workflows-([0-9.]+[0-9])\.json", header).group(1) == ARGO_VERSION


def plugin_workflow(plugin):
    return {"entrypoint": "main", "templates": [{"name": "main", "plugin": plugin}]}


@pytest.mark.parametrize("plugin", [{"slack": {"channel": "#eo", "text": "done"}}, {"hello": {}},
                                    {"print-message-plugin": {"args": ["{{inputs.parameters.message}}"]}}])
def test_an_executor_plugin_template_in_argos_shape_passes(plugin):
    assert check_argo_workflow(plugin_workflow(plugin), parameters(), SETTINGS) == []


@pytest.mark.parametrize("plugin", [{}, {"a": {}, "b": {}}, "slack"])
def test_a_plugin_template_names_exactly_one_plugin(plugin):
    found = check_argo_workflow(plugin_workflow(plugin), parameters(), SETTINGS)
    assert {p.path for p in found} == {"workflow.argo.templates.0.plugin"}
    assert any("one executor plugin" in p.message for p in found)
