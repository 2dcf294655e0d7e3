"""The data the runtime reads from each generated package (spec_data.SPEC, written from the resolved spec
and the 30-codegen-runtime-* overlays) is complete and consistent, and the packages export one API."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from scanwire import VENDORS
from scanwire.runtime.lifecycle import Lifecycle

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
def test_packaged_runtime_is_the_source_runtime(vendor: str) -> None:
    source = ROOT / "src" / "scanwire" / "runtime"
    copied = ROOT / "generated" / vendor / f"{vendor}_client" / "runtime"
    for path in sorted(source.glob("*.py")):
        text = (copied / path.name).read_text(encoding="utf-8")
        assert text.split("\n", 1)[1] == path.read_text(encoding="utf-8"), (
            f"run `scanwire generate` ({path.name})"
        )


@pytest.mark.parametrize(
    ("vendor", "raw", "normalized", "terminal"),
    [
        ("appspider", "Running…", "running", False),  # GetScanStatus display text, U+2026
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
