"""Error mapping (runtime/errors.py + each vendor's x-scanwire-errors): envelopes become typed exceptions
carrying the parsed envelope; bodies that are not what the spec documents raise MalformedResponseError
with status, URL and an excerpt."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from .conftest import package

AS_STATUS = "/Scan/GetScanStatus"
TF_STATUS = "/applications/6/pendingScan/41/status"


def test_advalidation__422_issues_are_kept(mocked: Any) -> None:
    adv = package("advalidation")
    client, router = mocked("advalidation", auth="key")
    issue = {
        "type": "invalid_field_value",
        "message": "include_checks must be a boolean",
        "relatedField": "include_checks",
    }
    router.get("/scans/301").mock(
        return_value=httpx.Response(422, json={"error": {"responseCode": 422, "issues": [issue]}})
    )
    with pytest.raises(adv.BadRequestError) as caught:
        client.scans.get_scan(301, include_checks="maybe")  # type: ignore[arg-type]
    err = caught.value
    assert (err.status, err.code, err.issues, err.message) == (
        422,
        422,
        [issue],
        "include_checks must be a boolean",
    )
    assert err.envelope == {"error": {"responseCode": 422, "issues": [issue]}}
    assert "GET https://vendor.test/v2/scans/301?include_checks=maybe answered HTTP 422" in str(err)


def test_advalidation__401_with_empty_issues_is_an_authentication_error(mocked: Any) -> None:
    adv = package("advalidation")
    client, router = mocked("advalidation", auth="wrong")
    router.get("/scans/301").mock(
        return_value=httpx.Response(401, json={"error": {"responseCode": 401, "issues": []}})
    )
    with pytest.raises(adv.AuthenticationError) as caught:
        client.get_scan(301)
    assert (caught.value.message, caught.value.issues) == ("Unauthorized", [])


def test_appspider__reason_code_picks_the_exception(mocked: Any) -> None:
    aps = package("appspider")
    client, router = mocked("appspider", auth=aps.HeaderAuth("Authorization", "Basic t0ken"))
    body = {"IsSuccess": False, "ErrorMessage": "Scan not found", "Reason": "ScanNotFound"}
    router.get(AS_STATUS).mock(return_value=httpx.Response(400, json=body))
    with pytest.raises(aps.NotFoundError) as caught:
        client.get_scan("0e6c2b71-9d4a-4c3f-b8e2-6f1a5d7c9b23")
    assert (caught.value.status, caught.value.code, caught.value.envelope) == (400, "ScanNotFound", body)


def test_appspider__is_success_false_on_200_is_a_failure(mocked: Any) -> None:
    aps = package("appspider")
    client, router = mocked("appspider", auth=aps.HeaderAuth("Authorization", "Basic t0ken"))
    body = {"IsSuccess": False, "ErrorMessage": "Scan cannot be paused", "Reason": "ScanIsNotAllowed"}
    router.post("/Scan/PauseScan").mock(return_value=httpx.Response(200, json=body))
    with pytest.raises(aps.ConflictError) as caught:
        client.pause("0e6c2b71-9d4a-4c3f-b8e2-6f1a5d7c9b23")
    assert caught.value.status == 200 and caught.value.code == "ScanIsNotAllowed"


def test_soda__error_response_code_and_message(mocked: Any) -> None:
    soda = package("soda")
    client, router = mocked("soda", auth=("id", "secret"))
    body = {"code": "not_found", "message": "Scan 'nope' not found"}
    router.get("/api/v1/scans/nope").mock(return_value=httpx.Response(404, json=body))
    with pytest.raises(soda.NotFoundError) as caught:
        client.get_scan("nope")
    assert (caught.value.message, caught.value.code, caught.value.envelope) == (
        body["message"],
        "not_found",
        body,
    )


def test_threadfix__success_false_on_http_200_is_an_authentication_error(mocked: Any) -> None:
    tf = package("threadfix")
    client, router = mocked("threadfix", auth="bad-key")
    body = {"message": "API Key not found in database.", "success": False, "responseCode": -1, "object": None}
    router.get(TF_STATUS).mock(return_value=httpx.Response(200, json=body))
    with pytest.raises(tf.AuthenticationError) as caught:
        client.get_scan(tf.ScanRef("41", {"appId": 6}))
    assert (caught.value.status, caught.value.message, caught.value.envelope) == (200, body["message"], body)


def test_threadfix__unknown_scan_id_on_http_200_is_not_found(mocked: Any) -> None:
    # One classification: an unknown id is a NotFoundError on every vendor (it was a bare ApiError here).
    tf = package("threadfix")
    client, router = mocked("threadfix", auth="key")
    body = {
        "message": "Pending scan lookup failed. Check your ID.",
        "success": False,
        "responseCode": -1,
        "object": None,
    }
    router.get(TF_STATUS).mock(return_value=httpx.Response(200, json=body))
    with pytest.raises(tf.NotFoundError) as caught:
        client.get_scan(tf.ScanRef("41", {"appId": 6}))
    assert "Pending scan lookup failed" in str(caught.value) and caught.value.status == 200


def test_threadfix__unknown_failure_message_is_still_an_api_error(mocked: Any) -> None:
    tf = package("threadfix")
    client, router = mocked("threadfix", auth="key")
    body = {"message": "Something else broke.", "success": False, "responseCode": -1, "object": None}
    router.get(TF_STATUS).mock(return_value=httpx.Response(200, json=body))
    with pytest.raises(tf.ApiError) as caught:
        client.get_scan(tf.ScanRef("41", {"appId": 6}))
    assert type(caught.value) is tf.ApiError and "Something else broke." in str(caught.value)


def test_every_error__carries_method_url_status_response_and_request_id(mocked: Any) -> None:
    from scanwire_runtime.errors import ErrorSpec, raise_for_response

    request = httpx.Request("DELETE", "https://vendor.test/api/v1/scans/s1")
    response = httpx.Response(
        400, json={"code": "bad_request", "message": "no"}, headers={"X-Request-Id": "r-42"}, request=request
    )
    spec = ErrorSpec.from_extensions({"message": "/message", "request-id": "X-Request-Id"})
    with pytest.raises(package("soda").BadRequestError) as caught:
        raise_for_response(response, spec, vendor="soda", operation="cancelScan", expects_json=True)
    error = caught.value
    assert (error.method, error.url, error.status, error.request_id) == (
        "DELETE",
        "https://vendor.test/api/v1/scans/s1",
        400,
        "r-42",
    )
    assert error.response is response and "(request id r-42)" in str(error)


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("ScanNotFound", "NotFoundError"),
        ("ScanCompleted", "ConflictError"),
        ("ScanNotRunning", "ConflictError"),
    ],
)
def test_invicti__bare_string_result_codes_are_refusals(mocked: Any, code: str, kind: str) -> None:
    inv = package("invicti")
    client, router = mocked("invicti", auth=("user", "token"))
    route = router.post("/api/1.0/scans/pause").mock(return_value=httpx.Response(200, json=code))
    with pytest.raises(getattr(inv, kind)) as caught:
        client.pause("87be9df1-9f81-46e9-e860-b13b04474ccc")
    assert caught.value.code == code and caught.value.status == 200 and caught.value.envelope == code
    assert route.calls.last.request.content == b'"87be9df1-9f81-46e9-e860-b13b04474ccc"'


def test_invicti__ok_result_is_returned_typed(mocked: Any) -> None:
    client, router = mocked("invicti", auth=("user", "token"))
    router.post("/api/1.0/scans/cancel").mock(return_value=httpx.Response(200, json="Ok"))
    answer = client.cancel("87be9df1-9f81-46e9-e860-b13b04474ccc")
    assert answer is package("invicti").models.ScanActionResult.OK


def test_invicti__404_message_envelope(mocked: Any) -> None:
    inv = package("invicti")
    client, router = mocked("invicti", auth=("user", "token"))
    router.get("/api/1.0/scans/status/x").mock(
        return_value=httpx.Response(404, json={"Message": "Scan not found."})
    )
    with pytest.raises(inv.NotFoundError, match="Scan not found"):
        client.get_scan("x")


@pytest.mark.parametrize(
    ("content", "media", "reason"),
    [
        (b'{"cloudUrl": "https://cloud', "application/json", "not JSON"),
        (
            b"<html><body><h1>502 Bad Gateway</h1></body></html>",
            "text/html",
            "not JSON, content-type text/html",
        ),
        (b"", "application/json", "empty"),
    ],
    ids=["truncated", "html", "empty"],
)
def test_malformed_200_body_names_status_url_and_excerpt(
    mocked: Any, content: bytes, media: str, reason: str
) -> None:
    soda = package("soda")
    client, router = mocked("soda", auth=("id", "secret"))
    router.get("/api/v1/scans/abc").mock(
        return_value=httpx.Response(200, content=content, headers={"Content-Type": media})
    )
    with pytest.raises(soda.MalformedResponseError) as caught:
        client.get_scan("abc")
    err = caught.value
    assert (err.status, err.url, err.message) == (200, "https://vendor.test/api/v1/scans/abc", reason)
    assert err.excerpt == content.decode()
    assert str(err).startswith(
        "soda getScanStatus: GET https://vendor.test/api/v1/scans/abc answered HTTP 200 with a malformed body"
    )


def test_non_json_error_page_keeps_an_excerpt(mocked: Any) -> None:
    soda = package("soda")
    client, router = mocked("soda", auth=("id", "secret"), retry=soda.RetryPolicy.disabled())
    page = "<html>" + "x" * 500 + "</html>"
    router.get("/api/v1/scans/abc").mock(
        return_value=httpx.Response(502, text=page, headers={"Content-Type": "text/html"})
    )
    with pytest.raises(soda.ServerError) as caught:
        client.get_scan("abc")
    err = caught.value
    assert err.envelope is None and err.message == "Bad Gateway (the body is not JSON)"
    assert err.excerpt.startswith("<html>xxx") and err.excerpt.endswith("…") and len(err.excerpt) == 241
    assert "body starts: '<html>xxx" in str(err)


def test_json_of_the_wrong_shape_is_malformed(mocked: Any) -> None:
    soda = package("soda")
    client, router = mocked("soda", auth=("id", "secret"))
    router.get("/api/v1/scans/abc").mock(return_value=httpx.Response(200, json={"state": "completed"}))
    with pytest.raises(soda.MalformedResponseError, match="does not match the documented schema: KeyError"):
        client.get_scan("abc")


def test_unsupported_actions_are_not_methods(mocked: Any) -> None:
    # Generated from the lifecycle: what the API cannot do is absent (AttributeError, and a mypy error in
    # tests/typing), not a method that fails at run time.
    assert hasattr(mocked("invicti", auth=("u", "t"))[0], "start_scan")  # scans/new (issue 16)
    assert not hasattr(mocked("advalidation", auth="k")[0], "cancel")
    adv = package("advalidation")
    with pytest.raises(adv.UnsupportedOperationError, match="no 'cancel' operation"):
        adv.VENDOR.action("cancel")
