"""Invicti websites (the scan targets), scan profiles and scan policies on the emulator: create, find by
id / name / URL, update, delete with its result codes, paging, and per-account isolation."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from conformance.emulators.core import Emulator
from conformance.emulators.invicti.models import ACCOUNTS

GLOBEX = (ACCOUNTS["globex"]["user_id"], ACCOUNTS["globex"]["token"])
API = "/api/1.0"
SITE = {"RootUrl": "https://shop.example/", "Name": "Shop", "LicenseType": "Subscription"}


@pytest.fixture
def emu(invicti_emulator: Emulator) -> Emulator:
    return invicti_emulator


def new(http: httpx.Client, **fields: Any) -> dict[str, Any]:
    response = http.post(f"{API}/websites/new", json={**SITE, **fields})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def test_new_website__found_by_id_name_and_url_only_by_its_account(http: httpx.Client) -> None:
    site = new(http, Groups=["Shops"], Tags=["prod"])
    assert (site["IsVerified"], site["AgentMode"], site["Tags"]) == (False, "Cloud", ["prod"])
    assert [g["Name"] for g in site["Groups"]] == ["Shops"]
    assert http.get(f"{API}/websites/get/{site['Id']}").json() == site
    assert http.get(f"{API}/websites/get", params={"query": "Shop"}).json()["Id"] == site["Id"]
    assert http.get(f"{API}/websites/get", params={"query": SITE["RootUrl"]}).json()["Id"] == site["Id"]
    assert http.get(f"{API}/websites/get", params={"query": "Other"}).status_code == 404
    theirs = http.get(f"{API}/websites/get/{site['Id']}", auth=GLOBEX)
    assert theirs.status_code == 404  # another account's website does not exist for this one
    assert http.get(f"{API}/websites/list", auth=GLOBEX).json()["TotalItemCount"] == 0


def test_new_website__same_root_url_twice_or_bad_fields_are_400(http: httpx.Client) -> None:
    new(http)
    again = http.post(f"{API}/websites/new", json=SITE)
    assert again.status_code == 400 and "already exists" in again.json()["Message"]
    assert http.post(f"{API}/websites/new", json={"RootUrl": "https://x.example/"}).status_code == 400
    bad_name = http.post(
        f"{API}/websites/new", json={**SITE, "RootUrl": "https://y.example/", "Name": "a<b>"}
    )
    assert bad_name.status_code == 400
    assert http.get(f"{API}/websites/list").json()["TotalItemCount"] == 1


def test_update_website__by_root_url(http: httpx.Client) -> None:
    new(http)
    updated = http.post(f"{API}/websites/update", json={**SITE, "Name": "Shop two", "LicenseType": "Credit"})
    assert (updated.json()["Name"], updated.json()["LicenseType"]) == ("Shop two", "Credit")
    assert updated.json()["UpdatedAt"] is not None
    missing = http.post(f"{API}/websites/update", json={**SITE, "RootUrl": "https://nope.example/"})
    assert missing.status_code == 404


def test_delete_website__refused_while_a_scan_of_it_runs(http: httpx.Client) -> None:
    new(http)
    scan = http.post(f"{API}/scans/new", json={"TargetUri": SITE["RootUrl"]}).json()[0]["Id"]
    delete = {"RootUrl": SITE["RootUrl"]}
    assert http.post(f"{API}/websites/delete", json=delete).json() == "OnGoingScanExisting"
    assert http.patch(f"/_emulator/scans/{scan}", json={"state": "Complete"}).status_code == 200
    assert http.post(f"{API}/websites/delete", json=delete).json() == "Ok"
    assert http.post(f"{API}/websites/delete", json=delete).json() == "NotFound"
    assert http.get(f"{API}/websites/list").json()["TotalItemCount"] == 0


def test_websites_list__pages_from_the_store(http: httpx.Client) -> None:
    for n in range(5):
        new(http, RootUrl=f"https://site{n}.example/", Name=f"Site {n}")
    page = http.get(f"{API}/websites/list", params={"page": 2, "pageSize": 2}).json()
    assert [w["Name"] for w in page["List"]] == ["Site 2", "Site 3"]
    assert (page["TotalItemCount"], page["PageCount"], page["HasNextPage"]) == (5, 3, True)


def test_profiles_and_policies__each_account_has_the_defaults(http: httpx.Client) -> None:
    [policy] = http.get(f"{API}/scanpolicies/list").json()["List"]
    assert (policy["Name"], policy["IsDefault"]) == ("Default Security Checks", True)
    [profile] = http.get(f"{API}/scanprofiles/list").json()["List"]
    assert (profile["ProfileName"], profile["PolicyId"]) == ("Default", policy["Id"])
    [theirs] = http.get(f"{API}/scanpolicies/list", auth=GLOBEX).json()["List"]
    assert theirs["Id"] != policy["Id"]


def test_launch_variants__from_a_base_scan_or_a_profile(http: httpx.Client) -> None:
    base = http.post(f"{API}/scans/new", json={"TargetUri": SITE["RootUrl"]}).json()[0]["Id"]
    running = http.post(f"{API}/scans/incremental", json={"BaseScanId": base})
    assert running.status_code == 400 and "completed state" in running.json()["Message"]
    assert http.patch(f"/_emulator/scans/{base}", json={"state": "Complete"}).status_code == 200
    made = {
        kind: http.post(f"{API}/scans/{kind}", json=body)
        for kind, body in (
            ("incremental", {"BaseScanId": base}),
            ("retest", {"BaseScanId": base}),
            ("newfromscan", base),
        )
    }
    assert {k: r.status_code for k, r in made.items()} == dict.fromkeys(made, 201)
    assert [made[k].json()["ScanType"] for k in ("incremental", "retest", "newfromscan")] == [
        "Incremental",
        "Retest",
        "Full",
    ]
    assert {r.json()["TargetUrl"] for r in made.values()} == {SITE["RootUrl"]}
    assert {r.json()["State"] for r in made.values()} == {"Queued"}
    unknown = http.post(f"{API}/scans/retest", json={"BaseScanId": "00000000-1111-2222-3333-444444444444"})
    assert unknown.status_code == 404
    profiled = http.post(
        f"{API}/scans/newwithprofile", json={"ProfileName": "Default", "TargetUri": "https://b.example/"}
    )
    assert (profiled.status_code, profiled.json()["TargetUrl"]) == (201, "https://b.example/")
    nameless = http.post(
        f"{API}/scans/newwithprofile", json={"ProfileName": "Nope", "TargetUri": "https://b.example/"}
    )
    assert nameless.status_code == 400
    listed = http.get(
        f"{API}/scans/listbywebsite",
        params={"websiteUrl": SITE["RootUrl"], "initiatedDateSortType": "Descending"},
    ).json()
    assert listed["TotalItemCount"] == 4 and listed["List"][0]["Id"] == made["newfromscan"].json()["Id"]
    profile_id = http.get(f"{API}/scanprofiles/list").json()["List"][0]["ProfileId"]
    assert http.get(f"{API}/scanprofiles/get/{profile_id}").json()["ProfileName"] == "Default"
    assert http.get(f"{API}/scanprofiles/get", params={"name": "Default"}).json()["ProfileId"] == profile_id
    assert http.get(f"{API}/scanprofiles/get", params={"name": "Nope"}).status_code == 404
    assert http.get(f"{API}/scanprofiles/get/{base}").status_code == 404


def test_download_scan_file__a_zip_of_the_report_once_complete(http: httpx.Client) -> None:
    import io
    import zipfile
    from xml.etree import ElementTree

    scan = http.post(f"{API}/scans/new", json={"TargetUri": SITE["RootUrl"]}).json()[0]["Id"]
    assert http.get(f"{API}/scans/downloadscanfile", params={"scanId": scan}).status_code == 404
    assert http.patch(f"/_emulator/scans/{scan}", json={"state": "Complete"}).status_code == 200
    answer = http.get(f"{API}/scans/downloadscanfile", params={"scanId": scan})
    assert answer.headers["content-type"] == "application/octet-stream"
    with zipfile.ZipFile(io.BytesIO(answer.content)) as archive:
        [name] = archive.namelist()
        assert ElementTree.fromstring(archive.read(name)).tag == "invicti-enterprise"
