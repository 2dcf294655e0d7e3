"""Tests of the generated clients against their resolved specs: every response example parses into the
documented model and round-trips, open enums keep unknown values, unknown fields survive, every spec
enum keeps all its values, and request bodies reach the wire in the encoding the caller chose."""

from __future__ import annotations

import copy
import email
import email.policy
import importlib
import inspect
import io
import json
import subprocess
import sys
import typing
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from dateutil.parser import isoparse
from helpers.generation import (
    ROOT,
    ResponseExample,
    deref,
    endpoint_module,
    find_operation,
    resolved_spec,
    response_examples,
)

from scanwire import VENDORS
from scanwire.specs import iter_operations

EXAMPLES = list(response_examples())
BY_ID = {ex.id: ex for ex in EXAMPLES}
BASE_URL = "https://vendor.test"


def parse(example: ResponseExample, value: Any) -> Any:
    """What the generated endpoint module makes of `value` answered with the example's status code."""
    client = importlib.import_module(f"{example.vendor}_client").Client(base_url=BASE_URL)
    module = endpoint_module(example.vendor, example.operation)
    return module._parse_response(client=client, response=httpx.Response(example.status, json=value))


def dump(parsed: Any) -> Any:
    """The JSON value the client would send back: `to_dict()` of a model, `.value` of a bare enum."""
    return parsed.value if isinstance(parsed, Enum) else parsed.to_dict()


def _same_instant(a: str, b: str) -> bool:
    # Date-time fields are re-serialised by the models (`Z` -> `+00:00`, 7 fraction digits -> 6), so a
    # differing pair of strings is equal when both parse, with the models' own parser, to one instant.
    try:
        return isoparse(a) == isoparse(b)
    except ValueError:
        return False


def differences(expected: Any, actual: Any, where: str = "$") -> list[str]:
    """Every place where `actual` loses, adds or changes something of `expected` (types included)."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        out = [f"{where}.{k}: missing" for k in expected if k not in actual]
        out += [f"{where}.{k}: unexpected {actual[k]!r}" for k in actual if k not in expected]
        for key in expected.keys() & actual.keys():
            out += differences(expected[key], actual[key], f"{where}.{key}")
        return out
    if isinstance(expected, list) and isinstance(actual, list):
        out = [f"{where}: {len(expected)} items became {len(actual)}"] if len(expected) != len(actual) else []
        for i, (e, a) in enumerate(zip(expected, actual, strict=False)):
            out += differences(e, a, f"{where}[{i}]")
        return out
    if type(expected) is type(actual) and expected == actual:
        return []
    if isinstance(expected, str) and isinstance(actual, str) and _same_instant(expected, actual):
        return []
    return [f"{where}: {expected!r} became {actual!r}"]


def set_at(value: Any, pointer: str, new: Any) -> Any:
    """`value` with the node at JSON pointer `pointer` replaced (the root itself when it is "")."""
    if not pointer:
        return new
    *parents, last = pointer.lstrip("/").split("/")
    node = value
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    node[int(last) if isinstance(node, list) else last] = new
    return value


def test_examples_were_found() -> None:
    per_vendor = {v: sum(1 for ex in EXAMPLES if ex.vendor == v) for v in VENDORS}
    assert all(per_vendor.values()), per_vendor
    assert len(BY_ID) == len(EXAMPLES), "example ids must be unique"


# -- response examples ----------------------------------------------------------------------------


@pytest.mark.parametrize("example", EXAMPLES, ids=[ex.id for ex in EXAMPLES])
def test_response_example_parses_and_round_trips(example: ResponseExample) -> None:
    parsed = parse(example, copy.deepcopy(example.value))
    models = importlib.import_module(f"{example.vendor}_client.models")
    assert type(parsed) is getattr(models, example.component)
    assert differences(example.value, dump(parsed)) == []


OBJECT_EXAMPLES = [ex for ex in EXAMPLES if isinstance(ex.value, dict)]
EXTRA = {"scanwireExtra": {"nested": [1, "two", None], "flag": True}}


@pytest.mark.parametrize("example", OBJECT_EXAMPLES, ids=[ex.id for ex in OBJECT_EXAMPLES])
def test_unknown_top_level_fields_are_kept(example: ResponseExample) -> None:
    value = {**copy.deepcopy(example.value), **copy.deepcopy(EXTRA)}
    parsed = parse(example, value)
    assert parsed.additional_properties == EXTRA
    assert differences(value, dump(parsed)) == []


NESTED = [
    ("advalidation-getScan-notes-finished", "/data/tests/0"),
    ("invicti-listScans-notes-first-page", "/List/0"),
    ("appspider-getScans-seed-paged", "/Links/0"),
    ("appspider-getScans-seed-all", "/Scans/0/Targets/0"),
    ("threadfix-getPendingScanStatus-seed", "/object"),
    ("soda-getScanStatus-notes-completed", "/scanDefinition"),
]


@pytest.mark.parametrize(("example_id", "pointer"), NESTED, ids=[f"{i}{p}" for i, p in NESTED])
def test_unknown_nested_fields_survive_to_dict(example_id: str, pointer: str) -> None:
    example = BY_ID[example_id]
    value = copy.deepcopy(example.value)
    node = value
    for part in pointer.lstrip("/").split("/"):
        node = node[int(part)] if isinstance(node, list) else node[part]
    node.update(copy.deepcopy(EXTRA))
    assert differences(value, dump(parse(example, value))) == []


# -- open enums -----------------------------------------------------------------------------------

UNKNOWN_ENUM_VALUES: list[tuple[str, str, Any, Callable[[Any], Any]]] = [
    ("invicti-getScanDetail-seed", "/State", "Teleporting", lambda m: m.state),
    ("invicti-getScanStatus-notes-scanning", "/State", "Teleporting", lambda m: m.state),
    ("invicti-cancelScan-notes-ok", "", "ScanTeleported", lambda m: m),
    ("soda-getScanStatus-notes-queuing", "/state", "defrosting", lambda m: m.state),
    ("appspider-getScans-seed-all", "/Scans/1/Status", 999, lambda m: m.scans[1].status),
    ("appspider-getScanStatus-notes-running", "/Status", "ReportError", lambda m: m.status),
    ("threadfix-getPendingScanStatus-seed", "/object/status", "TELEPORTING", lambda m: m.object_.status),
    (
        "advalidation-getScan-notes-queued",
        "/data/processingStatus",
        "paused",
        lambda m: m.data.processing_status,
    ),
]


@pytest.mark.parametrize(
    ("example_id", "pointer", "raw", "member"), UNKNOWN_ENUM_VALUES, ids=[c[0] for c in UNKNOWN_ENUM_VALUES]
)
def test_unknown_enum_value_is_kept_not_raised(
    example_id: str, pointer: str, raw: Any, member: Callable[[Any], Any]
) -> None:
    example = BY_ID[example_id]
    known = member(parse(example, copy.deepcopy(example.value)))
    assert issubclass(type(known), Enum) and known.is_known  # the documented value: a real member

    value = set_at(copy.deepcopy(example.value), pointer, raw)
    parsed = parse(example, value)
    unknown = member(parsed)
    assert type(unknown) is type(known)
    assert (unknown.value, type(unknown.value), unknown.is_known, unknown.name) == (
        raw,
        type(raw),
        False,
        "_UNDOCUMENTED_",
    )
    assert str(unknown) == str(raw)
    assert differences(value, dump(parsed)) == []


def _spec_enums(node: Any, path: tuple[str, ...] = ()) -> list[tuple[str, list[Any], list[str]]]:
    """(where, values, x-enum-varnames) of every schema enum; servers and x- extensions are no schemas."""
    found = []
    if isinstance(node, dict):
        if isinstance(node.get("enum"), list):
            found.append(("/".join(path), node["enum"], node.get("x-enum-varnames") or []))
        for key, value in node.items():
            if not str(key).startswith("x-") and not (not path and key == "servers"):
                found += _spec_enums(value, (*path, str(key)))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += _spec_enums(value, (*path, str(i)))
    return found


@pytest.mark.parametrize("vendor", VENDORS)
def test_every_spec_enum_has_a_generated_enum_with_all_its_values(vendor: str) -> None:
    """Values whose member names collide (AppSpider "Running" / "Running.." / "Running…") vanish from
    the generated class silently; each spec enum must find a class holding exactly its values."""
    models = importlib.import_module(f"{vendor}_client.models")
    classes = [c for c in vars(models).values() if isinstance(c, type) and issubclass(c, Enum)]
    generated = {frozenset(m.value for m in c) for c in classes}
    enums = _spec_enums(resolved_spec(vendor))
    assert enums
    assert [f"{where}: {values}" for where, values, _ in enums if frozenset(values) not in generated] == []


@pytest.mark.parametrize("vendor", VENDORS)
def test_enum_varnames_name_the_members(vendor: str) -> None:
    models = importlib.import_module(f"{vendor}_client.models")
    classes = [c for c in vars(models).values() if isinstance(c, type) and issubclass(c, Enum)]
    wrong = []
    for where, values, names in _spec_enums(resolved_spec(vendor)):
        if not names:
            continue
        assert len(names) == len(values) == len(set(names)), where
        cls = next(c for c in classes if {m.value for m in c} == set(values))
        wrong += [
            f"{cls.__name__}.{n} != {v!r}" for n, v in zip(names, values, strict=True) if cls[n].value != v
        ]
    assert wrong == []


def test_appspider_scan_status_text_tells_the_dotted_values_apart() -> None:
    from appspider_client.models import ScanStatusText

    assert [ScanStatusText(v).name for v in ("Running", "Running..", "Running…")] == [
        "RUNNING",
        "RUNNING_DOTS",
        "RUNNING_ELLIPSIS",
    ]
    assert all(m.is_known for m in ScanStatusText)


# -- request encodings ----------------------------------------------------------------------------


def _capture(vendor: str, prefix: str, answer: httpx.Response) -> tuple[Any, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        request.read()
        seen.append(request)
        return answer

    package = importlib.import_module(f"{vendor}_client")
    client = package.AuthenticatedClient(
        base_url=BASE_URL,
        token="t0ken",
        prefix=prefix,
        # Advalidation's key travels in its own header (x-scanwire-auth), not in Authorization.
        auth_header_name="X-API-Key" if vendor == "advalidation" else "Authorization",
        httpx_args={"transport": httpx.MockTransport(handler)},
    )
    return client, seen


@dataclass(frozen=True)
class RequestExample:
    """One named request-body example, with the media type it is documented under."""

    vendor: str
    operation_id: str
    media_type: str
    index: int  # position of the media type in `content`: the generated body union follows it
    name: str
    value: Any

    @property
    def id(self) -> str:
        return f"{self.vendor}-{self.operation_id}-{self.name}"


def _request_examples() -> list[RequestExample]:
    cases = []
    for vendor in VENDORS:
        doc = resolved_spec(vendor)
        for _method, _path, op in iter_operations(doc):
            content = (deref(doc, op.get("requestBody")) or {}).get("content") or {}
            for index, (media_type, media) in enumerate(content.items()):
                for name, example in (media.get("examples") or {}).items():
                    value = deref(doc, example)["value"]
                    cases.append(RequestExample(vendor, op["operationId"], media_type, index, name, value))
    return cases


REQUEST_EXAMPLES = _request_examples()
PREFIX = {
    "advalidation": "",
    "invicti": "Basic",
    "appspider": "Basic",
    "threadfix": "APIKEY",
    "soda": "Basic",
}


def test_appspider_form_or_json_operations_have_one_model_per_media_type() -> None:
    doc = resolved_spec("appspider")
    found = {}
    for _method, _path, op in iter_operations(doc):
        content = (deref(doc, op.get("requestBody")) or {}).get("content") or {}
        if len(content) > 1:
            found[op["operationId"]] = [
                (t, m["schema"]["$ref"].rsplit("/", 1)[-1]) for t, m in content.items()
            ]
    form, json_ = "application/x-www-form-urlencoded", "application/json"
    ids = [(form, "ScanIdRequest"), (json_, "ScanIdJsonRequest")]
    run = [(form, "RunScanRequest"), (json_, "RunScanJsonRequest")]
    delete = [(form, "DeleteConfigsRequest"), (json_, "DeleteConfigsJsonRequest")]
    save = [(form, "SaveConfigForm"), ("multipart/form-data", "SaveConfigMultipart")]
    assert found == {
        "runScan": run,
        "cancelScan": ids,
        "pauseScan": ids,
        "resumeScan": ids,
        "stopScan": ids,
        "saveConfig": save,
        "deleteConfigs": delete,
    }


def _dummy(annotation: Any) -> Any:
    return {int: 716, str: "2f9c4e71"}[annotation]


@pytest.mark.parametrize("example", REQUEST_EXAMPLES, ids=[ex.id for ex in REQUEST_EXAMPLES])
def test_request_example_is_sent_as_documented(example: RequestExample) -> None:
    """The body model of each media type goes out in that encoding and only that one: AppSpider's form
    model as a form, its JSON model as JSON, never `data=` and `json=` at once."""
    module = endpoint_module(example.vendor, find_operation(example.vendor, example.operation_id))
    hints = typing.get_type_hints(module.sync_detailed)
    types = [t for t in typing.get_args(hints["body"]) or (hints["body"],) if t.__name__ != "Unset"]
    body_type = types[example.index]
    body = example.value if body_type is str else body_type.from_dict(copy.deepcopy(example.value))
    path_args = [
        _dummy(hints[p.name])
        for p in inspect.signature(module.sync_detailed).parameters.values()
        if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    ]
    client, seen = _capture(example.vendor, PREFIX[example.vendor], httpx.Response(204))
    module.sync_detailed(*path_args, client=client, body=body)

    [request] = seen
    assert request.headers["content-type"].split(";")[0] == example.media_type
    assert request.headers["authorization" if example.vendor != "advalidation" else "x-api-key"] == (
        f"{PREFIX[example.vendor]} t0ken".strip()
    )
    if example.media_type == "application/json":
        documented, sent = example.value, json.loads(request.content)
    elif example.media_type == "multipart/form-data":
        documented = {k: [_form_value(v)] for k, v in example.value.items()}
        sent = {name: [payload.decode()] for name, _, payload in _multipart_parts(request)}
    else:
        assert example.media_type == "application/x-www-form-urlencoded"
        documented = {
            k: [_form_value(x) for x in (v if isinstance(v, list) else [v])] for k, v in example.value.items()
        }
        sent = parse_qs(request.content.decode(), strict_parsing=True)
    assert differences(documented, sent) == []


def _form_value(value: Any) -> str:
    """A value as a form field carries it: text, with JSON's spelling of booleans (`true`)."""
    return json.dumps(value) if isinstance(value, bool) else str(value)


def _multipart_parts(request: httpx.Request) -> list[tuple[Any, Any, Any]]:
    head = b"Content-Type: " + request.headers["content-type"].encode() + b"\r\n\r\n"
    message = email.message_from_bytes(head + request.content, policy=email.policy.HTTP)
    return [
        (
            part.get_param("name", header="content-disposition"),
            part.get_filename(),
            part.get_payload(decode=True),
        )
        for part in message.iter_parts()
    ]


def _upload(payload: bytes) -> list[tuple[Any, Any, Any]]:
    from threadfix_client.api.scans import upload_scan
    from threadfix_client.models import UploadScanRequest
    from threadfix_client.types import File

    started = BY_ID["threadfix-uploadScan-notes-started"].value
    client, seen = _capture("threadfix", "APIKEY", httpx.Response(200, json=started))
    body = UploadScanRequest(
        file=File(payload=io.BytesIO(payload), file_name="contoso.fpr", mime_type="application/zip")
    )
    assert upload_scan.sync_detailed(716, client=client, body=body).status_code == 200
    [request] = seen
    content_type = request.headers["content-type"]
    boundary = content_type.split("boundary=", 1)[1]
    assert request.content.startswith(f"--{boundary}\r\n".encode())
    assert request.content.endswith(f"\r\n--{boundary}--\r\n".encode())
    return _multipart_parts(request)


def test_threadfix_upload_is_one_well_formed_multipart_part() -> None:
    """httpx writes the boundary into the header and the body; the body's part is the file, byte for byte."""
    payload = b"PK\x03\x04 zipped .fpr\r\n--not-a-boundary\r\n\x00\xff" * 100
    assert _upload(payload) == [("file", "contoso.fpr", payload)]


def test_threadfix_upload_of_a_file_containing_the_fixed_boundary() -> None:
    """openapi-python-client 0.29.1 hard-codes `boundary=+++`, which cut this file; our endpoint template
    leaves the header to httpx, whose boundary is random."""
    payload = b"<report>\r\n--+++\r\n</report>"
    assert _upload(payload) == [("file", "contoso.fpr", payload)]


# -- static typing --------------------------------------------------------------------------------

MYPY = Path(sys.executable).parent / "mypy"


@pytest.fixture(scope="session")
def mypy_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache per test process: parallel mypy runs must not write one cache folder at once."""
    return tmp_path_factory.mktemp("mypy-cache")


def mypy(*args: str, cache: Path) -> subprocess.CompletedProcess[str]:
    # --config-file=: the project's mypy config excludes generated/, which would leave `-p` one file to
    # check; without it every run here has the same options and so shares one warm cache.
    command = [str(MYPY), "--config-file=", "--strict", "--no-color-output", "--cache-dir", str(cache), *args]
    return subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=300, check=False)


@pytest.mark.parametrize("vendor", VENDORS)
def test_typed_usage_passes_mypy_strict(vendor: str, mypy_cache: Path) -> None:
    result = mypy(f"tests/typing/{vendor}_usage.py", cache=mypy_cache)
    assert (result.returncode, result.stdout, result.stderr) == (
        0,
        "Success: no issues found in 1 source file\n",
        "",
    )


@pytest.mark.parametrize("vendor", VENDORS)
def test_generated_package_passes_mypy_strict(vendor: str, mypy_cache: Path) -> None:
    result = mypy("-p", f"{vendor}_client", cache=mypy_cache)
    files = sum(1 for _ in (ROOT / "generated" / vendor / f"{vendor}_client").rglob("*.py"))
    assert (result.returncode, result.stdout) == (0, f"Success: no issues found in {files} source files\n")


def test_mypy_rejects_a_wrongly_typed_call(tmp_path: Path, mypy_cache: Path) -> None:
    """The smoke test can fail: the generated signatures carry real types, not Any."""
    usage = tmp_path / "wrong_usage.py"
    usage.write_text(
        "from advalidation_client import Client\n"
        "from advalidation_client.api.scans import get_scan\n\n"
        "get_scan.sync_detailed('300', client=Client(base_url='https://app.advalidation.io/v2'))\n",
        encoding="utf-8",
    )
    result = mypy(str(usage), cache=mypy_cache)
    assert (result.returncode, result.stdout) == (
        1,
        f'{usage}:4: error: Argument 1 to "sync_detailed" has incompatible type "str"; '
        'expected "int"  [arg-type]\n'
        "Found 1 error in 1 file (checked 1 source file)\n",
    )


def test_open_enum__undocumented_value_does_not_clash_with_a_member_named_unknown() -> None:
    # Was <ThreatLevel.UNKNOWN: 'Catastrophic'>: the pseudo-member wore the name of a documented member.
    from invicti_client.models import ThreatLevel

    catastrophic = ThreatLevel("Catastrophic")
    assert (catastrophic.name, catastrophic.value, catastrophic.is_known) == (
        "_UNDOCUMENTED_",
        "Catastrophic",
        False,
    )
    assert ThreatLevel.UNKNOWN.value == "Unknown" and ThreatLevel("Unknown") is ThreatLevel.UNKNOWN
    assert repr(catastrophic) == "<ThreatLevel._UNDOCUMENTED_: 'Catastrophic'>"


def test_vendor_dates__are_datetimes_and_go_back_as_sent() -> None:
    # Were strings and integers: AppSpider's .NET DateTime text, ThreadFix's epoch milliseconds.
    import datetime

    from appspider_client.models import Scan as AppSpiderScan
    from threadfix_client.models import PendingScan

    wire = {
        "Id": "0e6c2b71-9d4a-4c3f-b8e2-6f1a5d7c9b23",
        "StartTime": "2024-04-02T14:11:09.317",
        "StopTime": None,
    }
    scan = AppSpiderScan.from_dict({**_appspider_scan_example(), **wire})
    assert scan.start_time == datetime.datetime(2024, 4, 2, 14, 11, 9, 317000) and scan.stop_time is None
    assert scan.to_dict()["StartTime"] == "2024-04-02T14:11:09.317" and scan.to_dict()["StopTime"] is None
    pending = PendingScan.from_dict(_threadfix_pending_example())
    assert pending.time == datetime.datetime(2019, 10, 3, 15, 49, 33, tzinfo=datetime.UTC)
    assert pending.to_dict()["time"] == 1570117773000
    pending.time = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)  # set in code: the vendor's format
    assert pending.to_dict()["time"] == 1577836800000


def _appspider_scan_example() -> dict[str, Any]:
    from helpers.generation import response_examples

    body = next(
        e.value for e in response_examples(("appspider",)) if e.operation_id == "getScans" and e.status == 200
    )
    return dict(body["Scans"][0])


def _threadfix_pending_example() -> dict[str, Any]:
    from helpers.generation import response_examples

    return dict(
        next(
            e.value["object"]
            for e in response_examples(("threadfix",))
            if e.operation_id == "getPendingScanStatus"
            and e.value.get("object")
            and e.value["object"]["time"] == 1570117773000
        )
    )
