"""The data the runtime reads from each generated package (spec_data.SPEC, written from the resolved spec
and the 30-codegen-runtime-* overlays) is complete and consistent, and the packages export one API."""

from __future__ import annotations

import importlib
import tomllib
from pathlib import Path

import pytest
from scanwire_runtime.lifecycle import Lifecycle

from scanwire import VENDORS

from .conftest import package

ROOT = Path(__file__).resolve().parents[2]
PUBLIC = {
    "connect",
    "connect_async",
    "auth",
    "ScanClient",
    "AsyncScanClient",
    "RetryPolicy",
    "NormalizedStatus",
}


@pytest.mark.parametrize("vendor", VENDORS)
def test_every_lifecycle_operation_is_in_the_operation_index(vendor: str) -> None:
    spec = package(vendor).SPEC
    lifecycle = Lifecycle.from_extension(spec["lifecycle"])
    keys = {f"{op['method']} {op['path']}" for op in spec["operations"].values()}
    named = {ref.key for ref in lifecycle.operations.values() if ref is not None}
    assert named <= keys


@pytest.mark.parametrize("vendor", VENDORS)
def test_every_operation_module_parses_answers(vendor: str) -> None:
    vendor_data = package(vendor).VENDOR
    for op in vendor_data.operations.values():
        module = importlib.import_module(f"{vendor}_client.{op.module}")
        assert callable(module._parse_response), op.id


@pytest.mark.parametrize("vendor", VENDORS)
def test_runtime_extensions_are_present(vendor: str) -> None:
    pkg = package(vendor)
    extensions = pkg.SPEC["extensions"]
    assert extensions["x-scanwire-auth"]["kind"] in (
        "basic",
        "api-key-header",
        "prefixed-header",
        "login-token",
    )
    assert "x-scanwire-errors" in extensions
    assert set(pkg.__all__) >= PUBLIC


@pytest.mark.parametrize(
    ("vendor", "given", "expected"),
    [
        ("appspider", "https://spider.corp", "https://spider.corp/AppSpiderEnterprise/rest/v1"),
        ("appspider", "https://spider.corp/custom/", "https://spider.corp/custom"),
        ("threadfix", "https://tf.corp:8443", "https://tf.corp:8443/threadfix/rest/latest"),
        ("advalidation", "https://app.advalidation.com", "https://app.advalidation.com/v2"),
        ("invicti", "https://invicti.corp", "https://invicti.corp"),
        ("soda", None, "https://cloud.soda.io"),
    ],
)
def test_base_url_gets_the_servers_fixed_path(vendor: str, given: str | None, expected: str) -> None:
    assert package(vendor).VENDOR.base_url(given) == expected


@pytest.mark.parametrize("vendor", VENDORS)
def test_package__holds_no_copy_of_the_runtime(vendor: str) -> None:
    package = ROOT / "generated" / vendor / f"{vendor}_client"
    assert not (package / "runtime").exists()
    pyproject = tomllib.loads((package.parent / "pyproject.toml").read_text(encoding="utf-8"))
    runtime = tomllib.loads((ROOT / "runtime" / "pyproject.toml").read_text(encoding="utf-8"))
    major, minor, _patch = runtime["project"]["version"].split(".")
    # The runtime's own version, patch releases allowed: `scanwire-runtime>=X.Y.Z,<X.(Y+1)`.
    wanted = f"scanwire-runtime>={runtime['project']['version']},<{major}.{int(minor) + 1}"
    assert pyproject["project"]["dependencies"][0] == wanted


def test_errors__are_one_hierarchy_shared_by_every_vendor() -> None:
    import scanwire_runtime

    packages = [importlib.import_module(f"{v}_client") for v in VENDORS]
    for name in ("NotFoundError", "ConflictError", "ApiError", "ScanwireError", "APIConnectionError"):
        assert {getattr(p, name) for p in packages} == {getattr(scanwire_runtime, name)}, name
    soda, invicti = importlib.import_module("soda_client"), importlib.import_module("invicti_client")
    # Was False while the runtime was copied into each package.
    assert issubclass(soda.NotFoundError, invicti.ApiError)
    assert issubclass(scanwire_runtime.APITimeoutError, scanwire_runtime.ScanwireError)


@pytest.mark.parametrize(
    ("vendor", "raw", "normalized", "terminal"),
    [
        ("appspider", "Running…", "running", False),  # GetScanStatus display text, U+2026
        (
            "threadfix",
            "SCAN_DELETED",
            "cancelled",
            True,
        ),  # the findings are gone: not a success (was succeeded)
        ("appspider", 32, "succeeded", True),  # GetScans integer code
        ("appspider", "Vuln Load Failed", "failed", True),
        ("invicti", "Delayed", "queued", False),
        ("invicti", "Teleporting", "unknown", False),  # a value this spec version does not know
        ("soda", "timedOut", "timed_out", True),
        ("threadfix", "SCAN_INTERRUPTED", "failed", True),
        ("advalidation", "cancelled", "cancelled", True),
    ],
)
def test_status_keeps_the_raw_value_beside_the_normalized_one(
    vendor: str, raw: object, normalized: str, terminal: bool
) -> None:
    pkg = package(vendor)
    status = pkg.Status.read(raw, pkg.VENDOR.lifecycle)
    assert (status.raw, status.normalized, status.terminal) == (
        raw,
        pkg.NormalizedStatus(normalized),
        terminal,
    )


@pytest.mark.parametrize("vendor", VENDORS)
def test_package__public_methods_have_vendor_specific_docstrings(vendor: str) -> None:
    import inspect

    pkg = package(vendor)
    api = importlib.import_module(f"{vendor}_client.api")
    classes = [getattr(api, name) for name in api.__all__]
    undocumented = [
        f"{cls.__name__}.{name}"
        for cls in classes
        for name, member in inspect.getmembers(cls, inspect.isfunction)
        if not name.startswith("_") and not (member.__doc__ or "").strip()
    ]
    assert undocumented == []  # 13 of 14 async methods had none
    poll_id = pkg.VENDOR.action("poll")[0].id
    client = next(c for c in classes if c.__name__.endswith("Client") and not c.__name__.startswith("Async"))
    assert poll_id in (client.get_scan.__doc__ or "") and poll_id in (client.wait_for_scan.__doc__ or "")
    start = getattr(client, "start_scan", None)
    if start is not None:  # was ThreadFix's appId in every package's help()
        assert pkg.VENDOR.action("start")[0].id in (start.__doc__ or "")
        assert vendor == "threadfix" or "appId" not in (start.__doc__ or "")
    assert pkg.__version__ != "0+unknown" and pkg.VENDOR.user_agent == f"{vendor}-client/{pkg.__version__}"
