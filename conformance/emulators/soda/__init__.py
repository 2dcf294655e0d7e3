"""Soda Cloud API v1 emulator.

Not emulated: scan definitions are not validated against an organisation's real definitions (any
name the spec allows, even an empty one, starts a scan); `contractDatasetCloudUrl` is never set;
post-processing stages stay `ongoing`; the Reporting API and cookie auth are out of scope.
"""

from __future__ import annotations

from conformance.emulators.core.plugin import plugin_for

__all__ = ["Plugin"]

Plugin = plugin_for(__name__)
