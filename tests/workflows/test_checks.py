"""Publish-time checks of a basic workflow name the field a provider must fix."""
from __future__ import annotations

import pytest

from workflows.checks import check_basic_workflow
from workflows.settings import CompileSettings


def problems(basic, names=("scene",)):
    return [(p.path, p.value) for p in check_basic_workflow(basic, names, CompileSettings())]


@pytest.mark.parametrize("image", ["alpine", "alpine:3.20", "ghcr.io/acme/ndvi:1.2", "localhost:5000/a/b",
                                   "python@sha256:" + "a" * 64, "registry.example.org/team/img:v1.0-rc_1"])
def test_good_workflows_have_no_problem(image):
    assert problems({"image": image, "command": ["run"], "cpu": {"request": "500m", "limit": "1"},
                     "memory": {"request": "1Gi", "limit": "1Gi"}}) == []


@pytest.mark.parametrize("basic, path, value", [
    ({"image": "Not An Image"}, "workflow.basic.image", "Not An Image"),
    ({"image": "alpine:"}, "workflow.basic.image", "alpine:"),
    ({"image": "alpine", "cpu": {"request": "abc"}}, "workflow.basic.cpu.request", "abc"),
    ({"image": "alpine", "memory": {"limit": "1GB"}}, "workflow.basic.memory.limit", "1GB"),
    ({"image": "alpine", "cpu": {"request": "2", "limit": "500m"}}, "workflow.basic.cpu.request", "2"),
    ({"image": "alpine", "memory": {"request": "2Gi", "limit": "1Gi"}}, "workflow.basic.memory.request", "2Gi"),
])
def test_each_problem_names_the_field(basic, path, value):
    assert problems(basic) == [(path, value)]
