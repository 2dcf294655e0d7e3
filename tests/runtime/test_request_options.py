"""Per-request options (`timeout=`, `retry=`, `headers=`) exist only through `client.with_options(...)`, on
every vendor and every method: no generated method takes them as a keyword (it is a TypeError before any
request, never a query parameter or a JSON body on a GET as it once was), and the options are set on the
request itself for the resource methods and the lifecycle methods alike."""

from __future__ import annotations

import inspect
from typing import Any

import httpx
import pytest

from scanwire import VENDORS

from .conftest import package
from .test_emulators import start

OPTIONS = ("timeout", "retry", "headers")


def resources(client: Any) -> dict[str, Any]:
    return {n: v for n, v in vars(client).items() if "Resource" in type(v).__name__}


LIFECYCLE = (
    "get_scan",
    "get_results",
    "start_scan",
    "cancel",
    "pause",
    "resume",
    "stop",
    "iter_scans",
    "iter_scan_logs",
    "iter_findings",
    "download_report",
)


@pytest.mark.parametrize("vendor", VENDORS)
@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_every_method__an_option_keyword_is_a_type_error_before_any_request(
    vendor: str, asynchronous: bool
) -> None:
    sent: list[httpx.Request] = []

    def refuse(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(599)

    connect = package(vendor).connect_async if asynchronous else package(vendor).connect
    credentials = ("x",) * len(package(vendor).VENDOR.credentials())
    client = connect("https://vendor.test", auth=credentials, transport=httpx.MockTransport(refuse))
    methods = [
        (f"{name}.{m}", getattr(resource, m))
        for raw in (False, True)
        for name, resource in resources(client.with_raw_response if raw else client).items()
        for m in dir(resource)
        if not m.startswith("_")
    ]
    assert len(methods) >= 2 * len(package(vendor).VENDOR.operations)
    methods += [(name, getattr(client, name)) for name in LIFECYCLE if hasattr(client, name)]
    for _label, method in methods:
        declared = set(inspect.signature(method).parameters)
        for option in OPTIONS:
            if option in declared:  # a real parameter of that name in the spec
                continue
            with pytest.raises(TypeError, match=f"unexpected keyword argument '{option}'"):
                method(**{option: 1})  # not awaited: the TypeError comes from the call itself
    assert sent == [], f"{vendor}: a request was sent"


@pytest.mark.parametrize("vendor", VENDORS)
def test_with_options__set_on_the_request_for_resource_and_lifecycle_methods(
    vendor: str, emulator: Any, connect_emulator: Any, control: Any
) -> None:
    emu = emulator(vendor)
    client = connect_emulator(emu)
    scan = start(vendor, client, emu, control)
    seen: list[httpx.Request] = []
    client.http.event_hooks["request"].append(seen.append)
    quick = client.with_options(
        timeout=2.5, retry=package(vendor).RetryPolicy.disabled(), headers={"X-Trace": "t-1"}
    )
    quick.get_scan(scan)
    final = quick.wait_for_scan(scan, timeout=600, poll_interval=5)
    assert final.status.terminal
    list(quick.iter_scans()) if hasattr(quick, "iter_scans") else None
    assert seen
    for request in seen:
        assert request.headers["X-Trace"] == "t-1"
        timeout = request.extensions["timeout"]
        assert timeout["connect"] <= 2.5 and timeout["read"] <= 2.5
        assert "X-Trace" not in request.url.params and b"X-Trace" not in request.content
        for option in OPTIONS:
            assert option not in request.url.params
            assert f'"{option}"'.encode() not in request.content
    seen.clear()
    client.get_scan(scan)  # the client itself keeps its own options
    assert "X-Trace" not in seen[0].headers and seen[0].extensions["timeout"]["read"] == 30.0
