"""The compiled request check (core/fastcheck.py) against openapi-core, on every operation it takes.

For every vendor and every operation that qualifies, requests are built from the spec's own examples,
defaults and enums and from awkward values (signed, empty, out of range, percent-encoded, repeated,
missing): whenever the compiled check says "valid", openapi-core must say so too, with the same typed
path and query values. When it is not sure it says nothing and openapi-core decides.
"""

from __future__ import annotations

import itertools
from typing import Any
from urllib.parse import quote

import pytest
from starlette.requests import Request

from conformance.emulators.core import build_emulator
from conformance.emulators.core.fastcheck import _inline, _resolve

VENDORS = ("advalidation", "invicti", "appspider", "threadfix", "soda")
AWKWARD = ["0", "1", "2", "20", "200", "201", "-1", "+2", "1_0", " 1", "abc", "", "true", "false",
           "87be9df1-9f81-46e9-e860-b13b04474ccc", "87BE9DF1-9F81-46E9-E860-B13B04474CCC",
           "5d0b3e2a-8c41-4f6e-9a27-1b3c9e4f7a10", "not-a-guid", "x%2Fy", "99999999999"]  # fmt: skip


def _spec_values(spec: dict[str, Any], param: dict[str, Any]) -> list[str]:
    """The parameter's enum values, default and examples, as text."""
    schema = _inline(spec, param.get("schema")) or {}
    items = schema.get("items", schema) if isinstance(schema, dict) else {}
    found: list[Any] = []
    for source in (param, schema, items):
        if not isinstance(source, dict):
            continue
        found += list(source.get("enum") or [])
        if "default" in source:
            found.append(source["default"])
        examples = source.get("examples")
        if isinstance(examples, dict):
            found += [e.get("value") for e in examples.values() if isinstance(e, dict)]
        elif isinstance(examples, list):
            found += examples
    out = []
    for value in found:
        for one in value if isinstance(value, list) else [value]:
            text = str(one).lower() if isinstance(one, bool) else str(one)
            if text not in out:
                out.append(text)
    return out


def _requests(
    spec: dict[str, Any], path: str, params: list[dict[str, Any]]
) -> list[tuple[dict[str, str], str]]:
    """(path parameters, query string) cases: each parameter through its candidates, the others at a
    baseline; each optional one missing; a repeated query parameter."""
    known = {(p["name"], p["in"]): _spec_values(spec, p) for p in params}
    options = {key: values + [a for a in AWKWARD if a not in values] for key, values in known.items()}
    # The baseline: required parameters at the spec's first value, optional ones left out.
    required = {(p["name"], p["in"]) for p in params if p.get("required") or p["in"] == "path"}
    valid_first: dict[tuple[str, str], str | None] = {
        key: (values[0] if values else "1") if key in required else None for key, values in known.items()
    }
    cases = []

    def build(
        values: dict[tuple[str, str], str | None], repeat: str | None = None
    ) -> tuple[dict[str, str], str]:
        path_params = {n: v for (n, w), v in values.items() if w == "path" and v is not None}
        pairs = [(n, v) for (n, w), v in values.items() if w == "query" and v is not None]
        if repeat is not None:
            pairs.append((repeat, "3"))
        return path_params, "&".join(f"{quote(n)}={quote(v, safe='%')}" for n, v in pairs)

    for key, values in options.items():
        for value in values:
            cases.append(build({**valid_first, key: value}))
        if key[1] == "query":
            cases.append(build({**valid_first, key: None}))
            cases.append(build({**valid_first, key: options[key][0]}, repeat=key[0]))
    cases.append(build(valid_first))
    return cases


@pytest.mark.parametrize("vendor", VENDORS)
def test_fastcheck__agrees_with_openapi_core(vendor: str) -> None:
    emu = build_emulator(vendor)
    validator = emu.validator
    spec = emu.spec
    taken = 0
    for key, fast in validator.fast.items():
        method, path = key.split(" ", 1)
        item = spec["paths"][path]
        merged = {}
        for raw in [*(item.get("parameters") or []), *(item[method.lower()].get("parameters") or [])]:
            param = _resolve(spec, raw)
            merged[(param["name"], param["in"])] = param
        for prefix, (path_params, query) in itertools.product(
            fast.prefixes, _requests(spec, path, list(merged.values()))
        ):
            url = prefix + path
            for name, value in path_params.items():
                url = url.replace("{" + name + "}", value)
            scope = {
                "type": "http", "method": method, "scheme": "http", "path": url, "raw_path": url.encode(),
                "query_string": query.encode(), "root_path": "", "headers": [(b"host", b"127.0.0.1")],
                "server": ("127.0.0.1", 80),
            }  # fmt: skip
            quick = fast.check(url, path_params, query, b"")
            if quick is None:
                continue
            taken += 1
            slow = validator._check_request(Request(scope), b"")
            assert slow.problems == [], (key, url, query, slow.problems)
            assert (quick[0], quick[1]) == (slow.path, slow.query), (key, url, query)
    # The check takes the simple operations' plain requests (status polls, list pages) at least.
    assert taken > (0 if vendor == "threadfix" else 3)


def test_fastcheck__leaves_bodies_tolerated_paths_and_doubt_to_openapi_core() -> None:
    emu = build_emulator("invicti")
    fast = emu.validator.fast["GET /api/1.0/scans/status/{id}"]
    scan = {"id": "87be9df1-9f81-46e9-e860-b13b04474ccc"}
    url = "/api/1.0/scans/status/" + scan["id"]
    assert fast.check(url, scan, "", b"") == (scan, {})
    assert fast.check(url, scan, "", b"{}") is None  # a body
    assert fast.check(url + "/", scan, "", b"") is None  # a tolerated trailing slash
    assert fast.check(url.replace("/scans", "//scans"), scan, "", b"") is None
    assert fast.check("/api/1.0/scans/status/nope", {"id": "nope"}, "", b"") is None  # its pattern refuses
    page = emu.validator.fast["GET /api/1.0/scans/list"]
    assert page.check("/api/1.0/scans/list", {}, "page=2", b"") == ({}, {"page": 2, "pageSize": 20})
    for query in ("page=0", "page=+2", "page=", "pageSize=201", "page=99999999999"):
        assert page.check("/api/1.0/scans/list", {}, query, b"") is None, query
    assert "GET /api/1.0/scans/listbystate" in emu.validator.fast
    assert all(" " in key for key in emu.validator.fast)


def _candidates(schema: dict[str, Any]) -> list[Any]:
    """Values around every edge a scalar schema of the specs has (as fastcheck casts them)."""
    if schema.get("type") == "integer":
        edges = [0, 1, 2**31 - 1, 2**31, -(2**31), -(2**31) - 1, 2**63 - 1, 2**63, -(2**63) - 1]
        for bound in (schema.get("minimum"), schema.get("maximum")):
            if isinstance(bound, int):
                edges += [bound - 1, bound, bound + 1]
        return edges
    if schema.get("type") == "boolean":
        return [True, False]
    uid = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
    strings = [
        "", "a", "x" * 300, uid, uid.upper(), uid.replace("-", ""), uid[:-1], uid + "0", uid[1:] + "-",
        "3fa85f64_5717_4562_b3fc_2c963f66afa6", "{" + uid + "}", "urn-uuid", "0" * 36,
    ]  # fmt: skip
    for choice in schema.get("enum") or []:
        strings += [choice, choice.lower(), choice.upper(), choice + "x", choice[:-1]]
    return strings


@pytest.mark.parametrize("vendor", VENDORS)
def test_fastcheck__plain_predicates_agree_with_the_schema_validator(vendor: str) -> None:
    """Where fastcheck judges a parameter with its own comparisons (_predicate), the verdict is the OAS 3.1
    validator's on every edge value: patterns, uuid format, enums, lengths, int32/int64 and min/max."""
    compared = 0
    for fast in build_emulator(vendor).validator.fast.values():
        for param in [*fast.path, *fast.query.values()]:
            if param.is_valid == param.validator.is_valid:
                continue  # the validator itself decides
            for value in _candidates(param.validator.schema):
                assert param.is_valid(value) == param.validator.is_valid(value), (param.name, value)
                compared += 1
    assert compared > 0
