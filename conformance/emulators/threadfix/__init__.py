"""ThreadFix 2.x REST emulator (`/threadfix/rest/{version}`): teams, applications, scan upload (one or
many files), pending-scan status, imported scans with deterministic vulnerabilities, vulnerability
search, scan file download and scan deletion followed through the pending scan.

Each account is a team with its own API key and applications (acme: 6, 1295; globex: 42). Versions
`latest`, `legacy` and `v2.x` are served, and so is the unversioned implicit-legacy form
`/threadfix/rest/applications/...`; any other version, an unknown route, a wrong method and an
`Accept` that excludes JSON answer the catch-all's HTTP 404 envelope (a missing or `*/*` Accept is
served). Every other failure is HTTP 200 with `success: false`.

Not emulated: scan files are not parsed (any non-empty file is accepted; the findings are drawn
deterministically from the imported scan id, the scanner name from the file extension, `channelId` is
ignored); defects, policies, tags and the other ThreadFix REST endpoints; 3.x JWT auth; Tomcat's own
400/406/500 HTML pages (bad path ids and validation failures answer the HTTP 200 envelope instead,
because the spec declares only 200 and 404).
"""

from __future__ import annotations

from conformance.emulators.core.plugin import plugin_for

__all__ = ["Plugin"]

Plugin = plugin_for(__name__)
