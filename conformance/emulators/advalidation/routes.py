"""Advalidation HTTP layer: one handler per operation (named by its operationId); `X-API-Key` auth, errors
and parameter parsing are core's."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from conformance.emulators.advalidation.models import ADSPEC, CAMPAIGN, CREATIVE, AdvalidationBackend
from conformance.emulators.core.errors import BadRequestError
from conformance.emulators.core.http import Call, boolean_param, json_response, path_int
from conformance.emulators.core.paging import page_query
from conformance.emulators.core.ratelimit import Verdict

Advalidation = Call[AdvalidationBackend]


def get_scan(call: Advalidation) -> Response:
    scan = call.backend.get_scan(
        call.account, path_int(call, "scanId"), boolean_param(call, "include_checks")
    )
    return json_response({"data": scan})


def get_current_user(call: Advalidation) -> Response:
    return json_response({"data": call.backend.current_user(call.account)})


def rescan_creative(call: Advalidation) -> Response:
    return json_response({"data": call.backend.rescan(call.account, path_int(call, "creativeId"))})


def _listed(call: Advalidation, kind: str, where: dict[str, Any] | None, view: Any = None) -> Response:
    """The vendor's list envelope around one page read from the store (vendor-notes-workflow §1 FACT:
    `meta.pagination` has count, totalCount, page, totalPages)."""
    page = page_query(call, *call.backend.listing(kind, call.account, where))
    items = [view(item) for item in page.items] if view is not None else page.items
    meta = {"count": len(items), "totalCount": page.total, "page": page.number, "totalPages": page.pages}
    return json_response({"data": items, "meta": {"pagination": meta}})


def _whole(items: list[dict[str, Any]]) -> Response:
    """A list envelope holding everything in one page (the upload and variation answers)."""
    meta = {"count": len(items), "totalCount": len(items), "page": 1, "totalPages": 1}
    return json_response({"data": items, "meta": {"pagination": meta}})


def list_ad_specifications(call: Advalidation) -> Response:
    # List items carry only id, name, type, isDefault in the SDK's fixtures (FACT); the rest is optional.
    return _listed(call, ADSPEC, None, lambda a: {k: v for k, v in a.items() if k != "tests"})


def get_ad_specification(call: Advalidation) -> Response:
    return json_response({"data": call.backend.adspec(call.account, path_int(call, "adSpecificationId"))})


def list_campaigns(call: Advalidation) -> Response:
    return _listed(call, CAMPAIGN, None)


def create_campaign(call: Advalidation) -> Response:
    return json_response({"data": call.backend.create_campaign(call.account, call.body)})


def get_campaign(call: Advalidation) -> Response:
    return json_response({"data": call.backend.campaign(call.account, path_int(call, "campaignId"))})


def list_campaign_creatives(call: Advalidation) -> Response:
    campaign = call.backend.campaign(call.account, path_int(call, "campaignId"))
    return _listed(
        call,
        CREATIVE,
        {"campaignId": campaign["id"], "parentId": None},
        lambda c: call.backend.creative_view(c, list_mode=True),
    )


def upload_creative(call: Advalidation) -> Response:
    """Four documented bodies: JSON payload (URL, tag, or base64), text/plain, octet-stream."""
    if call.content_type.startswith("application/json"):
        payload: str | bytes = call.body["payload"]
    elif call.content_type.startswith("text/plain"):
        payload = call.raw_body.decode("utf-8", "replace")
    else:
        payload = call.raw_body
    if not payload:
        raise BadRequestError("the upload is empty", field="payload", location="body")
    return _whole(
        call.backend.upload(call.account, path_int(call, "campaignId"), payload, call.header("X-Filename"))
    )


def get_creative(call: Advalidation) -> Response:
    return json_response({"data": call.backend.creative(call.account, path_int(call, "creativeId"))})


def list_creative_media_files(call: Advalidation) -> Response:
    parent = call.backend.owned_creative(call.account, path_int(call, "creativeId"))
    return _listed(
        call,
        CREATIVE,
        {"parentId": parent["id"]},
        lambda c: call.backend.creative_view(c, list_mode=True),
    )


def list_creative_variations(call: Advalidation) -> Response:
    call.backend.owned_creative(call.account, path_int(call, "creativeId"))
    return _listed(call, "variation", {"creativeId": path_int(call, "creativeId")})


def get_creative_variation(call: Advalidation) -> Response:
    return _whole(
        call.backend.variation(
            call.account, path_int(call, "creativeId"), path_int(call, "variationCreativeId")
        )
    )


def decorate(call: Advalidation, response: Response, verdict: Verdict | None) -> Response:
    # Every answer the bucket counted carries its size and level, a 429 included (vendor-notes-workflow
    # §1 FACT); the values come from the spec's x-rate-limit through the limiter's verdict.
    if verdict is not None:
        if verdict.limit is not None:
            response.headers["X-RateLimit-IPLimit"] = str(verdict.limit)
        response.headers["X-RateLimit-IPRemaining"] = str(verdict.remaining)
    return response
