"""OData-style list options on GET /1/services, over HTTP, on SQLite and PostgreSQL."""
from __future__ import annotations

import pytest

from tests.factories import service_description


@pytest.fixture
def catalogue(alice, bob):
    """Five services with distinct fields; returns name → id."""
    specs = [
        (alice, dict(name="alpha", description="50% off_road", **{"provider-id": "urn:p:a"}, tags=["ag", "x"],
                     metadata=[{"name": "domain", "value": "ag"}])),
        (alice, dict(name="Beta", description="provider-id eq 'x'", **{"provider-id": "urn:p:a"}, tags=["geo"])),
        (bob, dict(name="gamma", description="plain", **{"provider-id": "urn:p:b"}, tags=["ag"],
                   metadata=[{"name": "domain", "value": "sea"}])),
        (bob, dict(name="delta", description="plain", **{"provider-id": "urn:p:b", "provider-ref": "r-1"}, tags=[])),
    ]
    ids = {}
    for client, fields in specs:
        ids[fields["name"]] = client.post("/1/services", json=service_description(**fields)).get_json()["id"]
    unnamed = service_description(**{"provider-id": "urn:p:c"})
    del unnamed["name"]
    ids[None] = alice.post("/1/services", json=unnamed).get_json()["id"]
    return ids


def names(client, **options):
    response = client.get("/1/services", query_string=options)
    assert response.status_code == 200, response.get_json()
    return [item.get("name") for item in response.get_json()["services"]]


@pytest.mark.parametrize("expression, expected", [
    ("provider-id eq 'urn:p:a'", ["Beta", "alpha"]),
    ("provider-id ne 'urn:p:a'", ["delta", "gamma", None]),
    ("name gt 'alpha'", ["delta", "gamma"]),
    ("name ge 'delta'", ["delta", "gamma"]),
    ("name lt 'alpha'", ["Beta"]),
    ("name le 'Beta'", ["Beta"]),
    ("name eq null", [None]),
    ("provider-ref eq 'r-1'", ["delta"]),
    ("provider-ref ne 'r-1'", ["Beta", "alpha", "gamma", None]),
    ("name in ('alpha', 'gamma', 'zeta')", ["alpha", "gamma"]),
    ("provider-id eq 'urn:p:b' and name eq 'gamma'", ["gamma"]),
    ("name eq 'alpha' or name eq 'delta'", ["alpha", "delta"]),
    ("not (provider-id eq 'urn:p:b') and name ne null", ["Beta", "alpha"]),
    ("contains(name,'amm')", ["gamma"]),
    ("startswith(name,'de')", ["delta"]),
    ("endswith(name,'ta')", ["Beta", "delta"]),
    ("tolower(name) eq 'beta'", ["Beta"]),
    ("toupper(name) eq 'ALPHA'", ["alpha"]),
    ("contains(description,'50%')", ["alpha"]),
    ("contains(description,'f_r')", ["alpha"]),
    ("contains(description,'%')", ["alpha"]),
    ("description eq 'provider-id eq ''x'''", ["Beta"]),
    ("tags/any(t: t eq 'ag')", ["alpha", "gamma", None]),  # the unnamed one has the factory's tags
    ("tags/any(t: contains(t,'e'))", ["Beta"]),
    ("tags/any()", ["Beta", "alpha", "gamma", None]),
    ("tags/all(t: t eq 'ag') and name ne null", ["delta", "gamma"]),
    ("metadata/any(m: m/name eq 'domain' and m/value eq 'ag')", ["alpha"]),
    ("status eq 'pending' and created-at gt 2000-01-01T00:00:00Z", ["Beta", "alpha", "delta", "gamma", None]),
    ("created-at lt 2000-01-01T00:00:00Z", []),
    ("owner eq 'bob'", ["delta", "gamma"]),
])
def test_filter_operators_and_functions(alice, catalogue, expression, expected):
    assert names(alice, **{"$filter": expression, "$top": 100}) == expected


def test_orderby_directions_nulls_and_ties(alice, catalogue):
    assert names(alice, **{"$orderby": "name desc"}) == [None, "gamma", "delta", "alpha", "Beta"]
    by_provider = alice.get("/1/services", query_string={"$orderby": "provider-id desc,name"}).get_json()
    assert [s.get("name") for s in by_provider["services"]] == [None, "delta", "gamma", "Beta", "alpha"]
    same_key = names(alice, **{"$orderby": "status", "$top": 100})
    ids = [s["id"] for s in alice.get("/1/services", query_string={"$orderby": "status"}).get_json()["services"]]
    assert ids == sorted(ids) and len(same_key) == 5


def test_select_keeps_only_the_named_fields_plus_id_and_links(alice, catalogue):
    items = alice.get("/1/services", query_string={"$select": "name", "$top": 1}).get_json()["services"]
    assert set(items[0]) == {"id", "links", "name"}


@pytest.mark.parametrize("orderby", [None, "name desc", "provider-id,name desc", "created-at desc"])
def test_paging_with_page_tokens_loses_and_repeats_nothing(alice, catalogue, orderby):
    options = {"$top": 2} if orderby is None else {"$top": 2, "$orderby": orderby}
    expected = [s["id"] for s in alice.get("/1/services", query_string={**options, "$top": 100}).get_json()["services"]]
    seen, url, pages = [], "/1/services", 0
    response = alice.get(url, query_string=options).get_json()
    while True:
        pages += 1
        seen += [s["id"] for s in response["services"]]
        if "next" not in response["links"]:
            break
        assert "$top=2" in response["links"]["next"].replace("%24", "$")
        response = alice.get(response["links"]["next"]).get_json()
    assert seen == expected and pages == 3


def test_rows_added_between_pages_neither_shift_nor_repeat(alice, catalogue):
    first = alice.get("/1/services", query_string={"$top": 2, "$orderby": "name"}).get_json()
    alice.post("/1/services", json=service_description(name="Aardvark"))  # sorts before the page seen
    alice.post("/1/services", json=service_description(name="zulu"))
    rest, response = [], alice.get(first["links"]["next"]).get_json()
    while True:
        rest += [s.get("name") for s in response["services"]]
        if "next" not in response["links"]:
            break
        response = alice.get(response["links"]["next"]).get_json()
    assert [s["name"] for s in first["services"]] == ["Beta", "alpha"]
    assert rest == ["delta", "gamma", "zulu", None]


def test_links_carry_the_options(alice, catalogue):
    body = alice.get("/1/services", query_string={"$filter": "provider-id ne 'urn:p:c'", "$top": 1,
                                                  "$select": "name"}).get_json()
    next_url = body["links"]["next"]
    assert "%24filter=provider-id+ne+%27urn%3Ap%3Ac%27" in next_url and "%24select=name" in next_url
    assert "pageToken=" in next_url and "pageToken" not in body["links"]["first"]


def test_filters_apply_before_the_page_limit(alice, catalogue):
    assert names(alice, **{"$filter": "owner eq 'bob'", "$top": 1}) == ["delta"]


@pytest.mark.parametrize("options, name, fragment", [
    ({"$fliter": "name eq 'x'"}, "$fliter", "unknown option"),
    ({"$filter": "secret eq 'x'"}, "$filter", "not a field you can filter on"),
    ({"$filter": "tag_rows/any(t: t/tag eq 'x')"}, "$filter", "collections"),
    ({"$filter": "name"}, "$filter", "not a condition"),
    ({"$filter": "name eq 3"}, "$filter", "not a string value"),
    ({"$filter": "created-at gt 'yesterday'"}, "$filter", "date-time"),
    ({"$filter": "name eq"}, "$filter", "not a valid expression"),
    ({"$filter": "name eq 'x' and " * 70 + "name eq 'y'"}, "$filter", "at most 64"),
    ({"$filter": "(" * 2000 + "name eq 'x'" + ")" * 2000}, "$filter", "at most 2000 characters"),
    ({"$filter": "(" * 30 + "name eq 'x'" + ")" * 30}, "$filter", "20 deep"),
    ({"$filter": "name in (" + ",".join(f"'{i}'" for i in range(101)) + ")"}, "$filter", "at most 100"),
    ({"$filter": "name eq 'x' and unknownfn(name)"}, "$filter", "Unknown function: 'unknownfn'"),
    ({"$orderby": "secret"}, "$orderby", "not a field you can sort on"),
    ({"$orderby": "name sideways"}, "$orderby", "asc|desc"),
    ({"$select": "workflow"}, "$select", "not a field you can select"),
    ({"$top": "1001"}, "$top", "between 1 and 1000"),
    ({"limit": "0"}, "limit", "between 1 and 1000"),
    ({"$skip": "-1"}, "$skip", "between 0"),
    ({"$top": "2", "limit": "3"}, "limit", "mean the same"),
    ({"pageToken": "forged"}, "pageToken", "not one this server made"),
])
def test_bad_options_are_400_naming_the_option(alice, catalogue, options, name, fragment):
    response = alice.get("/1/services", query_string=options)
    assert response.status_code == 400, response.get_json()
    body = response.get_json()
    assert body["name"] == name and fragment in body["message"]
    assert "value" in body


def test_a_repeated_option_is_400(alice):
    response = alice.get("/1/services?$top=1&$top=2")
    assert response.status_code == 400 and response.get_json()["name"] == "$top"


def test_a_page_token_only_works_for_its_own_filter_and_order(alice, catalogue):
    body = alice.get("/1/services", query_string={"$top": 1, "$orderby": "name"}).get_json()
    token = body["links"]["next"].split("pageToken=")[1]
    other = alice.get("/1/services", query_string={"$top": 1, "$orderby": "name desc", "pageToken": token})
    assert other.status_code == 400 and "another $filter or $orderby" in other.get_json()["message"]
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert alice.get("/1/services", query_string={"$top": 1, "$orderby": "name", "pageToken": tampered}
                     ).status_code == 400
    with_skip = alice.get("/1/services", query_string={"$orderby": "name", "pageToken": token, "$skip": 1})
    assert with_skip.status_code == 400 and with_skip.get_json()["name"] == "$skip"


def test_select_takes_every_field_a_list_item_shows(alice, catalogue):
    every = "id,name,description,provider,links"
    items = alice.get("/1/services", query_string={"$select": every}).get_json()["services"]
    assert set(items[0]) == {"id", "name", "description", "provider", "links"}
    orders = alice.get("/1/orders", query_string={
        "$select": "id,name,status,status-message,ordered-at,started-at,finished-at,service,account,parameters,"
                   "tags,links"})
    assert orders.status_code == 200, orders.get_json()


@pytest.mark.parametrize("option", ["$filter", "$orderby", "$top", "$skip", "$select", "offset", "limit",
                                    "pageToken"])
def test_an_empty_option_counts_as_absent(alice, catalogue, option):
    assert names(alice, **{option: ""}) == names(alice)
    assert names(alice, **{option: "  "}) == names(alice)


def test_a_field_named_twice_in_orderby_keeps_its_first_place(alice, catalogue):
    assert names(alice, **{"$orderby": "name desc,name asc"}) == names(alice, **{"$orderby": "name desc"})


def test_every_example_of_the_spec_succeeds(alice, catalogue):
    spec = alice.get("/openapi.json").get_json()
    for path in ("/1/services", "/1/orders"):
        (options,) = [p for p in spec["paths"][path]["get"]["parameters"] if p["name"] == "options"]
        response = alice.get(path, query_string=options["example"])
        assert response.status_code == 200, (path, response.get_json())
    # The README's own example.
    assert alice.get("/1/services", query_string={"$select": "name,description"}).status_code == 200


@pytest.mark.parametrize("orderby", ["name", "name desc", "provider-ref,name desc", "provider-ref desc,name"])
def test_pages_of_one_cross_from_named_to_unnamed_rows_and_back_in_order(alice, catalogue, orderby):
    """A nullable first field is read partition by partition (its values, then its NULLs, or the
    other way round when descending): one-row pages give the same rows as one page of all."""
    unnamed = service_description(**{"provider-id": "urn:p:d"})
    del unnamed["name"]
    alice.post("/1/services", json=unnamed)
    everything = alice.get("/1/services", query_string={"$orderby": orderby, "$top": 100}).get_json()["services"]
    seen, response = [], alice.get("/1/services", query_string={"$orderby": orderby, "$top": 1}).get_json()
    while True:
        seen += [s["id"] for s in response["services"]]
        if "next" not in response["links"]:
            break
        response = alice.get(response["links"]["next"]).get_json()
    assert seen == [s["id"] for s in everything] and len(seen) == 6
    skipped = alice.get("/1/services", query_string={"$orderby": orderby, "$top": 2, "$skip": 3}).get_json()
    assert [s["id"] for s in skipped["services"]] == seen[3:5]
