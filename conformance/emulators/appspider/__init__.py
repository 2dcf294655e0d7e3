"""Rapid7 AppSpider Enterprise REST v1 emulator (Authentication/Login + Scan Management).

Accounts that own scans are clients: `scanner-ci` logs in to one client (`webshop`), `acme-admin` to
two (`acme-web`, `acme-mobile`) and must pass `clientId`. Tokens expire after `settings.token_ttl`.

Not emulated: system-administrator tokens and engine operations; config, report, finding and
engine-group endpoints (scan configs exist only as fixtures, created at reset); scan windows
(`WindowsScanStart`/`WindowScanStop` stay null), approvals, monitoring and uploaded scans; requests
naming several ids in one `guid[]` (RunScan and the single-scan operations take one id, GetScans
filters by several); `scanId` in the body of a GET (the spec declares it in the query string); a
timeout road (the lifecycle has none); the blackout road only through a progression `final`, the
post-completion roads (VulnLoadFailed, ReportError, ReportRegenerating) only through the control API's
state; deleted scans (`StartDeleteWithReports`) do not disappear; Retry-After (not documented).
"""

from __future__ import annotations

from conformance.emulators.core.plugin import plugin_for

__all__ = ["Plugin"]

Plugin = plugin_for(__name__)
