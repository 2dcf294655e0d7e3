"""End to end through the public client API against the in-process emulators: start (or seed, for
Invicti) -> wait -> read results, for every vendor, sync and async; and the faults a client must survive
(429 bursts, 500s, an expired AppSpider token) or report clearly (malformed bodies, revoked keys)."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable
from typing import Any

import pytest

from conformance.emulators.core.app import Emulator
from scanwire import VENDORS

from .conftest import package

Control = Callable[[Emulator], Any]


def threadfix_file(name: str = "contoso.fpr", content: bytes = b"<FVDL/>") -> Any:
    return package("threadfix").types.File(payload=io.BytesIO(content), file_name=name)


def start(vendor: str, client: Any, emu: Emulator, control: Control) -> Any:
    """Start a scan the way a user of each vendor would (Invicti has no start operation: seed one)."""
    pkg = package(vendor)
    if vendor == "soda":
        return client.start_scan(scan_definition="orders_contract_daily")
    if vendor == "advalidation":
        campaign = client.campaigns.list_campaigns().data[0].id
        return client.start_scan(campaign, payload="https://cdn.example.com/ads/leaderboard.png")
    if vendor == "appspider":
        return client.start_scan(config_name="shop.example.com weekly")
    if vendor == "threadfix":
        return client.start_scan(6, file=threadfix_file())
    seeded = control(emu).post("/_emulator/scans", json={"account": "acme"})
    assert seeded.status_code == 201, seeded.text
    return pkg.ScanRef(seeded.json()["id"])


def check_results(vendor: str, client: Any, scan: Any, final: Any) -> None:
    """Read what each vendor offers once the scan is over, through the typed client API."""
    if vendor == "soda":
        logs = list(client.iter_scan_logs(scan, page_size=100))
        assert logs and all(type(e).__name__ == "LogsContentDTO" for e in logs)
        assert [e.index for e in logs] == sorted(e.index for e in logs)
    elif vendor == "advalidation":
        results = client.scans.get_scan(int(scan.id), include_checks=True)
        assert results.data.tests and results.data.processing_status == "finished"
    elif vendor == "invicti":
        detail = client.get_results(scan)
        assert type(detail).__name__ == "ScanTaskModel" and str(detail.state) == "Complete"
        assert package(vendor).parse_dotnet_timespan(detail.duration).total_seconds() >= 0
        assert scan.id in {s.id for s in client.iter_scans(page_size=1)}
    elif vendor == "appspider":
        assert scan.id in {str(s.id) for s in client.iter_scans()}
        assert isinstance(list(client.iter_scan_logs(scan)), list)
    elif vendor == "threadfix":
        assert final.model.object_.scan_id is not None and str(final.model.object_.status) == "DONE"


@pytest.mark.parametrize("vendor", VENDORS)
def test_start_wait_results(vendor: str, emulator: Any, connect_emulator: Any, control: Control) -> None:
    emu = emulator(vendor)
    client = connect_emulator(emu)
    scan = start(vendor, client, emu, control)
    final = client.wait_for_scan(scan, timeout=600, poll_interval=5)
    assert final.id == scan.id
    assert (final.status.normalized, final.status.terminal) == (
        package(vendor).NormalizedStatus.SUCCEEDED,
        True,
    )
    assert final.status.state in emu.lifecycle.terminal and final.status.raw is not None
    assert client.timer.sleeps and all(s >= 5 for s in client.timer.sleeps)
    check_results(vendor, client, scan, final)


@pytest.mark.parametrize("vendor", VENDORS)
def test_start_wait_results__async(
    vendor: str, emulator: Any, connect_emulator_async: Any, control: Control
) -> None:
    emu = emulator(vendor)
    client = connect_emulator_async(emu)

    async def main() -> Any:
        async with client:
            if vendor == "invicti":
                scan = start(vendor, None, emu, control)
            elif vendor == "soda":
                scan = await client.start_scan(scan_definition="nightly")
            elif vendor == "advalidation":
                campaign = (await client.campaigns.list_campaigns()).data[0].id
                scan = await client.start_scan(campaign, payload="<div>ad</div>")
            elif vendor == "appspider":
                scan = await client.start_scan(config_name="shop.example.com weekly")
            else:
                scan = await client.start_scan(
                    6,
                    file=threadfix_file(),
                )
            return await client.wait_for_scan(scan, timeout=600, poll_interval=1)

    final = asyncio.run(main())
    assert final.status.normalized is package(vendor).NormalizedStatus.SUCCEEDED


def poll_operation(client: Any) -> str:
    return str(client.vendor.action("poll")[0].id)


@pytest.mark.parametrize("vendor", VENDORS)
def test_fault__429_burst_is_survived(
    vendor: str, emulator: Any, connect_emulator: Any, control: Control
) -> None:
    emu = emulator(vendor)
    client = connect_emulator(emu)
    scan = start(vendor, client, emu, control)
    fault = {
        "kind": "status",
        "status": 429,
        "count": 3,
        "retry_after": 2,
        "operation": poll_operation(client),
    }
    assert control(emu).post("/_emulator/faults", json=fault).status_code in (200, 201)
    final = client.wait_for_scan(scan, timeout=600, poll_interval=5)
    assert final.status.terminal
    if vendor == "invicti":  # Retry-After is the wait (emulator: spec headers)
        # The waiter retries a 429 itself after Retry-After (never before the poll rate limit allows).
        assert client.timer.sleeps[:3] == [2.0, 2.0, 2.0]
    if vendor == "advalidation":  # Retry-After is not a wait (x-rate-limit.retry-after: bucket-size)
        one_token = 1.0 / float(emu.spec["x-rate-limit"]["refill-per-second"])
        assert client.timer.sleeps[:3] == [one_token] * 3
    assert control(emu).get("/_emulator/faults").json() in ([], {"faults": []})


@pytest.mark.parametrize("vendor", VENDORS)
def test_fault__500s_are_survived(
    vendor: str, emulator: Any, connect_emulator: Any, control: Control
) -> None:
    emu = emulator(vendor)
    client = connect_emulator(emu, retry=package(vendor).RetryPolicy(jitter=0))
    scan = start(vendor, client, emu, control)
    control(emu).post(
        "/_emulator/faults",
        json={"kind": "status", "status": 500, "count": 2, "operation": poll_operation(client)},
    )
    assert client.wait_for_scan(scan, timeout=600, poll_interval=5).status.terminal
    # Both faults fired (a fault is dropped only once its count is spent): the waiter met two 500s, retried
    # them on its own backoff within the deadline, and still reached a terminal state.
    assert control(emu).get("/_emulator/faults").json() == []


@pytest.mark.parametrize("vendor", VENDORS)
def test_fault__500s_beyond_the_retries_are_reported(
    vendor: str, emulator: Any, connect_emulator: Any, control: Control
) -> None:
    emu = emulator(vendor)
    pkg = package(vendor)
    client = connect_emulator(emu, retry=pkg.RetryPolicy(max_attempts=2))
    scan = start(vendor, client, emu, control)
    control(emu).post(
        "/_emulator/faults",
        json={"kind": "status", "status": 500, "count": 2, "operation": poll_operation(client)},
    )
    with pytest.raises(pkg.ServerError) as caught:
        client.get_scan(scan)
    assert caught.value.status == 500 and caught.value.url.startswith("http://127.0.0.1/")


@pytest.mark.parametrize("vendor", VENDORS)
def test_wait__500s_are_retried_until_the_deadline_and_counted(
    vendor: str, emulator: Any, connect_emulator: Any, control: Control
) -> None:
    # Was: one burst of 8x500 ended a 30 s wait after 8.5 s with ServerError.
    emu = emulator(vendor)
    pkg = package(vendor)
    client = connect_emulator(emu, retry=pkg.RetryPolicy(max_attempts=2))
    scan = start(vendor, client, emu, control)
    control(emu).post(
        "/_emulator/faults",
        json={"kind": "status", "status": 500, "count": 10_000, "operation": poll_operation(client)},
    )
    with pytest.raises(pkg.ScanTimeoutError) as caught:
        client.wait_for_scan(scan, timeout=30, poll_interval=1)
    error = caught.value
    assert error.elapsed == 30 and error.errors == error.polls >= 5
    assert isinstance(error.last_error, pkg.ServerError) and "transient errors retried" in str(error)
    control(emu).delete("/_emulator/faults")
    assert client.wait_for_scan(scan, timeout=600).status.terminal


@pytest.mark.parametrize("variant", ["truncated", "html", "empty"])
@pytest.mark.parametrize("vendor", VENDORS)
def test_fault__malformed_body_is_reported_clearly(
    vendor: str, variant: str, emulator: Any, connect_emulator: Any, control: Control
) -> None:
    emu = emulator(vendor)
    pkg = package(vendor)
    client = connect_emulator(emu)
    scan = start(vendor, client, emu, control)
    control(emu).post(
        "/_emulator/faults",
        json={"kind": "malformed", "variant": variant, "operation": poll_operation(client)},
    )
    with pytest.raises(pkg.MalformedResponseError) as caught:
        client.wait_for_scan(scan)
    err = caught.value
    assert err.status == 200 and err.url.startswith("http://127.0.0.1/") and str(scan.id) in err.url
    assert f"HTTP 200 with a malformed body ({'empty' if variant == 'empty' else 'not JSON'}" in str(err)
    assert variant == "empty" or err.excerpt
    # The next poll is answered normally again.
    assert client.wait_for_scan(scan, timeout=600).status.terminal


def test_fault__expired_appspider_token_logs_in_again(
    emulator: Any, connect_emulator: Any, control: Control
) -> None:
    emu = emulator("appspider")
    client = connect_emulator(emu)
    scan = start("appspider", client, emu, control)
    control(emu).post("/_emulator/faults", json={"kind": "expired_auth", "operation": "getScanStatus"})
    assert client.wait_for_scan(scan, timeout=600).status.terminal
    assert client.http.auth.logins == 2


def test_fault__appspider_token_ttl_expiry_logs_in_again(
    emulator: Any, connect_emulator: Any, control: Control
) -> None:
    emu = emulator("appspider", token_ttl=60)
    client = connect_emulator(emu)
    scan = start("appspider", client, emu, control)
    emu.clock.advance(3600)  # the token issued at start is long expired
    assert client.get_scan(scan).status.raw is not None
    assert client.http.auth.logins == 2


@pytest.mark.parametrize("vendor", ["soda", "advalidation", "invicti", "threadfix"])
def test_fault__revoked_static_credentials_are_an_authentication_error(
    vendor: str, emulator: Any, connect_emulator: Any, control: Control
) -> None:
    emu = emulator(vendor)
    pkg = package(vendor)
    client = connect_emulator(emu)
    scan = start(vendor, client, emu, control)
    control(emu).post("/_emulator/faults", json={"kind": "expired_auth", "operation": poll_operation(client)})
    with pytest.raises(pkg.AuthenticationError) as caught:
        client.get_scan(scan)
    assert caught.value.envelope is not None
    assert caught.value.status == (200 if vendor == "threadfix" else 401)


def test_appspider__multi_client_login_needs_a_client_id(emulator: Any, connect_emulator: Any) -> None:
    emu = emulator("appspider")
    aps = package("appspider")
    client = connect_emulator(emu, account="acme-web")
    with pytest.raises(aps.AuthenticationError) as caught:
        client.start_scan(config_name="www.acme.test full")
    clients = caught.value.envelope["Clients"]
    chosen = connect_emulator(
        emu, auth=aps.auth("acme-admin", "acme-password", client_id=clients["Acme Web Team"])
    )
    assert chosen.wait_for_scan(chosen.start_scan(config_name="www.acme.test full")).status.terminal


def test_soda__cancel_then_wait_ends_cancelled(
    emulator: Any, connect_emulator: Any, control: Control
) -> None:
    emu = emulator("soda")
    client = connect_emulator(emu)
    scan = client.start_scan(scan_definition="nightly")
    assert client.get_scan(scan).status.raw == "executing"
    client.cancel(scan)
    final = client.wait_for_scan(scan, timeout=600)
    assert (final.status.raw, final.status.normalized) == (
        "canceled",
        package("soda").NormalizedStatus.CANCELLED,
    )


@pytest.mark.parametrize("vendor", ["soda", "appspider", "invicti"])
def test_refused_state_action__is_a_conflict_on_every_vendor(
    vendor: str, emulator: Any, connect_emulator: Any, control: Control
) -> None:
    # One classification (x-scanwire-errors): it was BadRequestError on Soda and AppSpider.
    emu = emulator(vendor)
    client = connect_emulator(emu)
    scan = start(vendor, client, emu, control)
    client.wait_for_scan(scan)
    with pytest.raises(package(vendor).ConflictError) as caught:
        client.cancel(scan)
    assert caught.value.method in ("POST", "DELETE") and scan.id in caught.value.url + str(
        caught.value.response.request.content
    )


@pytest.mark.parametrize("vendor", ["soda", "appspider", "invicti", "advalidation"])
def test_unknown_scan_id__is_not_found_on_every_vendor(
    vendor: str, emulator: Any, connect_emulator: Any
) -> None:
    client = connect_emulator(emulator(vendor))
    unknown = {"advalidation": "999999"}.get(vendor, "4d9a7b61-0000-4000-8000-000000000000")
    with pytest.raises(package(vendor).NotFoundError):
        client.get_scan(unknown)


def test_invicti__pause_resume_cancel(emulator: Any, connect_emulator: Any, control: Control) -> None:
    emu = emulator("invicti")
    inv = package("invicti")
    client = connect_emulator(emu)
    seeded = control(emu).post(
        "/_emulator/scans", json={"account": "acme", "state": "Scanning", "progression": {"mode": "manual"}}
    )
    scan = inv.ScanRef(seeded.json()["id"])
    assert client.pause(scan) == inv.models.ScanActionResult.OK
    with pytest.raises(inv.ConflictError, match="ScanNotRunning"):
        client.pause(scan)
    control(emu).post(f"/_emulator/scans/{scan.id}/advance", json={})
    assert client.get_scan(scan).status.normalized is inv.NormalizedStatus.PAUSED
    assert client.resume(scan) == inv.models.ScanActionResult.OK
    assert client.cancel(scan) == inv.models.ScanActionResult.OK
    with pytest.raises(inv.NotFoundError):
        client.cancel(inv.ScanRef("00000000-0000-0000-0000-000000000000"))


def test_invicti__other_accounts_scan_is_not_found(
    emulator: Any, connect_emulator: Any, control: Control
) -> None:
    emu = emulator("invicti")
    client = connect_emulator(emu, account="globex")
    scan = start("invicti", None, emu, control)
    with pytest.raises(package("invicti").NotFoundError):
        client.get_scan(scan)


def test_threadfix__other_teams_application_is_refused(emulator: Any, connect_emulator: Any) -> None:
    emu = emulator("threadfix")
    client = connect_emulator(emu, account="globex")
    with pytest.raises(package("threadfix").ApiError) as caught:
        client.start_scan(6, file=threadfix_file("a.fpr", b"x"))
    assert caught.value.status == 200 and caught.value.envelope["success"] is False


def test_wait__timeout_against_an_emulator_that_never_finishes(
    emulator: Any, connect_emulator: Any, control: Control
) -> None:
    emu = emulator("soda")
    control(emu).post("/_emulator/scenario", json={"name": "queue_stalled"})
    client = connect_emulator(emu)
    scan = client.start_scan(scan_definition="nightly")
    with pytest.raises(package("soda").ScanTimeoutError) as caught:
        client.wait_for_scan(scan, timeout=120, poll_interval=10, backoff=2)
    err = caught.value
    assert err.last is not None and err.last.status.raw == "queuing" and err.elapsed == 120
    assert client.timer.sleeps == [10, 20, 40, 50]


@pytest.mark.parametrize("vendor", ["advalidation", "appspider", "threadfix", "soda"])
def test_start__answer_yields_the_lifecycles_initial_state(
    vendor: str, emulator: Any, connect_emulator: Any, control: Control
) -> None:
    # Was `unknown (None)` on AppSpider, ThreadFix and Soda for a scan just created.
    emu = emulator(vendor)
    client = connect_emulator(emu)
    scan = start(vendor, client, emu, control)
    lifecycle = client.lifecycle
    assert scan.status.normalized is not package(vendor).NormalizedStatus.UNKNOWN
    assert (
        scan.status.state == lifecycle.initial
        or scan.status.normalized is lifecycle.states[lifecycle.initial]
    )


@pytest.mark.parametrize("variant", ["truncated", "html", "empty"])
def test_soda__malformed_start_scan_answer_is_an_error_not_a_scan(
    variant: str, emulator: Any, connect_emulator: Any, control: Control
) -> None:
    # Issue 15 #11: the corrupted start answer (200 instead of the documented body-less 201, with HTML or
    # nothing) still carried X-Soda-Scan-Id, and start_scan returned it as a started scan.
    emu = emulator("soda")
    pkg = package("soda")
    client = connect_emulator(emu)
    start_op, _ = client.vendor.action("start")
    control(emu).post(
        "/_emulator/faults", json={"kind": "malformed", "variant": variant, "operation": start_op.id}
    )
    with pytest.raises(pkg.MalformedResponseError) as caught:
        client.start_scan(scan_definition="nightly")
    assert caught.value.status == 200 and "undocumented success status" in str(caught.value)


def test_rate_limit__advalidation_burst_past_the_bucket_waits_a_token_not_retry_after(
    emulator: Any, connect_emulator: Any
) -> None:
    # The emulator's 429 says Retry-After: 15 (the bucket size); the client waits for one token instead.
    emu = emulator("advalidation")
    client = connect_emulator(emu)
    limit = emu.spec["x-rate-limit"]
    bucket, one_token = int(limit["capacity"]), 1.0 / float(limit["refill-per-second"])
    users = [client.users.get_current_user() for _ in range(bucket + 3)]
    assert {u.data.email for u in users} == {users[0].data.email}
    assert client.timer.sleeps == [one_token] * 3  # one wait per request past the bucket, each a 429
