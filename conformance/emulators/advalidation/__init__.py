"""Advalidation API v2 emulator: ad specifications, campaigns, creatives and their scans, per account.

Each account starts with one default ad specification per media type (display, video), an "Always-on"
campaign and creatives with a finished `initial` scan. Creating a campaign picks the default
specification of its type unless `adspecId` names one of the account's own of that type. Uploading a
creative (JSON `payload` sniffed as URL, HTML/VAST tag or base64 file data, raw text/plain HTML/text,
or raw octet-stream bytes)
creates it with a queued `initial` scan; a VAST tag also gets one `vast-child-video` creative per
<MediaFile>, each with its own scan. Reading a creative counts as a poll of its latest scan (the SDK
polls creatives). A finished scan's checks are the format's catalogue, a display file size drawn from the
scan id (same scan, same findings). Another account's object is 403, an unknown id 404, a malformed id,
field or payload 422 naming the field. Lists come 25 a page from the store.

Not emulated: variations (the emulator's tags never vary, so `nbVariations` is omitted and every
variation id is unknown), monitoring scans and `monitoring_alerts`; cancellation through the API (the
vendor has none: cancel with the control API, `PATCH /_emulator/scans/{id} {"state": "cancelled"}`);
a smaller allowance for unauthenticated requests (vendor-notes-workflow §1: authenticated requests get a
higher one, no figure is public): every request, a rejected key's included, spends from the one IP bucket
of `x-rate-limit` (15 tokens, 1/s), and every answer it counted carries `X-RateLimit-IPLimit`/`-IPRemaining`.
"""

from __future__ import annotations

from conformance.emulators.core.plugin import plugin_for

__all__ = ["Plugin"]

Plugin = plugin_for(__name__)
