"""The JSON in the seeds against the specs: payloads validate, vendor schemas are transcribed faithfully."""

from __future__ import annotations

import copy
import re
from fnmatch import fnmatch
from typing import Any

import pytest
from helpers.seeds import (
    LAYOUT,
    AppSpiderBlob,
    appspider_blobs,
    invicti_detail_example,
    json_types,
    resolve_ref,
    schema_properties,
    schema_required,
    shared_spec,
    soda_fragments,
    spec_response_schema,
    threadfix_sample_output,
)
from openapi_schema_validator import OAS31Validator, oas31_format_checker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from scanwire.yamlio import load_yaml


def _errors(doc: dict[str, Any], schema: Any, value: Any) -> list[str]:
    """Validation errors of `value` against `schema` (local refs resolved in `doc`), formats checked."""
    doc = copy.deepcopy(doc)
    doc["x-test-schema"] = schema
    registry: Registry[Any] = Registry().with_resource(
        "urn:test:spec", Resource.from_contents(doc, default_specification=DRAFT202012)
    )
    validator = OAS31Validator(
        {"$ref": "urn:test:spec#/x-test-schema"}, registry=registry, format_checker=oas31_format_checker
    )
    return [
        f"{'/'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message}"
        for e in sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))
    ]


def _resolved(vendor: str) -> dict[str, Any]:
    doc = shared_spec(vendor).resolved
    assert doc is not None
    return doc


def _example(doc: dict[str, Any], method: str, path: str, name: str) -> Any:
    media = doc["paths"][path][method]["responses"]["200"]["content"]["application/json"]
    return media["examples"][name]["value"]


# -- Invicti: the captured 200 of GET /api/1.0/scans/detail/{id} ---------------------------------------

INVICTI_DETAIL = "/api/1.0/scans/detail/{id}"


def test_invicti_seed__json_body_validates_as_scan_detail_200() -> None:
    captured = invicti_detail_example()
    assert (captured["status_code"], captured["reason"]) == (200, "OK")
    doc = _resolved("invicti")
    assert _errors(doc, spec_response_schema(doc, "GET", INVICTI_DETAIL), captured["json_body"]) == []


def test_invicti_seed__json_body_is_the_spec_seed_example() -> None:
    assert (
        _example(shared_spec("invicti").doc, "get", INVICTI_DETAIL, "seed")
        == invicti_detail_example()["json_body"]
    )


def test_invicti_seed__json_body_has_the_96_scan_task_model_properties_in_order() -> None:
    body = invicti_detail_example()["json_body"]
    doc = shared_spec("invicti").doc
    model = resolve_ref(doc, spec_response_schema(doc, "GET", INVICTI_DETAIL))
    assert len(body) == 96
    assert list(model["properties"]) == list(body)


def test_invicti_seed__response_headers_are_the_spec_headers() -> None:
    seed_headers: dict[str, str] = invicti_detail_example()["response_headers"]
    doc = shared_spec("invicti").doc
    declared = doc["paths"][INVICTI_DETAIL]["get"]["responses"]["200"]["headers"]
    assert list(declared) == list(seed_headers)
    values = {
        name: resolve_ref(doc, header)["examples"]["seed"]["value"] for name, header in declared.items()
    }
    assert values == seed_headers


# -- ThreadFix: the "Sample Output" of the pending-scan status -----------------------------------------

THREADFIX_STATUS = "/applications/{appId}/pendingScan/{pendingScanId}/status"


def test_threadfix_seed__sample_output_validates_as_status_200() -> None:
    sample = threadfix_sample_output()
    assert sample["object"]["status"] == "DONE"
    doc = _resolved("threadfix")
    assert _errors(doc, spec_response_schema(doc, "GET", THREADFIX_STATUS), sample) == []


def test_threadfix_seed__sample_output_is_the_spec_seed_example() -> None:
    assert (
        _example(shared_spec("threadfix").doc, "get", THREADFIX_STATUS, "seed") == threadfix_sample_output()
    )


def test_seed_payloads__fail_when_a_field_has_the_wrong_type() -> None:
    """The validation above can fail: the same payloads with one field broken are rejected."""
    sample = threadfix_sample_output()
    sample["success"] = "true"
    doc = _resolved("threadfix")
    assert _errors(doc, spec_response_schema(doc, "GET", THREADFIX_STATUS), sample) == [
        "success: 'true' is not of type 'boolean'"
    ]
    body = invicti_detail_example()["json_body"]
    body["State"] = 3
    doc = _resolved("invicti")
    errors = _errors(doc, spec_response_schema(doc, "GET", INVICTI_DETAIL), body)
    assert errors and all(e.startswith("State: ") for e in errors)


# -- Soda: three embedded OpenAPI 3.1 fragments are vendor schemas; the spec must keep all of them -----

SODA_TITLES = ["Get scan status", "Cancel a scan", "Get scan logs"]
_SHAPE_KEYS = ("type", "format", "$ref")


def _shape(schema: dict[str, Any]) -> dict[str, Any]:
    """What a vendor schema says about a value's type: type, format, $ref, and the same of its items."""
    out = {k: schema[k] for k in _SHAPE_KEYS if k in schema}
    if "items" in schema:
        out["items"] = _shape(schema["items"])
    return out


def _soda_unfaithful(fragment: dict[str, Any], ours: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    schemas = ours["components"]["schemas"]
    for name, vendor in fragment["components"]["schemas"].items():
        if name not in schemas:
            problems.append(f"schema {name} missing")
            continue
        mine = schemas[name]
        if vendor.get("type") != mine.get("type"):
            problems.append(f"{name}: type {mine.get('type')!r}, vendor {vendor.get('type')!r}")
        missing_enum = [v for v in vendor.get("enum", []) if v not in mine.get("enum", [])]
        if missing_enum:
            problems.append(f"{name}: enum lacks {missing_enum}")
        if set(vendor.get("required", [])) != set(mine.get("required", [])):
            problems.append(f"{name}: required {mine.get('required')}, vendor {vendor.get('required')}")
        for prop, vprop in (vendor.get("properties") or {}).items():
            mprop = (mine.get("properties") or {}).get(prop)
            if mprop is None:
                problems.append(f"{name}.{prop} missing")
            elif _shape(vprop) != _shape(mprop):
                problems.append(f"{name}.{prop}: {_shape(mprop)}, vendor {_shape(vprop)}")
    for scheme, body in fragment["components"]["securitySchemes"].items():
        mine = ours["components"]["securitySchemes"].get(scheme) or {}
        if {k: mine.get(k) for k in body} != body:
            problems.append(f"security scheme {scheme}: {mine}, vendor {body}")
    if fragment["security"] != ours["security"]:
        problems.append(f"security {ours['security']}, vendor {fragment['security']}")
    if [(s["url"], s["description"]) for s in fragment["servers"]] != [
        (s["url"], s.get("description")) for s in ours["servers"]
    ]:
        problems.append(f"servers {ours['servers']}, vendor {fragment['servers']}")
    for tag in fragment["tags"]:
        if tag not in ours["tags"]:
            problems.append(f"tag {tag} missing")
    for path, item in fragment["paths"].items():
        for method, vop in item.items():
            where = f"{method.upper()} {path}"
            mop = (ours["paths"].get(path) or {}).get(method)
            if mop is None:
                problems.append(f"{where} missing")
                continue
            for key in ("operationId", "summary", "description", "tags"):
                if vop.get(key) != mop.get(key):
                    problems.append(f"{where}: {key} differs from the vendor's")
            mparams = {
                (p["name"], p["in"]): p for p in (resolve_ref(ours, p) for p in mop.get("parameters", []))
            }
            for vparam in vop.get("parameters", []):
                mparam = mparams.get((vparam["name"], vparam["in"]))
                if mparam is None:
                    problems.append(f"{where}: parameter {vparam['in']}.{vparam['name']} missing")
                    continue
                if vparam.get("required", False) != mparam.get("required", False):
                    problems.append(f"{where}: parameter {vparam['name']} required differs")
                if _shape(vparam["schema"]) != _shape(mparam["schema"]):
                    problems.append(f"{where}: parameter {vparam['name']} schema {_shape(mparam['schema'])}")
            for code, vresp in vop["responses"].items():
                mresp = resolve_ref(ours, mop["responses"].get(code)) if code in mop["responses"] else None
                if mresp is None:
                    problems.append(f"{where}: response {code} missing")
                    continue
                if vresp["description"] not in (mresp.get("description") or ""):  # ours may add detail
                    problems.append(f"{where} {code}: description {mresp.get('description')!r}")
                for media, vcontent in (vresp.get("content") or {}).items():
                    mcontent = (mresp.get("content") or {}).get(media)
                    if mcontent is None or _shape(vcontent["schema"]) != _shape(mcontent["schema"]):
                        problems.append(f"{where} {code}: {media} schema differs or missing")
                for header in vresp.get("headers") or {}:
                    if header not in (mresp.get("headers") or {}):
                        problems.append(f"{where} {code}: header {header} missing")
    return problems


def test_soda_seed__has_three_fragments_one_per_section() -> None:
    fragments = soda_fragments()
    assert [
        op["summary"] for f in fragments for item in f["paths"].values() for op in item.values()
    ] == SODA_TITLES
    assert all(f["openapi"] == "3.1.0" for f in fragments)


@pytest.mark.parametrize("index", range(3), ids=[t.lower().replace(" ", "-") for t in SODA_TITLES])
def test_soda_seed__fragment_is_transcribed_faithfully(index: int) -> None:
    fragment = soda_fragments()[index]
    assert _soda_unfaithful(fragment, shared_spec("soda").doc) == []


def test_soda_faithfulness__notices_a_dropped_enum_value_and_property() -> None:
    ours = copy.deepcopy(shared_spec("soda").doc)
    ours["components"]["schemas"]["ScanStateDTO"]["enum"].remove("started")
    del ours["components"]["schemas"]["PublicApiScanStatusResponse"]["properties"]["runnerId"]
    ours["paths"]["/api/v1/scans/{scanId}"]["get"]["responses"].pop("429")
    assert _soda_unfaithful(soda_fragments()[0], ours) == [
        "PublicApiScanStatusResponse.runnerId missing",
        "ScanStateDTO: enum lacks ['started']",
        "GET /api/v1/scans/{scanId}: response 429 missing",
    ]


def test_soda_notes__name_the_overlay_that_strips_type_object() -> None:
    overlays = {p.name: load_yaml(p).data for p in sorted(LAYOUT.overlays("soda").glob("*.yaml"))}
    schemas = shared_spec("soda").doc["components"]["schemas"]
    wrong = []
    for name, schema in schemas.items():
        for prop, body in (schema.get("properties") or {}).items():
            if "x-note" not in body or body.get("type") != "object" or "$ref" not in body:
                continue
            target = f"$.components.schemas.{name}.properties.{prop}.type"
            removers = [
                file
                for file, overlay in overlays.items()
                for action in overlay.get("actions") or []
                if action.get("target") == target and action.get("remove") is True
            ]
            named = re.findall(r"overlays/soda/([\w*.-]+)", body["x-note"]["spec"])
            if not named or not any(fnmatch(file, glob) for file in removers for glob in named):
                wrong.append(f"{name}.{prop}: x-note names {named}, removed by {removers}")
    assert wrong == []


# -- AppSpider: the "Response example" blobs are draft-03-ish schemas, four of them invalid JSON --------

# vendor-notes §3 doc defects: "the three GetScans blobs and the GetScanErrors blob are not valid JSON"
APPSPIDER_INVALID = ["GetScans#0", "GetScans#1", "GetScans#2", "GetScanErrors"]


def test_appspider_seed__invalid_blobs_are_the_ones_vendor_notes_name() -> None:
    blobs = appspider_blobs()
    # every documented operation but RunScan and GetScanStatuses has one; GetScans has three
    assert len(blobs) == 17
    assert [b.label for b in blobs if b.parsed is None] == APPSPIDER_INVALID


def test_appspider_seed__paged_getscans_blob_has_one_extra_closing_brace() -> None:
    paged = next(b for b in appspider_blobs() if b.label == "GetScans#2")
    assert (paged.text.count("{"), paged.text.count("}")) == (35, 36)  # vendor-notes §3 doc defects


def test_appspider_seed__getscanerrors_blob_also_has_an_extra_closing_brace() -> None:
    """Not in vendor-notes §3: the `Events` object closes the top-level `properties` one brace early."""
    errors = next(b for b in appspider_blobs() if b.label == "GetScanErrors")
    assert (errors.text.count("{"), errors.text.count("}")) == (10, 11)
    assert '"additionalProperties": flase' in errors.text
    assert errors.error is not None and errors.error.startswith("Extra data: line 35 ")


def _blob_properties(node: Any) -> dict[str, dict[str, Any]]:
    return dict((node or {}).get("properties") or {})


def _blob_unfaithful(blob: AppSpiderBlob, doc: dict[str, Any]) -> list[str]:
    item = doc["paths"][blob.path]
    method = blob.method.lower() if blob.method else next(iter(m for m in item if not m.startswith("x-")))
    schema = spec_response_schema(doc, method, blob.path)
    props = schema_properties(doc, schema)
    required = schema_required(doc, schema)
    problems = []
    for name, vprop in _blob_properties(blob.parsed).items():
        if name not in props:
            problems.append(f"{blob.label}: property {name} missing from the 200 schema")
            continue
        if vprop.get("required") is True and name not in required:
            problems.append(f"{blob.label}: {name} is required in the document, not in the spec")
        vtypes = {vprop["type"]} if isinstance(vprop["type"], str) else set(vprop["type"])
        mtypes = json_types(doc, props[name])
        if not vtypes <= mtypes:
            problems.append(f"{blob.label}: {name} types {sorted(mtypes)}, document {sorted(vtypes)}")
    return problems


@pytest.mark.parametrize(
    "label", [b.label for b in appspider_blobs() if b.parsed is not None], ids=lambda label: label
)
def test_appspider_seed__valid_blob_properties_are_in_the_response_schema(label: str) -> None:
    blob = next(b for b in appspider_blobs() if b.label == label)
    assert _blob_properties(blob.parsed), f"{label}: blob lists no properties"
    assert _blob_unfaithful(blob, shared_spec("appspider").doc) == []


def _schema_names(doc: dict[str, Any], schema: Any, seen: set[int] | None = None) -> set[str]:
    """Every property name reachable from a schema (properties, items, combinators, refs)."""
    seen = seen if seen is not None else set()
    schema = resolve_ref(doc, schema) if isinstance(schema, dict) and "$ref" in schema else schema
    if not isinstance(schema, dict) or id(schema) in seen:
        return set()
    seen.add(id(schema))
    names = set(schema.get("properties") or {})
    subs = [*(schema.get("properties") or {}).values(), schema.get("items")]
    for key in ("allOf", "anyOf", "oneOf"):
        subs += schema.get(key) or []
    for sub in subs:
        names |= _schema_names(doc, sub, seen)
    return names


@pytest.mark.parametrize("label", APPSPIDER_INVALID, ids=lambda label: label)
def test_appspider_seed__invalid_blob_field_names_are_in_the_response_schema(label: str) -> None:
    """The invalid blobs cannot be parsed, but their quoted field names can still be read and checked."""
    blob = next(b for b in appspider_blobs() if b.label == label)
    keywords = {"type", "properties", "items", "required", "additionalProperties"}
    fields = set(re.findall(r'"(\w+)"\s*:\s*\{', blob.text)) - keywords
    assert "IsSuccess" in fields
    doc = shared_spec("appspider").doc
    method = (blob.method or "GET").lower()
    assert sorted(fields - _schema_names(doc, spec_response_schema(doc, method, blob.path))) == []


def test_appspider_faithfulness__notices_a_dropped_property_and_a_lost_null() -> None:
    doc = copy.deepcopy(shared_spec("appspider").doc)
    status = next(b for b in appspider_blobs() if b.label == "GetScanStatus")
    api = doc["components"]["schemas"]["ApiResponse"]
    api["properties"]["ErrorMessage"]["type"] = "string"
    api["required"].remove("Reason")
    del doc["components"]["schemas"]["ScanStatusResponse"]["allOf"][1]["properties"]["Status"]
    assert _blob_unfaithful(status, doc) == [
        "GetScanStatus: property Status missing from the 200 schema",
        "GetScanStatus: ErrorMessage types ['string'], document ['null', 'string']",
        "GetScanStatus: Reason is required in the document, not in the spec",
    ]
