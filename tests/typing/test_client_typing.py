"""The typed client surface under `mypy --strict`: per vendor, snippets a user would write that must pass
and ones that must fail (misspelt attribute, wrong parameter type, unknown keyword, wrong model). All
snippets are checked in one mypy run (mypy.api, cache in a temporary folder); each failing snippet is
a file of its own whose expected error code must be reported on its last line."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest
from mypy import api as mypy_api


@dataclass(frozen=True)
class Vendor:
    slug: str
    setup: str  # imports and `client = ...`
    poll: str  # the poll answer model
    results: str  # get_results' model
    other: str  # a model that is neither
    attribute: str  # an attribute of the results model
    resource_ok: str  # a typed resource call that must pass
    resource_bad: str  # the same call with a wrongly typed parameter


VENDORS = [
    Vendor(
        "advalidation",
        "import advalidation_client\nfrom advalidation_client.models import ErrorResponse, ScanResponse\n"
        "client = advalidation_client.connect(auth='key')\n",
        "ScanResponse",
        "ScanResponse",
        "ErrorResponse",
        "data",
        "client.scans.get_scan(301, include_checks=True)",
        "client.scans.get_scan('301')",
    ),
    Vendor(
        "invicti",
        "import invicti_client\n"
        "from invicti_client.models import ApiScanStatusModel, ScanTaskModel, ScanTaskState\n"
        "client = invicti_client.connect(auth=('user', 'token'))\n",
        "ApiScanStatusModel",
        "ScanTaskModel",
        "ApiScanStatusModel",
        "total_vulnerability_count",
        "client.scans.list_scans_by_state(scan_task_state=ScanTaskState.COMPLETE, page_size=5)",
        "client.scans.list_scans_by_state(scan_task_state='Complete')",
    ),
    Vendor(
        "appspider",
        "import uuid\nimport appspider_client\n"
        "from appspider_client.models import ApiResponse, ScanStatusResponse\n"
        "client = appspider_client.connect(auth=('user', 'password'))\n",
        "ScanStatusResponse",
        "ScanStatusResponse",
        "ApiResponse",
        "status",
        "client.scan_management.get_scan_status(scan_id=[uuid.uuid4()])",
        "client.scan_management.get_scan_status(scan_id='x')",
    ),
    Vendor(
        "threadfix",
        "import io\nimport threadfix_client\nfrom threadfix_client.types import File\n"
        "from threadfix_client.models import PendingScanStatusResponse, UploadScanResponse\n"
        "client = threadfix_client.connect(auth='key')\n",
        "PendingScanStatusResponse",
        "PendingScanStatusResponse",
        "UploadScanResponse",
        "object_",
        "client.start_scan(6, file=File(payload=io.BytesIO(b'<FVDL/>'), file_name='a.fpr'))",
        "client.start_scan('6', file=File(payload=io.BytesIO(b'<FVDL/>'), file_name='a.fpr'))",
    ),
    Vendor(
        "soda",
        "import soda_client\n"
        "from soda_client.models import PublicApiScanLogsResponse, PublicApiScanStatusResponse\n"
        "client = soda_client.connect(auth=('key-id', 'secret'))\n",
        "PublicApiScanStatusResponse",
        "PublicApiScanStatusResponse",
        "PublicApiScanLogsResponse",
        "state",
        "client.start_scan(scan_definition='nightly')",
        "client.start_scan(scan_definition=7)",
    ),
]


def passing(v: Vendor) -> str:
    return v.setup + textwrap.dedent(
        f"""
        from scanwire_runtime import NormalizedStatus
        results: {v.results} = client.get_results("1")
        polled: {v.poll} = client.wait_for_scan("1", timeout=5.0).model
        normalized: NormalizedStatus = client.get_scan("1").status.normalized
        value = client.get_results("1").{v.attribute}
        {v.resource_ok}
        client.with_options(timeout=1.0, headers={{"X-Trace": "1"}}).get_scan("1")
        raw = client.with_raw_response.{_any_resource(v)}
        code: int = raw.status_code
        """
    )


def _any_resource(v: Vendor) -> str:
    return {
        "advalidation": "users.get_current_user()",
        "invicti": "scans.list_scans()",
        "appspider": "scan_management.get_scans()",
        "threadfix": "scans.get_pending_scan_status(6, 1)",
        "soda": "utility.test_login()",
    }[v.slug]


def failing(v: Vendor) -> dict[str, tuple[str, str]]:
    """name -> (expected mypy error code, the offending last line)."""
    cases = {
        "misspelt-attribute": ("attr-defined", f'client.get_results("1").{v.attribute}x'),
        "wrong-parameter-type": ("arg-type", v.resource_bad),
        "unknown-keyword": ("call-arg", 'client.get_scan("1", timout=1)'),
        "wrong-model": ("assignment", f'wrong: {v.other} = client.get_results("1")'),
        "misspelt-resource": ("attr-defined", "client.scanz"),
    }
    if v.slug == "invicti":  # start_scan's keywords are NewScanTaskApiModel's (snake_case), typed
        cases["start-wrong-type"] = ("arg-type", "client.start_scan(target_uri=5)")
    if v.slug == "soda":  # the spec's JSON name is not the keyword (was sent as a body, silently)
        cases["spec-name-keyword"] = ("call-arg", "client.start_scan(scanDefinition='nightly')")
        # cancel answers 200 without a body: typed None (was `object`, which any use silently accepted)
        cases["bodiless-answer"] = ("func-returns-value", 'answer = client.cancel("1")')
    return cases


@pytest.fixture(scope="module")
def mypy_report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    """One mypy --strict run over every snippet; file name -> its error lines."""
    folder = tmp_path_factory.mktemp("typing-cases")
    files: list[Path] = []
    for v in VENDORS:
        path = folder / f"{v.slug}__pass.py"
        path.write_text(passing(v), encoding="utf-8")
        files.append(path)
        for name, (_code, line) in failing(v).items():
            path = folder / f"{v.slug}__{name.replace('-', '_')}.py"
            path.write_text(v.setup + line + "\n", encoding="utf-8")
            files.append(path)
    stdout, stderr, _status = mypy_api.run(
        [
            "--config-file=",
            "--strict",
            "--no-color-output",
            "--no-error-summary",
            "--show-error-codes",
            "--cache-dir",
            str(folder / ".mypy_cache"),
            *map(str, files),
        ]
    )
    assert not stderr, stderr
    report: dict[str, list[str]] = {p.name: [] for p in files}
    for line in stdout.splitlines():
        name = Path(line.split(":", 1)[0]).name
        if name in report:
            report[name].append(line)
    return report


@pytest.mark.parametrize("vendor", VENDORS, ids=lambda v: v.slug)
def test_typed_use__passes_mypy_strict(vendor: Vendor, mypy_report: dict[str, list[str]]) -> None:
    assert [line for line in mypy_report[f"{vendor.slug}__pass.py"] if "error:" in line] == []


CASES = [(v, name) for v in VENDORS for name in failing(v)]


@pytest.mark.parametrize(("vendor", "case"), CASES, ids=[f"{v.slug}-{n}" for v, n in CASES])
def test_mistake__fails_mypy_strict(vendor: Vendor, case: str, mypy_report: dict[str, list[str]]) -> None:
    code, line = failing(vendor)[case]
    last = vendor.setup.count("\n") + 1
    errors = [e for e in mypy_report[f"{vendor.slug}__{case.replace('-', '_')}.py"] if "error:" in e]
    assert any(f":{last}: error:" in e and e.endswith(f"[{code}]") for e in errors), (line, errors)
