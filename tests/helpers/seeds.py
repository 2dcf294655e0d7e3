"""Reading the vendor seed documents and vendor-notes.md: operations, embedded JSON, sections, schemas.

The tests compare these independent readings with the hand-written specs, so the readings use nothing
of the code under test beyond `scanwire.paths` (where the shared documents live); `shared_spec` is the
one convenience that loads a spec through `scanwire.resolve`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from scanwire.paths import Layout
from scanwire.resolve import resolve_vendor
from scanwire.specs import Spec

__all__ = [
    "HTTP_METHODS",
    "LAYOUT",
    "SEED_FILES",
    "SERVER_PREFIXES",
    "AppSpiderBlob",
    "SeedOperation",
    "appspider_blobs",
    "appspider_status_lists",
    "invicti_detail_example",
    "json_types",
    "notes_text",
    "resolve_ref",
    "schema_at_pointer",
    "schema_enum",
    "schema_properties",
    "schema_required",
    "section_problems",
    "seed_mentions",
    "seed_operations",
    "seed_path",
    "seed_text",
    "shared_spec",
    "soda_fragments",
    "spec_response_schema",
    "threadfix_sample_output",
]

# The checkout these helpers read (never SCANWIRE_ROOT, so a stray environment cannot redirect the tests).
LAYOUT = Layout(Path(__file__).resolve().parents[2])

HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")

# One seed document per vendor (/work/shared/seeds/NNN_<hash>.txt).
SEED_FILES: dict[str, str] = {
    "advalidation": "000_bd7985a3df21ed6f.txt",
    "invicti": "001_9e26a9530099dad2.txt",
    "appspider": "002_935c27784ba0c5c6.txt",
    "threadfix": "003_070ea58ec70da0fb.txt",
    "soda": "004_4a3e01c61da74805.txt",
}

# The part of a documented URL that the spec's server URL carries (docs/spec-conventions.md).
SERVER_PREFIXES: dict[str, str] = {
    "appspider": "/AppSpiderEnterprise/rest/v1",
    "threadfix": "/rest/{version}",
}


def seed_path(vendor: str) -> Path:
    return LAYOUT.seeds / SEED_FILES[vendor]


@cache
def seed_text(vendor: str) -> str:
    return seed_path(vendor).read_text(encoding="utf-8")


# The research notes: vendor-notes.md (the scan-status slice) and its companion for the workflow operations.
NOTES_FILES = ("vendor-notes.md", "vendor-notes-workflow.md")


@cache
def notes_text(file_name: str = "vendor-notes.md") -> str:
    return (LAYOUT.shared / file_name).read_text(encoding="utf-8")


@cache
def shared_spec(vendor: str) -> Spec:
    """The vendor's spec with its overlays applied (not checked). Shared between tests: never modify it."""
    return resolve_vendor(LAYOUT, vendor, check=False)


# -- operations documented by a seed ------------------------------------------------------------------


@dataclass(frozen=True)
class SeedOperation:
    """One operation as the seed writes it; `method` is None where the seed names no method."""

    method: str | None
    written: str  # the URL path exactly as the seed writes it
    path: str  # the spec path: server prefix stripped, `{{id}}` read as `{id}`

    @property
    def key(self) -> str:
        return f"{self.method or '*'} {self.path}"


def _spec_path(vendor: str, written: str) -> str:
    path = written.replace("{{", "{").replace("}}", "}")
    prefix = SERVER_PREFIXES.get(vendor)
    if prefix and path.startswith(prefix + "/"):
        path = path[len(prefix) :]
    return path


def _mentions(vendor: str) -> Iterator[tuple[str | None, str]]:
    text = seed_text(vendor)
    if vendor == "advalidation":
        # "GET\n/scans/{scanId}" — the method on its own line above the path
        for m in re.finditer(r"^(GET|PUT|POST|DELETE|PATCH)\n(/\S*)$", text, re.M):
            yield m.group(1), m.group(2)
    elif vendor == "invicti":
        urls = re.findall(r"\*\*URL:\*\*\s*`([^`]+)`", text)
        methods = re.findall(r"\*\*Method:\*\*\s*`([A-Za-z]+)`", text)
        assert len(urls) == len(methods), (
            f"invicti seed: {len(urls)} URL: lines but {len(methods)} Method: lines"
        )
        yield from zip((m.upper() for m in methods), urls, strict=True)
    elif vendor == "appspider":
        # "get /AppSpiderEnterprise/rest/v1/Scan/GetScans Description ..." or the bare path (no method),
        # often glued to the end of the previous blob ("}post /...", "}/AppSpider...").
        pattern = r"(?:\b(get|post|put|delete|patch) )?(/AppSpiderEnterprise/rest/v1/[\w/]+) Description\b"
        for m in re.finditer(pattern, text):
            yield (m.group(1).upper() if m.group(1) else None), m.group(2)
    elif vendor == "threadfix":
        paths = re.findall(r"^(/rest/\S+)$", text, re.M)
        methods = re.findall(r"^HTTP Method \| ([A-Z]+) \|", text, re.M)
        assert len(paths) == len(methods), f"threadfix seed: {len(paths)} paths but {len(methods)} methods"
        yield from zip(methods, paths, strict=True)
    elif vendor == "soda":
        for fragment in soda_fragments():
            for path, item in fragment["paths"].items():
                for method in item:
                    if method in HTTP_METHODS:
                        yield method.upper(), path
    else:
        raise KeyError(vendor)


def seed_mentions(vendor: str) -> list[SeedOperation]:
    """Every (method, path) entry of the seed, in document order, variants included."""
    return [
        SeedOperation(method, written, _spec_path(vendor, written)) for method, written in _mentions(vendor)
    ]


def seed_operations(vendor: str) -> list[SeedOperation]:
    """One entry per documented operation: variants of one path (AppSpider's three GetScans, two of
    which name no method) merge into the entry that names the method."""
    mentions = seed_mentions(vendor)
    out: list[SeedOperation] = []
    for op in mentions:
        if any(o.key == op.key for o in out):
            continue
        if op.method is None and any(o.path == op.path for o in mentions if o.method):
            continue
        out.append(op)
    return out


# -- JSON embedded in the seeds ------------------------------------------------------------------------


def _fenced_json(text: str) -> list[str]:
    return re.findall(r"```json\n(.*?)\n```", text, re.S)


def invicti_detail_example() -> dict[str, Any]:
    """The captured response of the Invicti seed (status 200, headers, `json_body`)."""
    blocks = _fenced_json(seed_text("invicti"))
    assert len(blocks) == 1, f"invicti seed: expected one ```json block, found {len(blocks)}"
    captured = json.loads(blocks[0])
    assert isinstance(captured, list) and len(captured) == 1
    result: dict[str, Any] = captured[0]
    return result


def threadfix_sample_output() -> dict[str, Any]:
    """The JSON after "Sample Output:" in the ThreadFix seed."""
    text = seed_text("threadfix")
    start = text.index("{", text.index("Sample Output:"))
    value, _ = json.JSONDecoder().raw_decode(text, start)
    assert isinstance(value, dict)
    return value


def soda_fragments() -> list[dict[str, Any]]:
    """The three OpenAPI 3.1 fragments of the Soda seed (Get scan status, Cancel a scan, Get scan logs)."""
    return [json.loads(block) for block in _fenced_json(seed_text("soda"))]


@dataclass(frozen=True)
class AppSpiderBlob:
    """A "Response example" of the AppSpider seed: a draft-03-ish JSON schema, as text and parsed if valid."""

    action: str  # last path segment, e.g. GetScans
    variant: int  # 0, 1, 2 for the three GetScans entries; 0 otherwise
    method: str | None
    path: str  # spec path
    text: str
    parsed: Any | None
    error: str | None

    @property
    def label(self) -> str:
        return f"{self.action}#{self.variant}" if self.action == "GetScans" else self.action


def appspider_blobs() -> list[AppSpiderBlob]:
    """The JSON blob of each documented operation that has one (RunScan and GetScanStatuses have none)."""
    text = seed_text("appspider")
    pattern = r"(?:\b(get|post|put|delete|patch) )?(/AppSpiderEnterprise/rest/v1/[\w/]+) Description\b"
    heads = list(re.finditer(pattern, text))
    out: list[AppSpiderBlob] = []
    seen: dict[str, int] = {}
    for head, nxt in zip(heads, [*heads[1:], None], strict=True):
        body = text[head.end() : nxt.start() if nxt else len(text)]
        action = head.group(2).rsplit("/", 1)[-1]
        variant = seen.get(action, 0)
        seen[action] = variant + 1
        begin = re.search(r"^\{$", body, re.M)
        if begin is None:
            continue
        blob = body[begin.start() : body.rindex("}") + 1]
        try:
            parsed, error = json.loads(blob), None
        except json.JSONDecodeError as exc:
            parsed, error = None, str(exc)
        method = head.group(1).upper() if head.group(1) else None
        out.append(
            AppSpiderBlob(
                action, variant, method, _spec_path("appspider", head.group(2)), blob, parsed, error
            )
        )
    return out


def _bullets(chunk: str) -> list[str]:
    # ● “Running…” - ...   and the defect “Starting Upload - ... (no closing quote, vendor-notes §3)
    return [m.group(1) for m in re.finditer(r"●\s*“(.+?)(?:”|\s-\s)", chunk)]


def appspider_status_lists() -> tuple[list[str], list[str]]:
    """(GetScanStatus display strings, GetScanStatuses enum names), in document order."""
    text = seed_text("appspider")
    display = text[text.index("Returned Statuses (case-sensitive):") : text.index("/Scan/IsScanActive")]
    names = text[text.index("Returned list of Statuses for a scan") : text.index("/Scan/HasScanImported")]
    return _bullets(display), _bullets(names)


# -- sections of the documents (x-source) -------------------------------------------------------------


def _norm(text: str) -> str:
    text = text.replace("{{", "{").replace("}}", "}")
    text = re.sub(r"[`*\\]", "", text)
    return re.sub(r"\s+", " ", text).strip().lower()


def _found(piece: str, haystack: str) -> bool:
    """Case-insensitive, whitespace-insensitive substring test; ` ... ` in the piece is a gap, and a
    brace list `{A,B}` (one section naming several operations) needs every alternative."""
    alternatives = re.search(r"\{([^{}]*,[^{}]*)\}", piece)
    if alternatives:
        head, tail = piece[: alternatives.start()], piece[alternatives.end() :]
        return all(_found(head + alt.strip() + tail, haystack) for alt in alternatives.group(1).split(","))
    parts = [p for p in re.split(r"\s*(?:\.\.\.|…)\s*", _norm(piece)) if p]
    if not parts:
        return True
    return re.search(".*?".join(re.escape(p) for p in parts), haystack) is not None


def _variants(piece: str) -> list[str]:
    """The piece as written, then without its trailing parenthetical detail, then without leading #s."""
    piece = piece.strip().lstrip("#").strip()
    out = [piece]
    bare = re.sub(r"\s*\([^()]*\)\s*$", "", piece)
    if bare and bare != piece:
        out.append(bare)
    return out


def _any_found(piece: str, haystacks: list[str]) -> bool:
    return any(_found(v, h) for v in _variants(piece) for h in haystacks)


@dataclass(frozen=True)
class _Heading:
    level: int
    title: str
    body: str  # the text up to the next heading of the same or a higher level


def _headings(text: str) -> list[_Heading]:
    marks = [(m.start(), len(m.group(1)), m.group(2)) for m in re.finditer(r"^(#{1,6})\s+(.*)$", text, re.M)]
    out = []
    for i, (start, level, title) in enumerate(marks):
        end = next((s for s, lvl, _ in marks[i + 1 :] if lvl <= level), len(text))
        out.append(_Heading(level, title, text[start:end]))
    return out


def _split_outside_parens(text: str, separator: str) -> list[str]:
    """Split at `separator` (a regex) where it is not inside parentheses."""
    parts, start = [], 0
    for m in re.finditer(separator, text):
        before = text[: m.start()]
        if before.count("(") == before.count(")") and m.start() >= start:
            parts.append(text[start : m.start()])
            start = m.end()
    parts.append(text[start:])
    return [p for p in parts if p.strip()]


def _pieces(section: str) -> list[list[str]]:
    """`A — B: c / D (detail)` -> [[A], [B, c], [D (detail)]]: heading pieces, locators after ": "."""
    return [
        _split_outside_parens(piece, r":\s+")
        for piece in _split_outside_parens(section, r"\s+—\s+|\s+/\s+|;\s+")
    ]


def section_problems(file_name: str, section: str, *, locators: bool = True) -> list[str]:
    """Why `section` cannot be found in the document `file_name`; an empty list means it was found.

    vendor-notes.md: the first piece names a `## N. Vendor` heading, the others a `###` heading under it
    or text in it; text after ": " must occur in that vendor's part. Seeds (mostly unstructured text):
    every piece must occur somewhere in the document; with `locators=False` only the first one (the
    entry heading), the rest being prose pointers such as "Response Messages 400 ScanNotFound" into a
    table. Matching ignores case, whitespace, markdown `*`/` and doubled braces; a trailing
    parenthetical is detail and may be dropped.
    """
    if file_name in NOTES_FILES:
        text = notes_text(file_name)
        pieces = _pieces(section)
        vendors = [h for h in _headings(text) if h.level == 2 and _any_found(pieces[0][0], [_norm(h.title)])]
        if not vendors:
            return [f"no '## ' heading of {file_name} matches {pieces[0][0]!r}"]
        problems = []
        part = vendors[0]
        subs = [_norm(h.title) for h in _headings(part.body) if h.level == 3]
        body = _norm(part.body)
        if len(pieces[0]) > 1:
            problems += [
                f"{loc!r} does not occur under {part.title!r}"
                for loc in pieces[0][1:]
                if not _found(loc, body)
            ]
        for piece in pieces[1:]:
            if not _any_found(piece[0], subs) and not _any_found(piece[0], [body]):
                problems.append(f"no '### ' heading or text under {part.title!r} matches {piece[0]!r}")
            problems += [
                f"{loc!r} does not occur under {part.title!r}" for loc in piece[1:] if not _found(loc, body)
            ]
        return problems
    if file_name not in SEED_FILES.values():
        return [f"{file_name!r} is neither a seed file nor vendor-notes.md"]
    vendor = next(v for v, f in SEED_FILES.items() if f == file_name)
    haystack = _norm(seed_text(vendor))
    pieces = _pieces(section) if locators else _pieces(section)[:1]
    return [
        f"{part!r} does not occur in {file_name}"
        for piece in pieces
        for part in (piece if locators else piece[:1])
        if not _any_found(part, [haystack])
    ]


# -- reading schemas of a spec ------------------------------------------------------------------------


def resolve_ref(doc: Mapping[str, Any], schema: Any) -> Any:
    """Follow local `$ref`s until a schema without one (siblings of the `$ref` are dropped)."""
    seen = 0
    while isinstance(schema, Mapping) and "$ref" in schema:
        ref = schema["$ref"]
        assert ref.startswith("#/"), f"only local refs are expected, found {ref!r}"
        node: Any = doc
        for token in ref[2:].split("/"):
            node = node[token.replace("~1", "/").replace("~0", "~")]
        schema = node
        seen += 1
        assert seen < 50, f"$ref loop at {ref}"
    return schema


def _branches(doc: Mapping[str, Any], schema: Any) -> Iterator[Mapping[str, Any]]:
    """The schema and every schema it combines (allOf/anyOf/oneOf), refs followed; `$ref` siblings kept."""
    if not isinstance(schema, Mapping):
        return
    yield schema
    if "$ref" in schema:
        yield from _branches(doc, resolve_ref(doc, {"$ref": schema["$ref"]}))
    for key in ("allOf", "anyOf", "oneOf"):
        for sub in schema.get(key) or []:
            yield from _branches(doc, sub)


def schema_properties(doc: Mapping[str, Any], schema: Any) -> dict[str, Any]:
    """Properties of an object schema, merged over $ref / allOf / anyOf / oneOf."""
    props: dict[str, Any] = {}
    for branch in _branches(doc, schema):
        props.update(branch.get("properties") or {})
    return props


def schema_required(doc: Mapping[str, Any], schema: Any) -> set[str]:
    """Names required by the schema itself or by an allOf part (anyOf/oneOf branches do not count)."""
    out: set[str] = set()

    def walk(node: Any) -> None:
        if not isinstance(node, Mapping):
            return
        out.update(node.get("required") or [])
        if "$ref" in node:
            walk(resolve_ref(doc, {"$ref": node["$ref"]}))
        for sub in node.get("allOf") or []:
            walk(sub)

    walk(schema)
    return out


def json_types(doc: Mapping[str, Any], schema: Any) -> set[str]:
    """JSON types a schema admits going by `type` (and `enum` values) over $ref and combinators."""
    types: set[str] = set()
    for branch in _branches(doc, schema):
        declared = branch.get("type")
        if isinstance(declared, str):
            types.add(declared)
        elif isinstance(declared, list):
            types.update(declared)
    return types


def schema_enum(doc: Mapping[str, Any], schema: Any) -> list[Any]:
    """Enum values a schema admits (over $ref and combinators), `null` left out, in order."""
    out: list[Any] = []
    for branch in _branches(doc, schema):
        for value in branch.get("enum") or []:
            if value is not None and value not in out:
                out.append(value)
    return out


def schema_at_pointer(doc: Mapping[str, Any], schema: Any, pointer: str) -> Any:
    """The schema a JSON pointer into an instance of `schema` lands on (object properties, array items)."""
    node = schema
    for raw in [t for t in pointer.split("/")[1:]]:
        token = raw.replace("~1", "/").replace("~0", "~")
        if token.isdigit():
            items = [b["items"] for b in _branches(doc, node) if "items" in b]
            assert items, f"{pointer}: no array items at {token}"
            node = items[0]
        else:
            props = schema_properties(doc, node)
            assert token in props, f"{pointer}: no property {token!r} (has {sorted(props)})"
            node = props[token]
    return node


def spec_response_schema(
    doc: Mapping[str, Any], method: str, path: str, status: str = "200", media: str = "application/json"
) -> Any:
    """The schema of one response of one operation, following a `$ref`ed response object."""
    op = doc["paths"][path][method.lower()]
    response = resolve_ref(doc, op["responses"][status])
    return response["content"][media]["schema"]
