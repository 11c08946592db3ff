"""Untrusted YAML and JSON are measured before they are walked: sizes, depths and aliases first."""
from __future__ import annotations

import time

import pytest

from workflows.untrusted import MAX_DEPTH, MAX_OBJECT_BYTES, MAX_TEXT_BYTES, DocumentError, load_yaml, measure_object

# Nine levels of nine aliases each: 9**9 (387 million) scalars from 600 characters.
ALIAS_BOMB = "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
    f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]\n"
    for previous, name in zip("abcdefgh", "bcdefghi", strict=True))


def refusal(text: str) -> str:
    with pytest.raises(DocumentError) as refused:
        load_yaml(text, "workflow.argo")
    assert refused.value.problem.path == "workflow.argo"
    return refused.value.problem.message


def test_an_alias_bomb_is_refused_from_the_parsers_events_in_milliseconds():
    assert len(ALIAS_BOMB) < 1024
    started = time.monotonic()
    assert "with its YAML aliases expanded" in refusal(ALIAS_BOMB)
    assert time.monotonic() - started < 0.5


def test_a_few_aliases_are_fine_and_merge_keys_too():
    loaded = load_yaml("base: &base {image: alpine, command: [echo]}\n"
                       "one: *base\ntwo: {<<: *base, image: busybox}\n", "w")
    assert loaded["one"] == {"image": "alpine", "command": ["echo"]}
    assert loaded["two"] == {"image": "busybox", "command": ["echo"]}


@pytest.mark.parametrize("text, message", [
    ("a: &a [1, *a]", "refers to a node that contains it"),
    ("a: *missing", "has no anchor"),
    ("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), f"nested more than {MAX_DEPTH} levels deep"),
    ("x" * (MAX_TEXT_BYTES + 1), f"longer than {MAX_TEXT_BYTES} bytes"),
    ("a: !!binary aGVsbG8=", "YAML tag tag:yaml.org,2002:binary is not allowed"),
    ("a: !!python/object:os.system x", "is not allowed"),
    ("n: " + "9" * 5000, "a number is too long"),
    ("a: [unclosed", "not valid YAML or JSON (line 2, column 1)"),
])
def test_what_is_refused_before_it_is_loaded(text, message):
    assert message in refusal(text)


def test_values_are_only_what_json_knows():
    assert load_yaml("day: 2024-01-31\nn: 3\nok: true\nnothing: null", "w") == {
        "day": "2024-01-31", "n": 3, "ok": True, "nothing": None}


def nested(depth: int) -> list:
    root = current = []
    for _ in range(depth - 1):
        current.append([])
        current = current[0]
    return root


def test_an_object_is_measured_by_depth_and_serialized_size_without_recursion():
    measure_object({"spec": nested(MAX_DEPTH - 1)}, "w")
    for document, message in [({"spec": nested(100_000)}, "nested more than"),
                              ({"a": ["x" * 1000] * 1000}, f"larger than {MAX_OBJECT_BYTES} bytes as JSON"),
                              ({"n": 10 ** 300_000}, "larger than")]:
        with pytest.raises(DocumentError) as refused:
            measure_object(document, "workflow.argo")
        assert message in refused.value.problem.message
