"""Typed methods of operations whose success is a document, not JSON (AppSpider's report XML and zip):
the runtime hands the answer to the generated parser, so the method returns the document (a File with
the bytes as sent) instead of None; an error answer of the same operation is still its typed error."""

from __future__ import annotations

import uuid

import appspider_client
import httpx
import pytest
import respx
from scanwire_runtime import ConflictError

BASE = "https://appspider.test"
SCAN = uuid.UUID("5d0b3e2a-8c41-4f6e-9a27-1b3c9e4f7a10")
XML = b'<?xml version="1.0" encoding="utf-8"?><VulnSummary><VulnList></VulnList></VulnSummary>'


@pytest.fixture
def router() -> respx.Router:
    r = respx.Router(base_url=appspider_client.VENDOR.base_url(BASE), assert_all_called=False)
    r.post("/Authentication/Login").respond(json={"IsSuccess": True, "Token": "t0k"})
    return r


def connect(router: respx.Router) -> appspider_client.AppspiderClient:
    return appspider_client.connect(BASE, auth=("u", "p"), transport=httpx.MockTransport(router.handler))


def test_document_success__typed_method_answers_the_bytes(router: respx.Router) -> None:
    router.get("/Report/GetVulnerabilitiesSummaryXml").respond(
        content=XML, headers={"Content-Type": "text/xml"}
    )
    zipped = b"PK\x03\x04" + bytes(range(256))
    router.get("/Report/GetReportZip").respond(content=zipped, headers={"Content-Type": "application/zip"})
    with connect(router) as client:
        assert client.reports.get_vulnerabilities_summary_xml(scan_id=SCAN).payload.read() == XML
        raw = client.with_raw_response.reports.get_report_zip(scan_id=SCAN)
    assert raw.status_code == 200 and raw.parsed is not None and raw.parsed.payload.read() == zipped


def test_document_operation__error_envelope_is_the_typed_error(router: respx.Router) -> None:
    envelope = {"IsSuccess": False, "ErrorMessage": "The scan has no report", "Reason": "ReportNotReady"}
    router.get("/Report/GetReportZip").respond(400, json=envelope)
    with connect(router) as client, pytest.raises(ConflictError) as caught:
        client.reports.get_report_zip(scan_id=SCAN)
    assert (caught.value.status, caught.value.code) == (400, "ReportNotReady")
