"""Advalidation's workflow resources on the emulator: ad specifications, campaigns, creative uploads in the
documented bodies (what they become), media files, variations, paging and the per-account rules."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest

from conformance.emulators.advalidation import Plugin
from conformance.emulators.core import Emulator

ACME = {"X-API-Key": Plugin.accounts["acme"]["api_key"]}
GLOBEX = {"X-API-Key": Plugin.accounts["globex"]["api_key"]}
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
VAST = (
    '<VAST version="4.0"><Ad><InLine><Creatives><Creative><Linear><MediaFiles>'
    "<MediaFile><![CDATA[https://cdn.example.com/a.mp4]]></MediaFile>"
    '<MediaFile type="video/webm">https://cdn.example.com/b.webm</MediaFile>'
    "</MediaFiles></Linear></Creative></Creatives></InLine></Ad></VAST>"
)


@pytest.fixture
def emu(advalidation_emulator: Emulator) -> Emulator:
    return advalidation_emulator


@pytest.fixture
def http(emu: Emulator, emu_client: Any) -> httpx.Client:
    client: httpx.Client = emu_client(emu)
    return client


def campaign(http: httpx.Client, headers: dict[str, str] = ACME, **body: Any) -> dict[str, Any]:
    response = http.post("/v2/campaigns", json={"name": "Spring", "type": "display", **body}, headers=headers)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def upload(http: httpx.Client, campaign_id: int, **kwargs: Any) -> httpx.Response:
    return http.post(
        f"/v2/campaigns/{campaign_id}/creatives", headers={**ACME, **kwargs.pop("headers", {})}, **kwargs
    )


def issue_field(response: httpx.Response) -> list[Any]:
    return [i["relatedField"] for i in response.json()["error"]["issues"]]


def test_ad_specifications__one_default_per_type_and_owned(http: httpx.Client) -> None:
    listed = http.get("/v2/ad-specifications", headers=ACME).json()
    assert {(s["type"], s["isDefault"]) for s in listed["data"]} == {("display", True), ("video", True)}
    assert listed["meta"]["pagination"] == {"count": 2, "totalCount": 2, "page": 1, "totalPages": 1}
    assert all("tests" not in s for s in listed["data"])
    one = listed["data"][0]["id"]
    full = http.get(f"/v2/ad-specifications/{one}", headers=ACME).json()["data"]
    assert full["tests"] and {t["enabled"] for t in full["tests"]} == {True}
    assert http.get(f"/v2/ad-specifications/{one}", headers=GLOBEX).status_code == 403
    assert http.get("/v2/ad-specifications/9999", headers=ACME).status_code == 404


def test_create_campaign__default_spec_for_its_type_and_field_errors(http: httpx.Client) -> None:
    specs = {s["type"]: s["id"] for s in http.get("/v2/ad-specifications", headers=ACME).json()["data"]}
    made = campaign(http, type="video", adspecId=None)
    assert (made["type"], made["adspecId"]) == ("video", specs["video"])
    assert http.get(f"/v2/campaigns/{made['id']}", headers=ACME).json()["data"] == made
    assert http.get(f"/v2/campaigns/{made['id']}", headers=GLOBEX).status_code == 403
    wrong = http.post(
        "/v2/campaigns", json={"name": "x", "type": "display", "adspecId": specs["video"]}, headers=ACME
    )
    assert (wrong.status_code, issue_field(wrong)) == (422, ["adspecId"])
    theirs = http.get("/v2/ad-specifications", headers=GLOBEX).json()["data"][0]["id"]
    stolen = http.post(
        "/v2/campaigns", json={"name": "x", "type": "display", "adspecId": theirs}, headers=ACME
    )
    assert stolen.status_code == 422
    assert http.post("/v2/campaigns", json={"type": "display"}, headers=ACME).status_code == 422
    names = [c["name"] for c in http.get("/v2/campaigns", headers=ACME).json()["data"]]
    assert names[-1] == "Spring" and "Spring" not in [
        c["name"] for c in http.get("/v2/campaigns", headers=GLOBEX).json()["data"]
    ]


TEXT = {"Content-Type": "text/plain"}


@pytest.mark.parametrize(
    ("kwargs", "source"),
    [
        ({"json": {"payload": "https://cdn.example.com/ads/leaderboard.png"}}, "image"),
        ({"json": {"payload": "https://cdn.example.com/ads/spot.mp4?x=1"}}, "video"),
        ({"json": {"payload": "https://ads.example.com/pixel"}}, "tag-beacon"),
        ({"json": {"payload": '<script src="https://ads.example.com/t.js"></script>'}}, "html-tag"),
        ({"json": {"payload": base64.b64encode(PNG).decode()}}, "image"),
        (
            {"content": PNG, "headers": {"Content-Type": "application/octet-stream", "X-Filename": "a.png"}},
            "image",
        ),
        # text/plain: not generated (overlay 30), still served (scanwire.specs.served_spec).
        ({"content": b'<script src="https://ads.example.com/t.js"></script>', "headers": TEXT}, "html-tag"),
    ],
)
def test_upload__each_body_form_becomes_a_creative_with_a_queued_scan(
    http: httpx.Client, kwargs: dict[str, Any], source: str
) -> None:
    made = campaign(http)
    response = upload(http, made["id"], **kwargs)
    assert response.status_code == 200, response.text
    [creative] = response.json()["data"]
    assert (creative["sourceType"], creative["campaignId"]) == (source, made["id"])
    assert creative["latestScanStatus"]["processingStatus"] == "queued"
    assert creative["latestScanStatus"]["sequenceType"] == "initial"
    assert "nbMediaFiles" not in creative  # not in list mode
    if "X-Filename" in kwargs.get("headers", {}):
        assert creative["name"] == "a.png"
    single = http.get(f"/v2/creatives/{creative['id']}", headers=ACME).json()["data"]
    assert single["nbMediaFiles"] == 0


def test_upload__vast_tag_gets_one_media_file_per_mediafile(http: httpx.Client) -> None:
    made = campaign(http, type="video")
    data = upload(http, made["id"], json={"payload": VAST}).json()["data"]
    parent, *children = data
    assert parent["sourceType"] == "vast" and len(children) == 2
    assert {c["parentId"] for c in children} == {parent["id"]}
    assert {c["sourceType"] for c in children} == {"vast-child-video"}
    files = http.get(f"/v2/creatives/{parent['id']}/media-files", headers=ACME).json()
    assert [c["id"] for c in files["data"]] == [c["id"] for c in children]
    assert all(c["latestScanStatus"]["id"] for c in files["data"])
    listed = http.get(f"/v2/campaigns/{made['id']}/creatives", headers=ACME).json()["data"]
    assert [c["id"] for c in listed] == [parent["id"]]  # media files are not top-level creatives
    assert http.get(f"/v2/creatives/{parent['id']}/variations", headers=ACME).json()["data"] == []
    missing = http.get(f"/v2/creatives/{parent['id']}/variations/{children[0]['id']}", headers=ACME)
    assert missing.status_code == 404


@pytest.mark.parametrize(
    "kwargs",
    [
        {"json": {"payload": "not a url, tag or base64!"}},
        {"content": b"\x00\x01 plain bytes", "headers": {"Content-Type": "application/octet-stream"}},
        {"json": {}},
        {"content": b"", "headers": TEXT},
    ],
)
def test_upload__unrecognisable_payloads_are_422(http: httpx.Client, kwargs: dict[str, Any]) -> None:
    made = campaign(http)
    response = upload(http, made["id"], **kwargs)
    assert response.status_code == 422, response.text
    assert http.get(f"/v2/campaigns/{made['id']}/creatives", headers=ACME).json()["data"] == []


def test_upload__unknown_or_foreign_campaign(http: httpx.Client) -> None:
    assert upload(http, 9999, json={"payload": "https://x.example/a.png"}).status_code == 404
    theirs = campaign(http, headers=GLOBEX)
    assert upload(http, theirs["id"], json={"payload": "https://x.example/a.png"}).status_code == 403


def test_campaign_creatives__paged_25_a_page_from_the_store(http: httpx.Client) -> None:
    # 30 requests in a row: more than the 15-token IP bucket (x-rate-limit), which is not the subject here.
    assert http.patch("/_emulator/settings", json={"rate_limits": False}).status_code == 200
    made = campaign(http)
    for n in range(27):
        assert (
            upload(http, made["id"], json={"payload": f"https://cdn.example.com/{n}.png"}).status_code == 200
        )
    first = http.get(f"/v2/campaigns/{made['id']}/creatives", headers=ACME).json()
    second = http.get(f"/v2/campaigns/{made['id']}/creatives", params={"page": 2}, headers=ACME).json()
    assert first["meta"]["pagination"] == {"count": 25, "totalCount": 27, "page": 1, "totalPages": 2}
    assert second["meta"]["pagination"] == {"count": 2, "totalCount": 27, "page": 2, "totalPages": 2}
    ids = [c["id"] for c in first["data"] + second["data"]]
    assert len(set(ids)) == 27 and ids == sorted(ids)


def test_creative_poll__moves_its_latest_scan(emu: Emulator, http: httpx.Client) -> None:
    made = campaign(http)
    [creative] = upload(http, made["id"], json={"payload": "https://x.example/a.png"}).json()["data"]
    states = [
        http.get(f"/v2/creatives/{creative['id']}", headers=ACME).json()["data"]["latestScanStatus"][
            "processingStatus"
        ]
        for _ in range(3)
    ]
    assert states[-1] == "finished" and states[0] in ("queued", "processing")


def test_no_report_file_api__download_report_is_absent_and_the_role_unsupported() -> None:
    # The API has no report-file operation (vendor-notes-workflow §1: the summary links `shareURL`), so the
    # lifecycle declares `report: null`: the generated client has no download_report, and asking the
    # vendor for the role names what is missing instead of failing at request time.
    import advalidation_client

    client = advalidation_client.VENDOR.connect(
        "http://127.0.0.1", auth="k", transport=httpx.MockTransport(lambda request: httpx.Response(500))
    )
    assert hasattr(client, "iter_findings") and not hasattr(client, "download_report")
    with pytest.raises(advalidation_client.UnsupportedOperationError, match="no 'report' operation"):
        advalidation_client.VENDOR.action("report")
