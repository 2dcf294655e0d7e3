"""The Soda emulator's resources beyond scans (D1-D12, U1-U6): rules, errors, paging, isolation. Every
answer is validated against the resolved spec by the fixtures."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from conformance.emulators.core import Emulator
from conformance.emulators.soda import Plugin
from conformance.emulators.soda.resources import CATALOGUE, DELETE_TICKS

from .conftest import clock, control

GLOBEX = (Plugin.accounts["globex"]["key_id"], Plugin.accounts["globex"]["secret"])


@pytest.fixture
def emu(soda_emulator: Emulator) -> Emulator:
    return soda_emulator


@pytest.fixture
def globex(emu: Emulator, emu_client: Callable[..., httpx.Client]) -> httpx.Client:
    return emu_client(emu, auth=GLOBEX)


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def error(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"code", "message"} and body["code"] == code
    return str(body["message"])


def dataset_id(http: httpx.Client, name: str) -> str:
    [found] = [
        d for d in ok(http.get("/api/v1/datasets", params={"search": name}))["content"] if d["name"] == name
    ]
    return str(found["id"])


def users(http: httpx.Client) -> list[dict[str, Any]]:
    return list(ok(http.get("/api/v1/users"))["content"])


# -- lists ----------------------------------------------------------------------------------------


def test_users__spring_pages_from_page_0_with_size_bounds(http: httpx.Client) -> None:
    pages = [ok(http.get("/api/v1/users", params={"size": 2, "page": p})) for p in (0, 1, 2)]
    assert [len(p["content"]) for p in pages] == [2, 1, 0]
    assert [(p["first"], p["last"], p["number"], p["size"]) for p in pages[:2]] == [
        (True, False, 0, 2),
        (False, True, 1, 2),
    ]
    assert {(p["totalElements"], p["totalPages"]) for p in pages} == {(3, 2)}
    assert "size" in error(http.get("/api/v1/users", params={"size": 0}), 400, "bad_request")
    assert "size" in error(http.get("/api/v1/datasets/roles", params={"size": 101}), 400, "bad_request")
    assert ok(http.get("/api/v1/datasets/attributes"))["size"] == 1000  # its own default


def test_users__search_is_case_blind_on_names_and_email(http: httpx.Client) -> None:
    found = ok(http.get("/api/v1/users", params={"search": "HOPPER"}))["content"]
    assert [u["fullName"] for u in found] == ["Grace Hopper"]
    assert [u["email"] for u in ok(http.get("/api/v1/users", params={"search": "torvalds@"}))["content"]] == [
        "linus.torvalds@acme.example"
    ]


def test_datasets__hidden_ones_and_their_checks_are_filtered_out_not_refused(http: httpx.Client) -> None:
    names = [d["name"] for d in ok(http.get("/api/v1/datasets"))["content"]]
    visible = [name for name, _, hidden, _ in CATALOGUE["acme"]["datasets"] if not hidden]
    assert names == visible == ["customers", "orders"]
    checks = ok(http.get("/api/v1/checks", params={"size": 100}))["content"]
    assert {c["datasets"][0]["name"] for c in checks} == {"customers", "orders"}
    assert ok(http.get("/api/v1/checks"))["totalElements"] == 5


def test_datasets__filters_from_datasource_and_search(http: httpx.Client, emu: Emulator) -> None:
    assert ok(http.get("/api/v1/datasets", params={"datasourceName": "lake"}))["content"] == []
    assert ok(http.get("/api/v1/datasets", params={"datasourceName": "warehouse"}))["totalElements"] == 2
    later = "2099-01-01T00:00:00+01:00"
    assert ok(http.get("/api/v1/datasets", params={"from": later}))["content"] == []
    clock(emu).advance(60)
    ok(http.post(f"/api/v1/datasets/{dataset_id(http, 'orders')}", json={"label": "Orders"}))
    since = "2024-03-22T19:56:50Z"  # after the catalogue (clock start 19:56:21), before the update
    assert [d["name"] for d in ok(http.get("/api/v1/datasets", params={"from": since}))["content"]] == [
        "orders"
    ]
    message = error(http.get("/api/v1/datasets", params={"from": "yesterday"}), 400, "bad_request")
    assert "from" in message and "ISO-8601" in message


def test_checks__by_dataset_by_ids_and_the_documented_exclusions(http: httpx.Client) -> None:
    orders = dataset_id(http, "orders")
    by_dataset = ok(http.get("/api/v1/checks", params={"datasetId": orders}))["content"]
    assert len(by_dataset) == 3 and {c["datasets"][0]["id"] for c in by_dataset} == {orders}
    wanted = [by_dataset[0]["id"], by_dataset[2]["id"]]
    by_ids = ok(http.get("/api/v1/checks", params={"checkIds": ",".join(wanted)}))["content"]
    assert [c["id"] for c in by_ids] == wanted
    message = error(
        http.get("/api/v1/checks", params={"checkIds": wanted[0], "datasetId": orders}), 400, "bad_request"
    )
    assert "can't be combined" in message and "datasetId" in message
    too_many = ",".join(f"c{i}" for i in range(1001))
    assert "at most 1000" in error(
        http.get("/api/v1/checks", params={"checkIds": too_many}), 400, "bad_request"
    )


def test_checks__a_failing_check_carries_its_incident(http: httpx.Client) -> None:
    checks = ok(http.get("/api/v1/checks", params={"size": 100}))["content"]
    failing = [c for c in checks if c["evaluationStatus"] == "fail"]
    assert failing and all(c["incidents"] and c["incidents"][0]["status"] == "reported" for c in failing)
    assert all(c["incidents"] == [] for c in checks if c["evaluationStatus"] != "fail")


# -- isolation ------------------------------------------------------------------------------------


def test_isolation__another_organisation_sees_nothing_and_gets_404(
    http: httpx.Client, globex: httpx.Client
) -> None:
    orders = dataset_id(http, "orders")
    assert [d["name"] for d in ok(globex.get("/api/v1/datasets"))["content"]] == ["widgets"]
    assert [u["fullName"] for u in users(globex)] == ["Hank Scorpio"]
    error(globex.get(f"/api/v1/datasets/{orders}/profiling"), 404, "not_found")
    error(globex.post(f"/api/v1/datasets/{orders}", json={"label": "mine"}), 404, "not_found")
    assert ok(globex.get("/api/v1/checks", params={"datasetId": orders}))["content"] == []


# -- datasets -------------------------------------------------------------------------------------


def test_update_dataset__changes_what_is_sent_and_keeps_the_rest(http: httpx.Client) -> None:
    orders = dataset_id(http, "orders")
    group = ok(http.get("/api/v1/userGroups"))["content"][0]
    body = {"label": "Orders (EU)", "tags": ["pii"], "attributes": {"domain": "sales"}}
    body["owners"] = [{"type": "userGroup", "userGroupId": group["userGroupId"]}]
    updated = ok(http.post(f"/api/v1/datasets/{orders}", json=body))
    assert (updated["label"], updated["tags"], updated["attributes"]) == (
        "Orders (EU)",
        ["pii"],
        {"domain": "sales"},
    )
    assert updated["owners"] == [
        {"type": "userGroup", "userGroup": {"name": "Analysts", "userGroupId": group["userGroupId"]}}
    ]
    again = ok(http.post(f"/api/v1/datasets/{orders}", json={"partitionColumn": "created_at"}))
    assert again["label"] == "Orders (EU)" and again["partitionColumn"] == {
        "name": "created_at",
        "columnType": "unknown",
    }


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"owners": [{"type": "user", "userId": "nobody"}]}, "unknown user id"),
        ({"owners": [{"type": "userGroup"}]}, "needs userGroupId"),
        ({"attributes": {"colour": "red"}}, "unknown dataset attribute"),
    ],
)
def test_update_dataset__bad_references_are_400_naming_the_field(
    http: httpx.Client, body: dict[str, Any], words: str
) -> None:
    message = error(
        http.post(f"/api/v1/datasets/{dataset_id(http, 'orders')}", json=body), 400, "bad_request"
    )
    assert words in message and next(iter(body)) in message


def test_update_dataset__settings_show_in_their_own_reads(http: httpx.Client) -> None:
    orders = dataset_id(http, "orders")
    assert ok(http.get(f"/api/v1/datasets/{orders}/metricMonitoring"))["state"] == "disabled"
    schedule = {"cronExpression": "0 6 * * *", "timezone": "UTC"}
    monitors = [{"metricType": "rowCount", "configuration": {"isEnabled": True}}]
    body = {
        "metricMonitoring": {"datasetMetricMonitorsConfiguration": monitors, "scanSchedule": schedule},
        "diagnosticsWarehouse": {"failedRowsConfiguration": {"enabled": True, "maxRowCount": 50}},
        "profiling": {"profilingSamplingStrategy": {"numberOfRows": 1000}, "scanSchedule": schedule},
    }
    ok(http.post(f"/api/v1/datasets/{orders}", json=body))
    monitoring = ok(http.get(f"/api/v1/datasets/{orders}/metricMonitoring"))
    assert monitoring["state"] == "enabled" and monitoring["datasetMetricMonitorsConfiguration"] == monitors
    rows = ok(http.get(f"/api/v1/datasets/{orders}/diagnosticsWarehouse"))["failedRowsConfiguration"]
    assert (rows["enabled"], rows["maxRowCount"], rows["state"]) == (True, 50, "ready")
    profile = ok(http.get(f"/api/v1/datasets/{orders}/profiling"))
    assert profile["datasetId"] == orders and profile["scanSchedule"] == schedule and profile["columns"]


def test_delete_dataset__stays_listed_for_a_while_then_is_gone(http: httpx.Client, emu: Emulator) -> None:
    orders = dataset_id(http, "orders")
    assert ok(http.delete(f"/api/v1/datasets/{orders}"))["message"]
    assert ok(http.delete(f"/api/v1/datasets/{orders}"))["message"]  # pending: 200 again
    assert dataset_id(http, "orders") == orders
    clock(emu).advance(DELETE_TICKS)
    assert ok(http.get("/api/v1/datasets", params={"search": "orders"}))["content"] == []
    assert ok(http.get("/api/v1/checks", params={"datasetId": orders}))["content"] == []
    error(http.delete(f"/api/v1/datasets/{orders}"), 404, "not_found")


def test_responsibilities__a_post_replaces_the_whole_list(http: httpx.Client) -> None:
    orders = dataset_id(http, "orders")
    before = ok(http.get(f"/api/v1/datasets/{orders}/responsibilities"))["content"]
    assert [r["role"]["name"] for r in before] == ["Manager"]
    roles = {r["name"]: r["id"] for r in ok(http.get("/api/v1/datasets/roles"))["content"]}
    group = ok(http.get("/api/v1/userGroups"))["content"][0]["userGroupId"]
    body = {"responsibilities": [{"roleId": roles["Viewer"], "type": "userGroup", "userGroupId": group}]}
    response = http.post(f"/api/v1/datasets/{orders}/responsibilities", json=body)
    assert response.status_code == 201 and response.content == b""
    assert response.headers["location"] == f"http://127.0.0.1/api/v1/datasets/{orders}/responsibilities"
    after = ok(http.get(f"/api/v1/datasets/{orders}/responsibilities"))["content"]
    assert [(r["type"], r["userGroupId"], r["role"]["name"]) for r in after] == [
        ("userGroup", group, "Viewer")
    ]
    bad = {"responsibilities": [{"roleId": "role-nope", "type": "user", "userId": users(http)[0]["userId"]}]}
    assert "unknown role id" in error(
        http.post(f"/api/v1/datasets/{orders}/responsibilities", json=bad), 400, "bad_request"
    )


# -- incidents ------------------------------------------------------------------------------------


def test_update_incident__title_sets_the_name_and_enums_are_checked(http: httpx.Client) -> None:
    checks = ok(http.get("/api/v1/checks", params={"size": 100}))["content"]
    incident = next(c["incidents"][0] for c in checks if c["incidents"])
    path = f"/api/v1/incidents/{incident['id']}"
    updated = ok(
        http.post(path, json={"title": "Late orders", "status": "resolved", "resolutionNotes": "Backfilled"})
    )
    assert (updated["name"], updated["status"], updated["resolutionNotes"]) == (
        "Late orders",
        "resolved",
        "Backfilled",
    )
    assert updated["severity"] == "major" and updated["number"] == incident["number"]
    error(http.post(path, json={"severity": "catastrophic"}), 400, "bad_request")
    error(http.post("/api/v1/incidents/nope", json={}), 404, "not_found")


# -- user groups ----------------------------------------------------------------------------------


def test_user_groups__create_read_update_delete(http: httpx.Client) -> None:
    ada, grace, linus = (u["userId"] for u in users(http))
    response = http.post("/api/v1/userGroups", json={"name": "Stewards", "userIds": [ada]})
    assert response.status_code == 200 and response.content == b""  # 200 as the spec declares (not 201)
    group_id = response.headers["location"].rsplit("/", 1)[1]
    group = ok(http.get(f"/api/v1/userGroups/{group_id}"))
    assert (group["name"], [u["userId"] for u in group["users"]]) == ("Stewards", [ada])
    updated = ok(http.post(f"/api/v1/userGroups/{group_id}", json={"userIds": [grace, linus]}))
    assert [u["userId"] for u in updated["users"]] == [grace, linus] and updated["name"] == "Stewards"
    assert [g["name"] for g in ok(http.get("/api/v1/userGroups", params={"search": "stew"}))["content"]] == [
        "Stewards"
    ]
    assert ok(http.delete(f"/api/v1/userGroups/{group_id}")) == {}
    error(http.get(f"/api/v1/userGroups/{group_id}"), 404, "not_found")
    error(http.delete(f"/api/v1/userGroups/{group_id}"), 404, "not_found")


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"name": "Analysts"}, "names must be unique"),
        ({"userIds": []}, "name is required"),
        ({"name": "New", "userIds": ["ghost"]}, "unknown user id"),
    ],
)
def test_create_user_group__refusals_are_400(http: httpx.Client, body: dict[str, Any], words: str) -> None:
    before = ok(http.get("/api/v1/userGroups"))["totalElements"]
    assert words in error(http.post("/api/v1/userGroups", json=body), 400, "bad_request")
    assert ok(http.get("/api/v1/userGroups"))["totalElements"] == before


def test_user_groups__many_groups_page_by_page(http: httpx.Client) -> None:
    for i in range(24):
        assert http.post("/api/v1/userGroups", json={"name": f"team-{i:02d}"}).status_code == 200
    pages = [ok(http.get("/api/v1/userGroups", params={"size": 10, "page": p})) for p in range(3)]
    assert [len(p["content"]) for p in pages] == [10, 10, 5]
    names = [g["name"] for p in pages for g in p["content"]]
    assert names == ["Analysts", *(f"team-{i:02d}" for i in range(24))]
    assert pages[2]["last"] and pages[0]["totalPages"] == 3


def test_scenario__large_catalogue_pages_through_the_control_api(http: httpx.Client) -> None:
    control(http, "POST", "/scenario", {"name": "large_catalogue"}, status=201)
    first = ok(http.get("/api/v1/datasets", params={"datasourceName": "lake", "size": 100}))
    assert (first["totalElements"], first["totalPages"], first["last"]) == (250, 3, False)
    last = ok(http.get("/api/v1/datasets", params={"datasourceName": "lake", "size": 100, "page": 2}))
    assert [d["name"] for d in last["content"]][-1] == "events_249" and len(last["content"]) == 50
    checks = ok(http.get("/api/v1/checks", params={"datasetId": last["content"][0]["id"]}))["content"]
    assert [c["name"] for c in checks] == ["row_count > 0"]


# -- permissions (x-scanwire-permission) ------------------------------------------------------------

VIEWER = Plugin.accounts["acme"]["members"][0]


@pytest.fixture
def viewer(emu: Emulator, emu_client: Callable[..., httpx.Client]) -> httpx.Client:
    return emu_client(emu, auth=(VIEWER["key_id"], VIEWER["secret"]))


def test_permissions__a_member_without_one_gets_403_and_nothing_changes(
    http: httpx.Client, viewer: httpx.Client
) -> None:
    target = dataset_id(http, "orders")
    group = ok(http.get("/api/v1/userGroups"))["content"][0]["userGroupId"]
    # What a viewer may do: it is the organisation's data (same account).
    assert dataset_id(viewer, "orders") == target
    ok(viewer.get(f"/api/v1/datasets/{target}/metricMonitoring"))
    ok(viewer.get(f"/api/v1/datasets/{target}/profiling"))
    ok(viewer.get(f"/api/v1/userGroups/{group}"))  # "Any user"
    # What needs another permission ("## Authorization" of each operation).
    refused = {
        "Delete dataset": viewer.delete(f"/api/v1/datasets/{target}"),
        "Configure dataset": viewer.post(f"/api/v1/datasets/{target}", json={"label": "x"}),
        "Manage organization settings": viewer.delete(f"/api/v1/userGroups/{group}"),
    }
    for permission, response in refused.items():
        assert permission in error(response, 403, "forbidden")
    # Nothing was done: the admin still sees the dataset and the group.
    assert dataset_id(http, "orders") == target
    ok(http.get(f"/api/v1/userGroups/{group}"))
    # The admin (the account's own key) may do everything.
    ok(http.delete(f"/api/v1/userGroups/{group}"))


def test_permissions__every_declared_label_is_one_the_spec_documents(emu: Emulator) -> None:
    """x-scanwire-permission repeats the operation's documented "## Authorization" label (one fact, two
    places in the transcription: a drift between them fails here)."""
    declared = {
        k: op["x-scanwire-permission"] for k, op in emu.operations.items() if "x-scanwire-permission" in op
    }
    assert len(declared) == 11
    for key, label in declared.items():
        assert f"## Authorization\n\n{label}" in emu.operations[key]["description"].replace(
            "\n\n\n", "\n\n"
        ), key
