"""What the generation tests share: the resolved specs, their response examples, the generated
endpoint module of an operation, and throw-away copies of the checkout."""

from __future__ import annotations

import importlib
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

from openapi_python_client.strings import snake_case

from scanwire import VENDORS
from scanwire.paths import Layout
from scanwire.specs import iter_operations
from scanwire.yamlio import load_yaml

ROOT = Path(__file__).resolve().parents[2]


@cache
def resolved_spec(vendor: str) -> dict[str, Any]:
    """generated/<vendor>/openapi.resolved.yaml, read with the pipeline's own strict loader."""
    data: dict[str, Any] = load_yaml(Layout(ROOT).resolved(vendor), "resolved spec").data
    return data


def deref(doc: dict[str, Any], node: Any) -> Any:
    """Follow local `$ref`s until a node that is not a reference."""
    while isinstance(node, dict) and "$ref" in node:
        target: Any = doc
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def endpoint_module(vendor: str, operation: dict[str, Any]) -> ModuleType:
    """The generated module of one operation: api/<tag>/<operationId>, snake_cased as the generator does."""
    tag = snake_case(operation["tags"][0]) if operation.get("tags") else "default"
    return importlib.import_module(f"{vendor}_client.api.{tag}.{snake_case(operation['operationId'])}")


@dataclass(frozen=True)
class ResponseExample:
    """One named example of a documented response, and the component schema it illustrates."""

    vendor: str
    operation_id: str
    status: int
    name: str
    value: Any
    component: str

    @property
    def id(self) -> str:
        return f"{self.vendor}-{self.operation_id}-{self.name}"

    @property
    def operation(self) -> dict[str, Any]:
        return find_operation(self.vendor, self.operation_id)


def find_operation(vendor: str, operation_id: str) -> dict[str, Any]:
    """The operation of the resolved spec that has this operationId."""
    for _method, _path, op in iter_operations(resolved_spec(vendor)):
        if op.get("operationId") == operation_id:
            return op
    raise KeyError(f"{vendor}: no operation {operation_id}")


def response_examples(vendors: tuple[str, ...] = VENDORS) -> Iterator[ResponseExample]:
    """Every named JSON response example of every operation, in document order."""
    for vendor in vendors:
        doc = resolved_spec(vendor)
        for _method, _path, op in iter_operations(doc):
            for status, response in (op.get("responses") or {}).items():
                for media_type, media in (deref(doc, response).get("content") or {}).items():
                    if not media_type.split(";")[0].endswith("json"):
                        continue  # a document (XML, zip) has no model to round-trip
                    ref = (media.get("schema") or {}).get("$ref", "")
                    for name, example in (media.get("examples") or {}).items():
                        yield ResponseExample(
                            vendor,
                            op["operationId"],
                            int(status),
                            name,
                            deref(doc, example)["value"],
                            ref.rsplit("/", 1)[-1],
                        )


def copy_checkout(dst: Path, vendors: tuple[str, ...] = VENDORS) -> Layout:
    """A minimal checkout in `dst` (specs and overlays of `vendors`) to break or regenerate freely."""
    src = Layout(ROOT)
    lay = Layout(dst)
    for vendor in vendors:
        shutil.copytree(src.spec(vendor).parent, lay.spec(vendor).parent)
        shutil.copytree(src.overlays(vendor), lay.overlays(vendor))
    return lay


def tree_bytes(root: Path) -> dict[str, bytes]:
    """Every file below root (relative POSIX path -> bytes), caches excluded."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }
