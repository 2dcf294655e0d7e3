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

from conformance.emulators.core.plugin import plugin_for

__all__ = ["Plugin"]

Plugin = plugin_for(__name__)
