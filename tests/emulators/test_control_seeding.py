"""The control API seeds every resource a user makes before a scan (`POST /_emulator/resources/{kind}`,
each backend's `SEEDS`), by the vendor's own rules; the vendor API then serves what was seeded. AppSpider's
`config` is covered in tests/emulators/appspider/test_workflow_resources.py."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from conformance.emulators.core import Emulator
from conformance.emulators.core.plugin import plugin_for

from .conftest import control, control_error


def _headers(vendor: str) -> dict[str, str]:
    acme = plugin_for(f"conformance.emulators.{vendor}").accounts["acme"]
    if vendor == "advalidation":
        return {"X-API-Key": acme["api_key"]}
    if vendor == "threadfix":
        return {"Authorization": f"APIKEY {acme['api_key']}", "Accept": "application/json"}
    user, password = (
        (acme["user_id"], acme["token"]) if vendor == "invicti" else (acme["key_id"], acme["secret"])
    )
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def _read(http: httpx.Client, vendor: str, kind: str, made: dict[str, Any]) -> Any:
    """The seeded resource as the vendor API answers it."""
    paths = {
        ("advalidation", "campaign"): f"/v2/campaigns/{made.get('id')}",
        ("advalidation", "creative"): f"/v2/creatives/{made.get('id')}",
        ("invicti", "website"): f"/api/1.0/websites/get/{made.get('Id')}",
        ("threadfix", "team"): f"/threadfix/rest/latest/teams/{made.get('id')}",
        ("threadfix", "application"): f"/threadfix/rest/latest/applications/{made.get('id')}",
        ("soda", "dataset"): f"/api/v1/datasets/{made.get('id')}/metricMonitoring",
        ("soda", "userGroup"): f"/api/v1/userGroups/{made.get('userGroupId')}",
    }
    response = http.get(paths[(vendor, kind)], headers=_headers(vendor))
    assert response.status_code == 200, response.text
    return response.json()


# (vendor, kind, data, the field a seed without data is refused for, the status of the same seed again:
# Advalidation campaign names may repeat, the others are unique by the vendor's rule).
CASES = [
    ("advalidation", "campaign", {"name": "Seeded", "type": "video"}, "data.name", 201),
    ("invicti", "website", {"RootUrl": "https://seeded.example.com/", "Name": "Seeded"}, "data.RootUrl", 400),
    ("threadfix", "team", {"name": "Seeded team"}, "data.name", 400),
    ("soda", "dataset", {"name": "seeded_orders", "datasource": "snowflake"}, "data.name", 400),
    ("soda", "userGroup", {"name": "Seeded group"}, "data.name", 400),
]


@pytest.mark.parametrize(
    ("vendor", "kind", "data", "required", "again_status"), CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES]
)
def test_control__seeds_a_resource_the_vendor_api_serves(
    emulator: Callable[..., Emulator],
    emu_client: Callable[..., httpx.Client],
    vendor: str,
    kind: str,
    data: dict[str, Any],
    required: str,
    again_status: int,
) -> None:
    http = emu_client(emulator(vendor))
    made = control(http, "POST", f"/resources/{kind}", {"data": data}, status=201)
    served = _read(http, vendor, kind, made)
    assert served  # the vendor API answers it, validated against the spec by the fixture
    # The same again: as the vendor's rule says (a taken name is refused); a missing field is named.
    again = http.post(http.base_url.join(f"/_emulator/resources/{kind}"), json={"data": data})
    assert again.status_code == again_status, again.text
    missing = http.post(http.base_url.join(f"/_emulator/resources/{kind}"), json={"data": {}})
    assert required in control_error(missing)


def test_control__seeds_children_under_seeded_parents(
    emulator: Callable[..., Emulator], emu_client: Callable[..., httpx.Client]
) -> None:
    adv = emu_client(emulator("advalidation"))
    campaign = control(
        adv, "POST", "/resources/campaign", {"data": {"name": "C", "type": "display"}}, status=201
    )
    body = {"data": {"campaignId": campaign["id"], "payload": "https://cdn.example.com/a.png"}}
    creative = control(adv, "POST", "/resources/creative", body, status=201)
    assert _read(adv, "advalidation", "creative", creative)["data"]["campaignId"] == campaign["id"]
    tf = emu_client(emulator("threadfix"))
    team = control(tf, "POST", "/resources/team", {"data": {"name": "T"}}, status=201)
    app = control(
        tf, "POST", "/resources/application", {"data": {"teamId": team["id"], "name": "A"}}, status=201
    )
    assert _read(tf, "threadfix", "application", app)["object"]["organization"]["id"] == team["id"]
    wrong = tf.post(tf.base_url.join("/_emulator/resources/application"), json={"data": {"teamId": "x"}})
    assert "data.teamId must be an integer" in control_error(wrong)


@pytest.mark.parametrize("vendor", ["advalidation", "invicti", "threadfix", "soda", "appspider"])
def test_control__an_unknown_kind_names_the_known_ones(
    emulator: Callable[..., Emulator], emu_client: Callable[..., httpx.Client], vendor: str
) -> None:
    http = emu_client(emulator(vendor))
    message = control_error(http.post(http.base_url.join("/_emulator/resources/nothing"), json={"data": {}}))
    known = plugin_for(f"conformance.emulators.{vendor}").backend_cls.SEEDS
    assert "'nothing' is not a resource kind" in message and all(k in message for k in known) and known
