"""Invicti Enterprise (Netsparker) /api/1.0 emulator: websites (new, get, find, update, delete, list), scan
profiles and policies, scan launch (scans/new, newwithprofile, newfromscan, incremental, retest), detail,
status, lists (all, by state, by website), cancel/pause/resume, results (vulnerabilities), reports in six
formats, the scan file download, delete.

Auth is HTTP Basic `USERID:API-TOKEN` (two accounts, `Plugin.accounts`); a scan of one account is
`ScanNotFound` / 404 for the other. Scans are launched by `scans/new` (201, a one-element array) or
seeded through the control API. On `Complete` a scan gets its findings (records of kind `finding`, chosen
by a generator seeded from the scan id, so the same id gives the same findings); reports render them. The
spec's `x-scanwire-tolerance` makes empty optional query values absent, collapses slashes, binds query
names and enumerated values case-blind and routes `scans/report/{id}` (the four report forms clients
send). Only `scans/status` counts as a poll read; `scans/detail` and the lists apply time-based steps
only, so looking at a scan never moves it along in `reads` mode.

Not emulated: website groups (`CreateType: WebsiteGroup` launches one scan); report parameters other than
id/type/format (every type renders the vulnerabilities report); the seed's vulnerability counts in
ScanTaskModel are not the findings' counts; vulnerability counts found before a scan completes (0 and
`ThreatLevel: Unknown` until `Complete`, the seed's counts on `Complete`); website-level `Global*` counts
beyond the scan's own; other locales than the seed's `dd/MM/yyyy hh:mm tt` (each account only has its own
UTC offset); the XML / form media types the vendor's Swagger lists (JSON only: other media types get
415); rate limits (the vendor publishes no numbers and the spec declares none); a timed-out scan (Invicti
has no such state, so the control API refuses `outcome: timeout`); the `Delayed` side road is only taken
with `final: Delayed`; `IsWebsiteLatestCompletedFullScanTask` is true on every completed scan, not only
the website's latest.
"""

from __future__ import annotations

from conformance.emulators.core.plugin import plugin_for

__all__ = ["Plugin"]

Plugin = plugin_for(__name__)
