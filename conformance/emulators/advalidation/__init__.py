"""Advalidation API v2 emulator: creative scans, the key check and rescans, per account.

Each account owns creatives (created at reset, each with a finished `initial` scan); a rescan creates
a new `manual` scan that moves queued -> processing -> finished|failed as the spec's lifecycle says.
Another account's scan or creative is answered 403 (the seed's "does not have permission to access
or update requested object"), an unknown id 404, a malformed id or `include_checks` 422.

Not emulated: creatives, campaigns, ad specifications, monitoring scans and `monitoring_alerts`
(no endpoint in the spec; `tests` of every finished scan comes from a fixed per-format catalogue);
cancellation through the API (the vendor has none: cancel a scan with the control API,
`PATCH /_emulator/scans/{id} {"state": "cancelled"}`); the rate-limit bucket does not count
requests whose API key is rejected, and `X-RateLimit-IPRemaining` is omitted while rate limits are
switched off; the `.com` host is accepted like the `.io` one (both serve `/v2`).
"""

from __future__ import annotations

from starlette.responses import Response

from conformance.emulators.advalidation import errors
from conformance.emulators.advalidation.models import AdvalidationBackend
from conformance.emulators.advalidation.routes import ROUTES, authenticate
from conformance.emulators.advalidation.scenarios import SCENARIOS
from conformance.emulators.core import Call, EmulatorError
from conformance.emulators.core.app import VendorPlugin
from conformance.emulators.core.ratelimit import Verdict

__all__ = ["ACCOUNTS", "AdvalidationBackend", "Plugin"]

# Two accounts so isolation can be tested; the keys are opaque strings like the vendor's.
ACCOUNTS = {
    "acme": {"api_key": "adv-acme-4f1c2b7e9d"},
    "globex": {"api_key": "adv-globex-8a3e6d0c51"},
}


class Plugin(VendorPlugin):
    slug = "advalidation"
    backend_cls = AdvalidationBackend
    routes = ROUTES
    scenarios = SCENARIOS
    accounts = ACCOUNTS

    def authenticate(self, call: Call) -> str:
        return authenticate(call)

    def error_response(
        self, call: Call | None, status: int, message: str, *, retry_after: float | None = None
    ) -> Response:
        return errors.error(status)

    def map_error(self, call: Call, exc: EmulatorError) -> Response:
        return errors.for_domain_error(call, exc)

    def decorate(self, call: Call, response: Response, verdict: Verdict | None) -> Response:
        # Successful answers only carry the bucket's level (vendor-notes §1 FACT, SDK request-gate.ts).
        if verdict is not None and verdict.allowed and response.status_code < 400:
            response.headers["X-RateLimit-IPRemaining"] = str(verdict.remaining)
        return response
