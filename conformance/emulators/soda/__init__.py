"""Soda Cloud API v1 emulator.

Not emulated: scan definitions are not validated against an organisation's real definitions (any
name the spec allows, even an empty one, starts a scan); `contractDatasetCloudUrl` is never set;
post-processing stages stay `ongoing`; the Reporting API and cookie auth are out of scope.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from starlette.responses import Response

from conformance.emulators.core import Call, EmulatorError
from conformance.emulators.core.app import VendorPlugin
from conformance.emulators.soda import errors
from conformance.emulators.soda.models import SodaBackend
from conformance.emulators.soda.routes import ROUTES, authenticate
from conformance.emulators.soda.scenarios import SCENARIOS

__all__ = ["Plugin", "SodaBackend"]


class Plugin(VendorPlugin):
    slug = "soda"
    backend_cls = SodaBackend
    routes = ROUTES
    scenarios = SCENARIOS
    accounts: ClassVar[Mapping[str, Mapping[str, str]]] = {
        "acme": {"key_id": "acme-key-id", "secret": "acme-secret"},
        "globex": {"key_id": "globex-key-id", "secret": "globex-secret"},
    }

    def authenticate(self, call: Call) -> str:
        return authenticate(call)

    def error_response(
        self, call: Call | None, status: int, message: str, *, retry_after: float | None = None
    ) -> Response:
        return errors.error(status, message, retry_after)

    def map_error(self, call: Call, exc: EmulatorError) -> Response:
        return errors.for_domain_error(exc)
