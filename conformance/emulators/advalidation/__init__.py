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

from conformance.emulators.core.plugin import plugin_for

__all__ = ["Plugin"]

Plugin = plugin_for(__name__)
