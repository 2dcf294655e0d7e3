"""Soda Cloud API v1 emulator.

Two organisations (acme, globex); acme also has a member key that may only view datasets: the
operations whose spec declares another `x-scanwire-permission` (their documented "## Authorization")
answer it 403 `forbidden`, and change nothing.

Not emulated: per-dataset roles (a member's permissions hold for every dataset; lists are not filtered
by permission); scan definitions are not validated against an organisation's real definitions (any
name the spec allows, even an empty one, starts a scan); `contractDatasetCloudUrl` is never set;
post-processing stages stay `ongoing`; the Reporting API and cookie auth are out of scope.
"""

from __future__ import annotations

from conformance.emulators.core.plugin import plugin_for

__all__ = ["Plugin"]

Plugin = plugin_for(__name__)
