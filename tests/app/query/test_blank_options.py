"""Blank list options are what the document's patterns call blank (`\\s` of ECMA-262), no more; and only
a known option's blank counts as absent: an unknown option is refused even empty."""
from __future__ import annotations


def test_an_option_of_spaces_counts_as_absent(alice):
    assert alice.get("/1/services", query_string={"$select": " \t\u00a0"}).status_code == 200


def test_a_control_character_python_calls_space_is_refused_not_ignored(alice):
    refused = alice.get("/1/services", query_string={"$select": "\x1c"})
    assert refused.status_code == 400 and refused.get_json()["name"] == "$select"


def test_a_blank_filter_past_its_length_is_refused(alice):
    from app.query.filtering import MAX_LENGTH

    refused = alice.get("/1/artifacts", query_string={"$filter": " " * (MAX_LENGTH + 1)})
    assert refused.status_code == 400 and refused.get_json()["name"] == "$filter"


def test_an_unknown_option_is_refused_even_empty(alice):
    for query, name in (("?=", ""), ("?$fliter=", "$fliter"), ("?$top=2&%20=", " ")):
        refused = alice.get("/1/services" + query)
        assert refused.status_code == 400, query
        assert refused.get_json()["name"] == name and "unknown option" in refused.get_json()["message"]
    assert alice.get("/1/services?$filter=&$top=").status_code == 200  # a known option's blank is absent
