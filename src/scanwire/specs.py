"""Loading and checking the hand-written vendor specs: OpenAPI 3.1 validity, house lint rules,
examples against their schemas, and the lifecycle extension."""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any

from scanwire_runtime.lifecycle import EXTENSION, Lifecycle, LifecycleError

from scanwire.paths import Layout
from scanwire.yamlio import Problem, SourceError, YamlDocument, load_yaml

__all__ = [
    "CHECKS_CACHE",
    "HTTP_METHODS",
    "Spec",
    "check_spec",
    "checks_key",
    "iter_examples",
    "iter_operations",
    "load_spec",
    "openapi_errors",
    "served_spec",
]

# On a requestBody: media types the server accepts but the generated clients do not send (a generator
# limit, set by an overlays/<vendor>/30-codegen-* overlay that removes them from `content`). The resolved
# spec is what the generator saw; `served_spec` puts them back for the emulators and the suites.
NOT_GENERATED = "x-scanwire-not-generated"

HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


def iter_operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(METHOD, path, operation) for every operation, in document order."""
    for path, item in (doc.get("paths") or {}).items():
        if not isinstance(item, dict):
            continue
        for method, op in item.items():
            if method in HTTP_METHODS and isinstance(op, dict):
                yield method.upper(), path, op


def served_spec(doc: dict[str, Any]) -> dict[str, Any]:
    """The resolved spec as the server takes it: every request body's `x-scanwire-not-generated` media
    types back in its `content` (in place; returns `doc`)."""
    for _method, _path, op in iter_operations(doc):
        body = op.get("requestBody")
        if isinstance(body, dict) and isinstance(body.get(NOT_GENERATED), dict):
            content = body.setdefault("content", {})
            for media, entry in body[NOT_GENERATED].items():
                content.setdefault(media, entry)
    return doc


@dataclass(frozen=True)
class Example:
    """One entry of an `examples` map, with the JSON path of the media type that holds it."""

    parts: tuple[Any, ...]
    name: str
    value: Any
    schema_pointer: str


def _escape(part: Any) -> str:
    return str(part).replace("~", "~0").replace("/", "~1")


def iter_examples(doc: Any, parts: tuple[Any, ...] = ()) -> Iterator[Example]:
    """Every named example that sits beside a `schema` (media types, parameters, headers)."""
    if isinstance(doc, dict):
        examples = doc.get("examples")
        if "schema" in doc and isinstance(examples, dict):
            pointer = "#/" + "/".join(_escape(p) for p in (*parts, "schema"))
            for name, ex in examples.items():
                if isinstance(ex, dict) and "value" in ex:
                    yield Example((*parts, "examples", name), name, ex["value"], pointer)
        for key, value in doc.items():
            yield from iter_examples(value, (*parts, key))
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            yield from iter_examples(value, (*parts, i))


@dataclass
class Spec:
    """A vendor spec as loaded from disk, with line numbers for every problem found in it."""

    vendor: str
    source: YamlDocument
    # The document after the vendor's overlays; examples are checked against it, because some vendor
    # schemas cannot be satisfied as written (Soda's `type: object` beside `$ref` to a string enum).
    resolved: dict[str, Any] | None = None
    # `validation_key` of `doc` and of `resolved`, set by resolve_vendor once both are final: the checks,
    # the check cache and the generation stamp use them instead of serialising the documents again.
    doc_key: str | None = None
    resolved_key: str | None = None

    @property
    def path(self) -> Path:
        return self.source.path

    @property
    def doc(self) -> dict[str, Any]:
        data: dict[str, Any] = self.source.data
        return data

    def operations(self) -> dict[str, dict[str, Any]]:
        return {f"{m} {p}": op for m, p, op in iter_operations(self.doc)}

    @cached_property
    def lifecycle(self) -> Lifecycle:
        return Lifecycle.from_spec(self.doc)

    def schema_count(self) -> int:
        return len((self.doc.get("components") or {}).get("schemas") or {})

    def error_responses(self) -> int:
        """Documented error responses (4xx/5xx) summed over operations."""
        return sum(
            1
            for _, _, op in iter_operations(self.doc)
            for code in (op.get("responses") or {})
            if str(code)[:1] in "45"
        )


def load_spec(path: Path, vendor: str | None = None) -> Spec:
    """Load a spec file; a YAML problem raises SourceError naming file and line."""
    return Spec(vendor or path.parent.name, load_yaml(path, "OpenAPI spec"))


# -- checks ---------------------------------------------------------------------------------------
# Each check is a small named function yielding Problems; `check_spec` runs them all.

Check = Callable[[Spec, Layout | None], Iterator[Problem]]


# Documents found valid, one empty file per document (sha-256 of its canonical JSON and the validator's
# version), under the checkout: validating a spec costs 0.1-0.3 s and the validator's import as much again,
# and `scanwire generate --force` validates the same unchanged documents every time. Only "valid" is
# remembered: a document with errors is validated again, so its messages are always fresh.
VALIDATION_CACHE = Path(".scanwire") / "cache" / "openapi-valid"


_KNOWN_VALID: set[str] = set()


def remember_valid(keys: Iterable[str]) -> None:
    """Validation keys (`validation_key`) of documents known to be valid, e.g. from a generation stamp."""
    _KNOWN_VALID.update(k for k in keys if isinstance(k, str))


def validation_key(doc: dict[str, Any]) -> str | None:
    """The document's identity for validation: sha-256 of its canonical JSON and the validator's version
    (None when it holds a value JSON cannot carry)."""
    return _validation_key(doc)


def _validation_key(doc: dict[str, Any]) -> str | None:
    from importlib.metadata import version

    try:
        text = json.dumps(doc, sort_keys=True, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError):  # a value JSON cannot carry (a YAML date...): not cached
        return None
    salt = f"openapi-spec-validator {version('openapi-spec-validator')}\n"
    return hashlib.sha256((salt + text).encode()).hexdigest()


def openapi_errors(
    doc: dict[str, Any], cache: Path | None = None, *, key: str | None = None
) -> Iterator[tuple[list[Any], str]]:
    """(JSON path, message) for each way `doc` is not valid OpenAPI 3.1 (openapi-spec-validator).

    `cache`: a folder remembering the documents found valid (see VALIDATION_CACHE); `key`: the document's
    `validation_key` when the caller has it already."""
    if str(doc.get("openapi", "")).split(".")[:2] != ["3", "1"]:
        yield ["openapi"], f"expected openapi: 3.1.x, found {doc.get('openapi')!r}"
        return
    if key is None and (cache is not None or _KNOWN_VALID):
        key = _validation_key(doc)
    if key is not None and (key in _KNOWN_VALID or (cache is not None and (cache / key).is_file())):
        return
    # Imported here: a run whose documents are all known valid never pays for the validator's import.
    from openapi_spec_validator import OpenAPIV31SpecValidator

    try:
        errors = list(OpenAPIV31SpecValidator(doc).iter_errors())
    except Exception as exc:  # the validator raises (not yields) on dangling $refs and null sections
        yield (
            [],
            f"the document cannot be validated: {type(exc).__name__}: {(str(exc).splitlines() or [''])[0]}",
        )
        yield from _dangling_refs(doc)
        return
    if not errors and cache is not None and key is not None:
        with contextlib.suppress(OSError):  # a read-only checkout validates every time
            cache.mkdir(parents=True, exist_ok=True)
            (cache / key).touch()
    for err in errors:
        yield list(getattr(err, "absolute_path", []) or []), str(err.message).splitlines()[0]


def validation_cache(layout: Layout | None) -> Path | None:
    return layout.root / VALIDATION_CACHE if layout is not None else None


def _dangling_refs(
    doc: Any, parts: tuple[Any, ...] = (), root: Any = None
) -> Iterator[tuple[list[Any], str]]:
    """Local `$ref`s that point nowhere, with their JSON path (the validator only raises on the first)."""
    root = doc if root is None else root
    if isinstance(doc, dict):
        ref = doc.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/"):
            node: Any = root
            for token in ref[2:].split("/"):
                token = token.replace("~1", "/").replace("~0", "~")
                if not isinstance(node, dict) or token not in node:
                    yield [*parts, "$ref"], f"$ref {ref!r} points at nothing"
                    break
                node = node[token]
        for key, value in doc.items():
            yield from _dangling_refs(value, (*parts, key), root)
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            yield from _dangling_refs(value, (*parts, i), root)


def check_openapi(spec: Spec, layout: Layout | None) -> Iterator[Problem]:
    """The document is valid OpenAPI 3.1."""
    for parts, message in openapi_errors(spec.doc, validation_cache(layout), key=spec.doc_key):
        yield spec.source.problem(parts, message, "openapi")


def check_lifecycle(spec: Spec, _: Layout | None) -> Iterator[Problem]:
    """`x-scanwire-lifecycle` matches its schema, is a sound machine, and names real operations."""
    raw = spec.doc.get(EXTENSION)
    if raw is None:
        yield spec.source.problem([], f"missing the {EXTENSION} extension", "lifecycle")
        return
    import jsonschema  # imported when checks run (a cached clean spec needs none of them)

    schema = json.loads(resources.files("scanwire").joinpath("schemas/lifecycle.schema.json").read_text())
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(raw), key=lambda e: list(e.path))
    for err in errors:
        yield spec.source.problem([EXTENSION, *err.absolute_path], err.message, "lifecycle")
    if errors:
        return
    try:
        lifecycle = Lifecycle.from_extension(raw)
    except LifecycleError as exc:
        for message in str(exc).split("; "):
            yield spec.source.problem([EXTENSION, "transitions"], message, "lifecycle")
        return
    ops = spec.operations()
    for action, ref in lifecycle.operations.items():
        if ref is not None and ref.key not in ops:
            yield spec.source.problem(
                [EXTENSION, "operations", action], f"{ref.key} is not an operation of this spec", "lifecycle"
            )


def check_provenance(spec: Spec, layout: Layout | None) -> Iterator[Problem]:
    """Every operation says which document (seed file or vendor-notes) and section it came from."""
    if not (spec.doc.get("info") or {}).get("x-origin"):
        yield spec.source.problem(["info"], "info.x-origin is missing", "provenance")
    known: set[str] | None = None
    if layout is not None and layout.seeds.is_dir():
        known = {p.name for p in layout.seeds.iterdir()} | {"vendor-notes.md", "vendor-notes-workflow.md"}
    for method, path, op in iter_operations(spec.doc):
        where = ["paths", path, method.lower()]
        sources = op.get("x-source")
        if not sources:
            yield spec.source.problem(where, f"{method} {path} has no x-source", "provenance")
            continue
        for i, src in enumerate(sources if isinstance(sources, list) else [sources]):
            if not isinstance(src, dict) or not src.get("file") or not src.get("section"):
                yield spec.source.problem(
                    [*where, "x-source"], f"x-source #{i} needs file and section", "provenance"
                )
            elif known is not None and src["file"] not in known:
                yield spec.source.problem(
                    [*where, "x-source"], f"x-source names {src['file']!r}, not a seed file", "provenance"
                )


def check_security(spec: Spec, _: Layout | None) -> Iterator[Problem]:
    """Every security requirement names a declared security scheme."""
    schemes = set(((spec.doc.get("components") or {}).get("securitySchemes") or {}).keys())
    places: list[tuple[list[Any], Any]] = [(["security"], spec.doc.get("security"))]
    places += [
        (["paths", p, m.lower(), "security"], op.get("security")) for m, p, op in iter_operations(spec.doc)
    ]
    for where, requirements in places:
        for i, requirement in enumerate(requirements or []):
            for name in requirement or {}:
                if name not in schemes:
                    yield spec.source.problem(
                        [*where, i, name],
                        f"security requirement names undeclared scheme {name!r}",
                        "security",
                    )


def check_style(spec: Spec, _: Layout | None) -> Iterator[Problem]:
    """House rules: 3.1 nullability, named examples, no closed objects."""

    def walk(node: Any, parts: list[Any]) -> Iterator[Problem]:
        if isinstance(node, dict):
            if "nullable" in node:
                yield spec.source.problem(
                    [*parts, "nullable"], "use type: [T, 'null'], not nullable", "style"
                )
            if node.get("additionalProperties") is False and "x-note" not in node:
                yield spec.source.problem(
                    [*parts, "additionalProperties"], "closed object without an x-note saying why", "style"
                )
            if "example" in node and "schema" in node:
                yield spec.source.problem([*parts, "example"], "use named `examples`, not `example`", "style")
            for key, value in node.items():
                if not str(key).startswith("x-"):
                    yield from walk(value, [*parts, key])
        elif isinstance(node, list):
            for i, value in enumerate(node):
                yield from walk(value, [*parts, i])

    yield from walk(spec.doc, [])


def check_examples(spec: Spec, _: Layout | None) -> Iterator[Problem]:
    """Every named example validates against the schema beside it (in the spec as overlaid)."""
    import jsonschema
    from openapi_schema_validator import OAS31Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    doc = spec.resolved if spec.resolved is not None else spec.doc
    registry: Registry[Any] = Registry().with_resource(
        "urn:scanwire:spec", Resource.from_contents(doc, default_specification=DRAFT202012)
    )
    for ex in iter_examples(doc):
        validator = OAS31Validator({"$ref": "urn:scanwire:spec" + ex.schema_pointer}, registry=registry)
        try:
            error = jsonschema.exceptions.best_match(validator.iter_errors(ex.value))
        except Exception as exc:  # an unresolvable $ref is a spec problem, reported as such
            yield spec.source.problem(
                list(ex.parts), f"example {ex.name!r} cannot be checked: {exc}", "example"
            )
            continue
        if error is not None:
            at = "/".join(str(p) for p in error.absolute_path) or "(root)"
            yield spec.source.problem(
                list(ex.parts),
                f"example {ex.name!r} does not match its schema at {at}: {error.message}",
                "example",
            )


CHECKS: tuple[Check, ...] = (
    check_openapi,
    check_lifecycle,
    check_provenance,
    check_security,
    check_style,
    check_examples,
)


def check_spec(spec: Spec, layout: Layout | None = None) -> list[Problem]:
    """All problems of a loaded spec; an empty list means it is valid and lints clean."""
    problems: list[Problem] = []
    for check in CHECKS:
        problems.extend(check(spec, layout))
    return problems


# Specs found clean by every check, with their overlaid document found valid OpenAPI (one empty file per
# `checks_key`): the checks walk the whole spec (examples against their schemas, lint, provenance) and
# grow with it, and `scanwire generate --force` checked the same unchanged spec every time. As for
# VALIDATION_CACHE, only "clean" is remembered: a spec with problems is checked again, so its messages are
# always fresh. `scanwire validate` never reads it.
CHECKS_CACHE = Path(".scanwire") / "cache" / "spec-checks"


def _checks_salt(layout: Layout | None) -> str:
    """What a clean result depends on beyond the two documents: the checks' code, the lifecycle schema and
    machine, the validators' versions and the seed files provenance may name."""
    from importlib.metadata import version

    import scanwire_runtime.lifecycle

    digest = hashlib.sha256()
    for source in (
        Path(__file__),
        resources.files("scanwire").joinpath("schemas/lifecycle.schema.json"),
        Path(scanwire_runtime.lifecycle.__file__),
    ):
        digest.update(source.read_bytes() + b"\0")
    for dist in ("jsonschema", "openapi-schema-validator", "openapi-spec-validator", "referencing"):
        digest.update(f"{dist} {version(dist)}\0".encode())
    if layout is not None and layout.seeds.is_dir():
        digest.update("\0".join(sorted(p.name for p in layout.seeds.iterdir())).encode())
    else:
        digest.update(b"no seeds")
    return digest.hexdigest()


def checks_key(spec: Spec, layout: Layout | None) -> str | None:
    """The identity of "check_spec finds nothing and the overlaid document is valid OpenAPI" for this spec:
    sha-256 of both documents' validation keys and `_checks_salt`; None when a document has no key."""
    if spec.doc_key is None or spec.resolved is None or spec.resolved_key is None:
        return None
    text = f"{spec.vendor}\n{spec.doc_key}\n{spec.resolved_key}\n{_checks_salt(layout)}"
    return hashlib.sha256(text.encode()).hexdigest()


def load_checked(path: Path, vendor: str, layout: Layout | None = None) -> Spec:
    """Load a spec and raise SourceError when it has any problem."""
    spec = load_spec(path, vendor)
    problems = check_spec(spec, layout)
    if problems:
        raise SourceError(problems)
    return spec
