"""The vendor specs: valid OpenAPI 3.1, lint clean, examples that validate, security, servers, provenance."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest
from helpers.seeds import LAYOUT, NOTES_FILES, SEED_FILES, SERVER_PREFIXES, section_problems, shared_spec
from openapi_schema_validator import OAS31Validator, oas31_format_checker
from openapi_spec_validator import OpenAPIV31SpecValidator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from scanwire import VENDORS
from scanwire.resolve import resolve_vendor
from scanwire.specs import check_examples, check_spec, iter_examples, iter_operations, openapi_errors

per_vendor = pytest.mark.parametrize("vendor", VENDORS)


# -- validity and lint ---------------------------------------------------------------------------------


@per_vendor
def test_resolve_vendor__reports_no_problem(vendor: str) -> None:
    lay = LAYOUT
    spec = resolve_vendor(lay, vendor)  # raises SourceError (file:line: problem) on any problem
    assert [str(p) for p in check_spec(spec, lay)] == []


@per_vendor
def test_spec__is_openapi_3_1_before_and_after_overlays(vendor: str) -> None:
    spec = shared_spec(vendor)
    assert spec.doc["openapi"] == "3.1.0"
    assert spec.resolved is not None
    # straight from openapi-spec-validator, so a wrapper that swallowed errors would not hide them
    for doc in (spec.doc, spec.resolved):
        assert [e.message for e in OpenAPIV31SpecValidator(doc).iter_errors()] == []
        assert list(openapi_errors(doc)) == []


@per_vendor
def test_openapi_errors__reports_a_response_without_description(vendor: str) -> None:
    doc = copy.deepcopy(shared_spec(vendor).doc)
    method, path, op = next(iter_operations(doc))
    code = next(iter(op["responses"]))
    op["responses"][code] = {"content": {}}  # a Response Object must have a description
    errors = list(openapi_errors(doc))
    assert errors, f"{method} {path} {code} without description passed openapi_errors"
    parts, message = errors[0]
    assert [str(p) for p in parts] == ["paths", path, method.lower(), "responses", str(code)]
    assert message == '"description" is a required property'


# -- examples ------------------------------------------------------------------------------------------


def _named_examples(node: Any, parts: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any, Any]]:
    """(parts, value, schema) of every `examples` entry beside a `schema` — walked here, not by scanwire."""
    if isinstance(node, dict):
        if "schema" in node and isinstance(node.get("examples"), dict):
            for name, example in node["examples"].items():
                yield (*parts, "examples", name), example["value"], node["schema"]
        for key, value in node.items():
            yield from _named_examples(value, (*parts, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _named_examples(value, (*parts, i))


def _validator(doc: dict[str, Any], schema: Any) -> OAS31Validator:
    """A validator for `schema` whose local `$ref`s resolve against `doc` (the schema is parked in it)."""
    doc["x-test-schema"] = schema
    registry: Registry[Any] = Registry().with_resource(
        "urn:test:spec", Resource.from_contents(doc, default_specification=DRAFT202012)
    )
    return OAS31Validator(
        {"$ref": "urn:test:spec#/x-test-schema"}, registry=registry, format_checker=oas31_format_checker
    )


@per_vendor
def test_examples__validate_against_the_overlaid_spec_with_formats(vendor: str) -> None:
    doc = copy.deepcopy(shared_spec(vendor).resolved)
    assert doc is not None
    found = list(_named_examples(doc))
    assert len(found) == sum(1 for _ in iter_examples(doc)), "iter_examples misses or invents examples"
    assert len(found) >= 2
    failures = []
    for parts, value, schema in found:
        error = jsonschema.exceptions.best_match(_validator(doc, schema).iter_errors(value))
        if error is not None:
            at = "/".join(str(p) for p in error.absolute_path) or "(root)"
            failures.append(f"{'/'.join(str(p) for p in parts)} at {at}: {error.message}")
    assert failures == []


# One example per vendor, one field of it made invalid, and the JSON path the checker must report.
MUTATIONS: dict[str, tuple[str, str, str, tuple[str, ...], Any]] = {
    "advalidation": ("/scans/{scanId}", "get", "notes-finished", ("data", "id"), "three hundred"),
    "invicti": ("/api/1.0/scans/status/{id}", "get", "notes-complete", ("CompletedSteps",), "many"),
    "appspider": ("/Scan/GetScanStatus", "get", "seed-completed", ("IsSuccess",), "yes"),
    "threadfix": (
        "/applications/{appId}/pendingScan/{pendingScanId}/status",
        "get",
        "seed",
        ("object", "modifiedDate"),
        "yesterday",
    ),
    "soda": ("/api/v1/scans/{scanId}", "get", "notes-queuing", ("state",), "paused"),
}


def _first_line(lines: list[str], start: int, pattern: str) -> int:
    """0-based index of the first line at or after `start` matching `pattern`."""
    return next(i for i in range(start, len(lines)) if re.fullmatch(pattern, lines[i]))


@per_vendor
def test_check_examples__reports_a_broken_example_at_its_line(vendor: str) -> None:
    path, method, name, field, bad = MUTATIONS[vendor]
    lay = LAYOUT
    spec = resolve_vendor(lay, vendor)
    assert spec.resolved is not None
    example = spec.resolved["paths"][path][method]["responses"]["200"]["content"]["application/json"]
    value = example["examples"][name]["value"]
    for key in field[:-1]:
        value = value[key]
    assert field[-1] in value
    value[field[-1]] = bad

    problems = list(check_examples(spec, lay))

    lines = spec.source.text.splitlines()
    at = _first_line(lines, 0, rf"  {re.escape(path)}:")
    at = _first_line(lines, at, rf"    {method}:")
    at = _first_line(lines, at, r"\s+examples:")
    at = _first_line(lines, at, rf"\s+{re.escape(name)}:")
    assert len(problems) == 1, [str(p) for p in problems]
    problem = problems[0]
    assert problem.rule == "example"
    assert problem.file == spec.path
    assert problem.line == at + 2  # the first line of the example's body, just below its name
    assert problem.message.startswith(f"example {name!r} does not match its schema at {'/'.join(field)}: ")
    assert repr(bad) in problem.message
    assert [str(p) for p in check_spec(spec, lay)] == [str(problem)]


@per_vendor
def test_examples__are_keyed_and_sourced_by_origin(vendor: str) -> None:
    """spec-conventions: `seed`/`seed-<what>` cite the vendor's seed, `notes-<what>` cite vendor-notes.md."""
    doc = shared_spec(vendor).doc
    wrong = []
    for parts, _, _ in _named_examples(doc):
        node: Any = doc
        for part in parts:
            node = node[part]
        name = parts[-1]
        files = {str(s.get("file")) for s in _sources(node.get("x-source")) if isinstance(s, dict)}
        if not re.fullmatch(r"seed(-[a-z0-9-]+)?|notes-[a-z0-9-]+", name):
            wrong.append(f"{'/'.join(map(str, parts))}: key is neither seed[-<what>] nor notes-<what>")
        elif name.startswith("seed") and SEED_FILES[vendor] not in files:
            wrong.append(f"{'/'.join(map(str, parts))}: a seed example whose x-source names {sorted(files)}")
        elif name.startswith("notes") and not files & set(NOTES_FILES):
            wrong.append(f"{'/'.join(map(str, parts))}: a notes example whose x-source names {sorted(files)}")
    assert wrong == []


# -- security and servers ------------------------------------------------------------------------------

SECURITY: dict[str, tuple[str, dict[str, str], str]] = {
    # vendor: (scheme fields that must match, words its description must contain)
    "advalidation": ("apiKey", {"type": "apiKey", "in": "header", "name": "X-API-Key"}, "X-API-Key: <key>"),
    "invicti": ("basic", {"type": "http", "scheme": "basic"}, "USERID:API-TOKEN"),
    "appspider": (
        "AppSpiderToken",
        {"type": "apiKey", "in": "header", "name": "Authorization"},
        "Authorization: Basic <Token>",
    ),
    "threadfix": (
        "apiKeyHeader",
        {"type": "apiKey", "in": "header", "name": "Authorization"},
        "APIKEY <key>",
    ),
    "soda": ("basicAuthApiKey", {"type": "http", "scheme": "basic"}, "API key id"),
}

# Operations whose security differs from the document's (spec-conventions: only where it differs).
SECURITY_OVERRIDES: dict[str, dict[str, list[Any]]] = {"appspider": {"POST /Authentication/Login": []}}


@per_vendor
def test_security__is_the_vendor_scheme(vendor: str) -> None:
    doc = shared_spec(vendor).doc
    name, fields, words = SECURITY[vendor]
    schemes = doc["components"]["securitySchemes"]
    assert list(schemes) == [name]
    assert {k: schemes[name].get(k) for k in fields} == fields
    assert words in schemes[name]["description"]
    assert doc["security"] == [{name: []}]
    overrides = {f"{m} {p}": op["security"] for m, p, op in iter_operations(doc) if "security" in op}
    assert overrides == SECURITY_OVERRIDES.get(vendor, {})


def test_check_spec__reports_a_security_requirement_without_a_scheme() -> None:
    spec = resolve_vendor(LAYOUT, "threadfix")
    spec.source.data["security"] = [{"noSuchScheme": []}]
    messages = [p.message for p in check_spec(spec, LAYOUT)]
    assert any("noSuchScheme" in m for m in messages), messages


SERVERS: dict[str, list[tuple[str, dict[str, str]]]] = {
    # vendor: [(url, {variable: default})]
    "advalidation": [("https://app.advalidation.io/v2", {}), ("https://app.advalidation.com/v2", {})],
    "invicti": [("https://{host}", {"host": "www.netsparkercloud.com"})],
    "appspider": [
        (
            "{scheme}://{servername}/AppSpiderEnterprise/rest/v1",
            {"scheme": "https", "servername": "appspider.example.com"},
        )
    ],
    "threadfix": [
        (
            "{scheme}://{host}/threadfix/rest/{version}",
            {"scheme": "http", "host": "localhost:8080", "version": "latest"},
        )
    ],
    "soda": [("https://cloud.soda.io", {}), ("https://cloud.us.soda.io", {})],
}


@per_vendor
def test_servers__carry_host_variables_and_prefix(vendor: str) -> None:
    servers = shared_spec(vendor).doc["servers"]
    found = [(s["url"], {k: v["default"] for k, v in (s.get("variables") or {}).items()}) for s in servers]
    assert found == SERVERS[vendor]
    for server in servers:
        variables = server.get("variables") or {}
        assert set(re.findall(r"\{(\w+)\}", server["url"])) == set(variables)
        for var in variables.values():
            assert "enum" not in var or var["default"] in var["enum"]
        if vendor in SERVER_PREFIXES:
            assert server["url"].endswith(SERVER_PREFIXES[vendor])
    if vendor == "soda":
        assert [s["description"] for s in servers] == ["Cloud EU", "Cloud US"]


# -- provenance ----------------------------------------------------------------------------------------


def _sources(raw: Any) -> list[Any]:
    return raw if isinstance(raw, list) else [raw]


def _source_problems(vendor: str, src: Any, *, locators: bool) -> list[str]:
    if not isinstance(src, dict) or not src.get("file") or not src.get("section"):
        return [f"x-source {src!r} needs file and section"]
    file, section, tag = src["file"], src["section"], src.get("tag")
    if file in NOTES_FILES:
        if tag not in ("FACT", "INFERENCE"):
            return [f"{file} source {section!r} has tag {tag!r}, not FACT or INFERENCE"]
    elif file != SEED_FILES[vendor]:
        return [f"{file!r} is not the {vendor} seed ({SEED_FILES[vendor]}) nor vendor-notes.md"]
    elif tag is not None:
        return [f"seed source {section!r} carries tag {tag!r} (tags are for vendor-notes.md only)"]
    return [f"{file} § {section!r}: {p}" for p in section_problems(file, section, locators=locators)]


@per_vendor
def test_operations__cite_a_section_that_occurs_in_the_source(vendor: str) -> None:
    problems = []
    for method, path, op in iter_operations(shared_spec(vendor).doc):
        if "x-source" not in op:
            problems.append(f"{method} {path}: no x-source")
        for src in _sources(op.get("x-source")):
            problems += [f"{method} {path}: {p}" for p in _source_problems(vendor, src, locators=True)]
    assert problems == []


def _all_sources(node: Any, parts: tuple[Any, ...] = ()) -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "x-source":
                for src in _sources(value):
                    yield "/".join(str(p) for p in parts), src
            else:
                yield from _all_sources(value, (*parts, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _all_sources(value, (*parts, i))


@per_vendor
def test_every_x_source__names_its_document_and_entry(vendor: str) -> None:
    """Examples, schemas and the lifecycle too; for seeds only the entry heading is required to match,
    the rest of the section being a pointer into a table ("Response Messages 400 ScanNotFound")."""
    found = list(_all_sources(shared_spec(vendor).doc))
    assert len(found) > len(list(iter_operations(shared_spec(vendor).doc)))
    problems = [
        f"{where}: {p}" for where, src in found for p in _source_problems(vendor, src, locators=False)
    ]
    assert problems == []


@per_vendor
def test_section_problems__rejects_sections_that_do_not_occur(vendor: str) -> None:
    seed = SEED_FILES[vendor]
    assert section_problems(seed, "Quarterly revenue forecast") == [
        f"'Quarterly revenue forecast' does not occur in {seed}"
    ]
    number = VENDORS.index(vendor) + 1
    heading = {
        1: "Advalidation",
        2: "Invicti",
        3: "Rapid7 AppSpider Enterprise",
        4: "ThreadFix 2.x",
        5: "Soda",
    }
    section = f"{number}. {heading[number]} — Billing and invoices"
    assert section_problems("vendor-notes.md", section) != []
    assert section_problems("vendor-notes.md", f"{number}. {heading[number]} — Lifecycle") == []
    assert section_problems("vendor-notes.md", "9. Nobody — Lifecycle") != []


def test_check_examples__soda_examples_hold_only_against_the_overlaid_spec() -> None:
    """Soda's `type: object` beside `$ref` to a string enum cannot be satisfied as written; the overlay
    removes it, and check_examples must use the overlaid document (spec-conventions, Examples)."""
    spec = resolve_vendor(LAYOUT, "soda")
    assert list(check_examples(spec, LAYOUT)) == []
    spec.resolved = None  # as written, without overlays
    messages = {p.message for p in check_examples(spec, LAYOUT)}
    assert (
        "example 'notes-queuing' does not match its schema at state: 'queuing' is not of type 'object'"
        in messages
    )
    assert all(" at state: " in m or " at content/" in m or " at checks/" in m for m in messages), messages


# -- the validation cache (scanwire.specs.VALIDATION_CACHE) -------------------------------------------


def test_openapi_errors__cache_remembers_valid_documents_only(tmp_path: Any, monkeypatch: Any) -> None:
    import openapi_spec_validator

    from scanwire import specs

    monkeypatch.setattr(specs, "_KNOWN_VALID", set())  # what generate_vendor learnt from stamps elsewhere
    valid = copy.deepcopy(shared_spec("soda").resolved)
    assert valid is not None
    invalid = copy.deepcopy(valid)
    _method, _path, op = next(iter_operations(invalid))
    op["responses"][next(iter(op["responses"]))] = {"content": {}}
    cache = tmp_path / "cache"
    assert list(openapi_errors(valid, cache)) == [] and len(list(cache.iterdir())) == 1
    assert list(openapi_errors(invalid, cache)) and len(list(cache.iterdir())) == 1

    calls: list[int] = []
    real = openapi_spec_validator.OpenAPIV31SpecValidator

    def counting(doc: Any) -> Any:
        calls.append(1)
        return real(doc)

    monkeypatch.setattr(openapi_spec_validator, "OpenAPIV31SpecValidator", counting)
    assert list(openapi_errors(valid, cache)) == [] and calls == []  # known valid: not validated again
    assert list(openapi_errors(invalid, cache)) and calls == [1]  # errors are never taken from the cache
    changed = copy.deepcopy(valid)
    changed["info"]["title"] += " (changed)"
    assert list(openapi_errors(changed, cache)) == [] and calls == [1, 1]  # another document
    assert list(openapi_errors(valid, None)) == [] and calls == [1, 1, 1]  # no cache given


def test_served_spec_puts_back_the_bodies_the_generator_did_not_see() -> None:
    from scanwire.specs import served_spec

    doc = {
        "paths": {
            "/up": {
                "post": {
                    "requestBody": {
                        "content": {"application/json": {"schema": {"type": "object"}}},
                        "x-scanwire-not-generated": {"text/plain": {"schema": {"type": "string"}}},
                    }
                },
                "get": {"requestBody": {"content": {"application/json": {}}}},
            }
        }
    }
    served = served_spec(doc)
    assert list(served["paths"]["/up"]["post"]["requestBody"]["content"]) == [
        "application/json",
        "text/plain",
    ]
    assert list(served["paths"]["/up"]["get"]["requestBody"]["content"]) == ["application/json"]
    # The resolved Advalidation spec: the generator's copy has no text/plain upload, the served one has.
    from scanwire.paths import layout
    from scanwire.yamlio import loads_yaml

    resolved = loads_yaml(layout().resolved("advalidation").read_text(encoding="utf-8"))
    upload = resolved["paths"]["/campaigns/{campaignId}/creatives"]["post"]["requestBody"]
    assert "text/plain" not in upload["content"]
    assert (
        "text/plain"
        in served_spec(resolved)["paths"]["/campaigns/{campaignId}/creatives"]["post"]["requestBody"][
            "content"
        ]
    )
