"""Invicti Enterprise (Netsparker) /api/1.0 scans emulator: detail, status, lists, cancel/pause/resume.

Auth is HTTP Basic `USERID:API-TOKEN` (two accounts, `Plugin.accounts`); a scan of one account is
`ScanNotFound` / 404 for the other. Scans are created through the control API or scenarios, because
the spec has no start operation (lifecycle `operations.start: null`). Only `scans/status` counts as
a poll read; `scans/detail` and the lists apply time-based steps only, so looking at a scan never
moves it along in `reads` mode.

Not emulated: launching scans (`scans/new` and friends are outside the spec); vulnerability counts
found before a scan completes (0 and `ThreatLevel: Unknown` until `Complete`, the seed's counts on
`Complete`); website-level `Global*` counts beyond the scan's own; other locales than the seed's
`dd/MM/yyyy hh:mm tt` (each account only has its own UTC offset); the XML / form media types the
vendor's Swagger lists (JSON only: other media types get 415); rate limits (the vendor publishes no
numbers and the spec declares none); a timed-out scan (Invicti has no such state, so the control API
refuses `outcome: timeout`); the `Delayed` side road is only taken with `final: Delayed`;
`IsWebsiteLatestCompletedFullScanTask` is true on every completed scan, not only the website's latest.
"""

from __future__ import annotations

from starlette.responses import Response

from conformance.emulators.core import Call, EmulatorError
from conformance.emulators.core.app import VendorPlugin
from conformance.emulators.core.http import header_of, set_headers
from conformance.emulators.core.ratelimit import Verdict
from conformance.emulators.invicti import errors
from conformance.emulators.invicti.models import InvictiBackend
from conformance.emulators.invicti.routes import ROUTES, authenticate
from conformance.emulators.invicti.scenarios import SCENARIOS

__all__ = ["ACCOUNTS", "InvictiBackend", "Plugin"]

# Two accounts so isolation can be tested; acme's user id is the seed scan's UserId.
ACCOUNTS = {
    "acme": {"user_id": "7d85ab71-641d-4fed-096f-b11404a17c3d", "token": "acme-invicti-api-token"},
    "globex": {"user_id": "2c4e6a80-1b3d-4f5e-a7c9-b1140a2c9f10", "token": "globex-invicti-api-token"},
}


class Plugin(VendorPlugin):
    slug = "invicti"
    backend_cls = InvictiBackend
    routes = ROUTES
    scenarios = SCENARIOS
    accounts = ACCOUNTS

    def authenticate(self, call: Call) -> str:
        return authenticate(call)

    def error_response(
        self, call: Call | None, status: int, message: str, *, retry_after: float | None = None
    ) -> Response:
        return errors.error(call, status, message, retry_after)

    def map_error(self, call: Call, exc: EmulatorError) -> Response:
        return errors.for_domain_error(call, exc)

    def decorate(self, call: Call, response: Response, verdict: Verdict | None) -> Response:
        set_headers(response, errors.HEADERS)
        content_type = header_of(response, "content-type") or ""
        if content_type.startswith("application/json") and content_type != errors.CONTENT_TYPE:
            response.headers["Content-Type"] = errors.CONTENT_TYPE
        return response
