"""Rapid7 AppSpider Enterprise REST v1 emulator: login, Scan Management, scan configs, engine groups and
engines, clients, findings and report files.

Accounts that own scans are clients: `scanner-ci` logs in to one client (`webshop`), `acme-admin` to
two (`acme-web`, `acme-mobile`) and must pass `clientId`. Tokens expire after `settings.token_ttl`. Each
client starts with two or one scan configs and its own engine group (scenario `no_configs` removes the
configs). A scan's findings are made once, when it gets its report (Completed, or Stopped after running),
from a generator seeded with the scan id (findings.py); VulnerabilitiesSummary.xml, CrawledLinks.xml and
ReportAllFiles.zip are rendered from them; findings and reports of a scan without a report answer 400
`ReportNotReady` (INFERENCE: the Reason string is not public).

Not emulated: system-administrator tokens (GetAllEngineGroups and GetEngines answer any token; GetClients
answers the user's clients); config approvals, monitoring runs and Defend; scan windows
(`WindowsScanStart`/`WindowScanStop` stay null), uploaded scans; the finding `Status` vocabulary beyond
`Open`; requests naming several ids in one `guid[]` (RunScan and the single-scan operations take one id,
GetScans and DeleteConfigs take several); `scanId` in the body of a GET; a timeout road (the lifecycle has
none); the blackout road only through a progression `final`, the post-completion roads (VulnLoadFailed,
ReportError, ReportRegenerating) only through the control API's state; deleted scans
(`StartDeleteWithReports`, DeleteConfigs with `deleteReport`) do not disappear; Retry-After (not
documented). Reports are answered whole, not streamed (a scan's report is a few KiB; the core validates
every answer, which a streamed body would skip).
"""

from __future__ import annotations

from conformance.emulators.core.plugin import plugin_for

__all__ = ["Plugin"]

Plugin = plugin_for(__name__)
