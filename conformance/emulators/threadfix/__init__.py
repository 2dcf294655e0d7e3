"""ThreadFix 2.x REST emulator (`/threadfix/rest/{version}`): scan upload and pending-scan status.

Each account is a team with its own API key and applications (acme: 6, 1295; globex: 42). Versions
`latest`, `legacy` and `v2.x` are served, and so is the unversioned implicit-legacy form
`/threadfix/rest/applications/...`; any other version, an unknown route, a wrong method and an
`Accept` that excludes JSON answer the catch-all's HTTP 404 envelope (a missing or `*/*` Accept is
served). Every other failure is HTTP 200 with `success: false`.

Not emulated: scan files are not parsed (any non-empty file is accepted; findings, channels and
`channelId` are ignored); the other ThreadFix REST endpoints (teams, applications, vulnerabilities) and
3.x JWT auth; Tomcat's own 400/406/500 HTML pages (bad path ids and validation failures answer the
HTTP 200 envelope instead, because the spec declares only 200 and 404); deletion of a processed scan has
no API operation here and is driven through the control API only.
"""

from __future__ import annotations

from starlette.responses import Response

from conformance.emulators.core import Call, EmulatorError
from conformance.emulators.core.app import VendorPlugin
from conformance.emulators.threadfix import errors
from conformance.emulators.threadfix.models import ThreadfixBackend
from conformance.emulators.threadfix.routes import ROUTES, authenticate, check_body
from conformance.emulators.threadfix.scenarios import SCENARIOS

__all__ = ["ACCOUNTS", "Plugin", "ThreadfixBackend"]

# One team per account, each with its own key; acme's is the documented example key (TF-DOC API
# Authentication, vendor-notes §4).
ACCOUNTS = {
    "acme": {"api_key": "r31OPbW9LEAYnnAskBjYRACYmF2mGOmWgQAKmtPYE5YY", "team": "Acme"},
    "globex": {"api_key": "Gx7kQ2mZt9VbLw4RfN8cYs1HdJp6UaE3oTi5XyKqWM0B", "team": "Globex"},
}
# A URL without the version segment is an implicit `legacy` call (vendor-notes §4 FACT).
PREFIXES = ["/threadfix/rest"]


class Plugin(VendorPlugin):
    slug = "threadfix"
    backend_cls = ThreadfixBackend
    routes = ROUTES
    extra_prefixes = PREFIXES
    scenarios = SCENARIOS
    accounts = ACCOUNTS

    def authenticate(self, call: Call) -> str:
        return authenticate(call)

    def check_body(self, call: Call) -> None:
        check_body(call)

    def error_response(
        self, call: Call | None, status: int, message: str, *, retry_after: float | None = None
    ) -> Response:
        # ThreadFix has no rate limits and documents no Retry-After header: none is sent.
        return errors.error(status, message)

    def map_error(self, call: Call, exc: EmulatorError) -> Response:
        return errors.for_domain_error(call.operation, exc)
