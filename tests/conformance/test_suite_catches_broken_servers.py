"""Each conformance check can fail: deliberately broken Soda emulators are caught by the named check."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from starlette.responses import Response

from conformance.emulators.core import Call, json_response
from conformance.emulators.core.app import Emulator, EmulatorSettings
from conformance.emulators.core.spec import resolved_spec
from conformance.emulators.soda import Plugin
from conformance.suites.runner import ConformanceOptions, VendorRun, redact, run_vendor
from scanwire.specs import iter_operations

ROUTES = Plugin.routes
FAST = {"max_examples": 5, "phases": ("examples", "fuzzing", "stateful")}


def _run_with(plugin: Plugin, **opts: Any) -> VendorRun:
    def factory(vendor: str) -> Emulator:
        return Emulator(plugin, settings=EmulatorSettings(rate_limits=False))

    return run_vendor("soda", ConformanceOptions(emulator_factory=factory, **{**FAST, **opts}))


def _failing(run: VendorRun) -> dict[tuple[str, str], str]:
    return run.failing_checks()


def _rewrites_status(rewrite: Callable[[dict[str, Any], bool], None]) -> Plugin:
    """Soda whose status answers go through `rewrite(body, polled_before)` on the way out."""
    seen: set[str] = set()

    def get_scan_status(call: Call[Any]) -> Response:
        body = call.backend.status(call.account, call.path_params["scanId"])
        rewrite(body, body["id"] in seen)
        seen.add(body["id"])
        return json_response(body)

    plugin = Plugin()
    plugin.routes = {**ROUTES, "GET /api/v1/scans/{scanId}": get_scan_status}
    return plugin


def renamed_field(body: dict[str, Any], again: bool) -> None:
    """`state` is sent as `status`: the body no longer matches PublicApiScanStatusResponse."""
    body["status"] = body.pop("state")


def goes_backwards(body: dict[str, Any], again: bool) -> None:
    """`started` on the first poll, `queuing` on every later one: no road leads back, and neither state is
    terminal, so the one failure is an illegal transition."""
    body["state"] = "queuing" if again else "started"


def leaves_terminal_state(body: dict[str, Any], again: bool) -> None:
    """`completed` on the first poll, `started` on every later one: it left a terminal state."""
    body["state"] = "started" if again else "completed"


def invents_state(body: dict[str, Any], again: bool) -> None:
    """A state the spec's enum knows nothing about (a vendor adding `archived` without notice)."""
    body["state"] = "archived"


class ServerErrorOnBadId(Plugin):
    """An unknown scan id crashes the handler instead of answering 404."""

    def __init__(self) -> None:
        def get_scan_status(call: Call[Any]) -> Response:
            scan = call.backend.engine.find(call.path_params["scanId"])
            return json_response(call.backend.view(scan))  # AttributeError on None -> 500

        self.routes = {**ROUTES, "GET /api/v1/scans/{scanId}": get_scan_status}


class UndocumentedStatus(Plugin):
    """test-login answers 418, a status the operation does not declare."""

    def __init__(self) -> None:
        self.routes = {
            **ROUTES,
            "GET /api/v1/test-login": lambda call: json_response({"code": "teapot"}, 418),
        }


def test_conformance__healthy_soda_emulator_passes() -> None:
    run = _run_with(Plugin())
    assert run.ok, _failing(run)
    assert run.cases > 20
    assert set(run.operations) == {f"{m} {p}" for m, p, _ in iter_operations(resolved_spec("soda")[0])}
    assert len(run.operations) == 23  # scans, test-login, D1-D12, U1-U6


def test_response_schema_conformance__renamed_field_is_caught() -> None:
    failing = _failing(_run_with(_rewrites_status(renamed_field)))
    assert ("GET /api/v1/scans/{scanId}", "response_schema_conformance") in failing


def test_not_a_server_error__500_on_unknown_id_is_caught() -> None:
    run = _run_with(ServerErrorOnBadId())
    failing = _failing(run)
    assert failing[("GET /api/v1/scans/{scanId}", "not_a_server_error")] == "Server error"
    assert not run.ok


def test_lifecycle_conformance__backwards_transition_is_caught() -> None:
    failing = _failing(_run_with(_rewrites_status(goes_backwards)))
    assert failing[("GET /api/v1/scans/{scanId}", "lifecycle_conformance")] == "Illegal lifecycle transition"


def test_lifecycle_conformance__leaving_a_terminal_state_is_caught() -> None:
    failing = _failing(_run_with(_rewrites_status(leaves_terminal_state)))
    assert failing[("GET /api/v1/scans/{scanId}", "lifecycle_conformance")] == "Scan left a terminal state"


def test_lifecycle_conformance__unknown_state_is_caught() -> None:
    failing = _failing(_run_with(_rewrites_status(invents_state)))
    assert failing[("GET /api/v1/scans/{scanId}", "lifecycle_conformance")] == "Unknown scan state"


def test_status_code_conformance__undocumented_status_is_caught() -> None:
    failing = _failing(_run_with(UndocumentedStatus()))
    assert ("GET /api/v1/test-login", "status_code_conformance") in failing


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("curl -H 'Authorization: Basic YWNtZTpzZWNyZXQ=' http://x", "curl -H 'Authorization: ***' http://x"),
        ("curl -H 'X-API-Key: k-123456' http://x", "curl -H 'X-API-Key: ***' http://x"),
        ("curl -u acme:secret http://x", "curl -u *** http://x"),
        ("body token=hunter2-secret", "body token=***"),
    ],
)
def test_redact__credentials_never_reach_reports(text: str, expected: str) -> None:
    assert redact(text, ["hunter2-secret"]) == expected
