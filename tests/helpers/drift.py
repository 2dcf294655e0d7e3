"""The drift loop's moving parts for tests: a drifted in-process emulator behind an in-process proxy.

Per vendor, a probe: one GET operation whose answer carries an enum, a required field and scalars,
and how to reach it (scenario, URL, credentials as the spec's `x-scanwire-auth` says to send them).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from conformance.emulators.core.app import Emulator, EmulatorSettings, build_emulator
from scanwire.drift.observe import Observer
from scanwire.drift.proxy import DriftProxy
from scanwire.drift.redact import Redactor

UPSTREAM = "http://upstream.test"


@dataclass(frozen=True)
class Probe:
    operation: str  # "METHOD /path" of the spec
    scenario: str
    url: Callable[[Emulator], str]
    # Drift kinds pinned to a field by name (the default choice skips lifecycle state fields).
    fields: dict[str, str] = field(default_factory=dict)
    # Kinds that only exist on the scan-state field: a new state needs a lifecycle entry (its
    # transitions) a human writes, so conformance's lifecycle check rightly stays red and is not run.
    lifecycle_only: tuple[str, ...] = ()


def _first_scan(emu: Emulator) -> Any:
    return emu.engine.all()[0]


PROBES: dict[str, Probe] = {
    "advalidation": Probe(
        "GET /scans/{scanId}",
        "one_completed_scan",
        lambda e: f"/v2/scans/{_first_scan(e).id}",
        # processingStatus is the only enum of Advalidation's answers, and it is the scan state.
        fields={"enum_value": "processingStatus"},
        lifecycle_only=("enum_value",),
    ),
    "invicti": Probe("GET /api/1.0/scans/list", "one_completed_scan", lambda e: "/api/1.0/scans/list"),
    "appspider": Probe(
        "GET /Scan/GetScans", "one_completed_scan", lambda e: "/AppSpiderEnterprise/rest/v1/Scan/GetScans"
    ),
    "threadfix": Probe(
        "GET /applications/{appId}/pendingScan/{pendingScanId}/status",
        "one_completed_scan",
        lambda e: (
            f"/threadfix/rest/v2.8/applications/{e.backend.view(_first_scan(e))['appId']}"
            f"/pendingScan/{_first_scan(e).id}/status"
        ),
        # PendingScan.status is ThreadFix's only enum, and it is the scan state.
        fields={"enum_value": "status"},
        lifecycle_only=("enum_value",),
    ),
    "soda": Probe(
        "GET /api/v1/scans/{scanId}", "one_completed_scan", lambda e: f"/api/v1/scans/{_first_scan(e).id}"
    ),
}


def account(emu: Emulator) -> dict[str, str]:
    return {k: str(v) for k, v in next(iter(emu.plugin.accounts.values())).items()}


def credentials_header(emu: Emulator, client: httpx.AsyncClient) -> dict[str, str]:
    """The headers the spec's `x-scanwire-auth` says to send (logging in through `client` if needed)."""
    auth = emu.spec["x-scanwire-auth"]
    acct = account(emu)
    if auth["kind"] == "basic":
        user, password = (acct[name] for name in auth["credentials"][:2])
        return {"Authorization": httpx.BasicAuth(user, password)._auth_header}
    if auth["kind"] == "login-token":
        return {}
    return {auth["header"]["name"]: auth["header"]["value"].format(**acct)}


async def appspider_login(emu: Emulator, client: httpx.AsyncClient) -> dict[str, str]:
    acct = account(emu)
    answer = await client.post(
        "/AppSpiderEnterprise/rest/v1/Authentication/Login",
        json={"name": acct["username"], "password": acct["password"]},
    )
    return {"Authorization": f"Basic {answer.json()['Token']}"}


@dataclass
class Watched:
    """A drifted emulator behind the drift proxy; `send` goes client -> proxy -> emulator."""

    vendor: str
    emu: Emulator
    observer: Observer
    proxy: DriftProxy
    headers: dict[str, str] = field(default_factory=dict)

    def send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        async def go() -> httpx.Response:
            upstream = httpx.AsyncClient(transport=httpx.ASGITransport(self.emu), base_url=UPSTREAM)
            self.proxy.client = upstream
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(self.proxy), base_url="http://proxy.test"
            ) as c:
                if not self.headers:
                    self.headers = (
                        await appspider_login(self.emu, c)
                        if self.vendor == "appspider"
                        else credentials_header(self.emu, c)
                    )
                headers = {**self.headers, **kwargs.pop("headers", {})}
                answer = await c.request(method, url, headers=headers, **kwargs)
            await upstream.aclose()
            return answer

        return asyncio.run(go())


def watched(
    vendor: str, reports: Path, record: Path | None = None, emu: Emulator | None = None, **redact: Any
) -> Watched:
    """The vendor's emulator (a fresh one unless given) with its probe scenario, behind the proxy."""
    emu = emu or build_emulator(vendor, settings=EmulatorSettings(rate_limits=False))
    emu.plugin.scenarios[PROBES[vendor].scenario](emu.backend)
    redactor = Redactor(emu.spec, vendor=vendor, **redact)
    observer = Observer(vendor, emu.spec, reports, redactor, record=record, upstream=UPSTREAM)
    return Watched(vendor, emu, observer, DriftProxy(UPSTREAM, observer))
