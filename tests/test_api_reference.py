"""Each generated package's API reference (generated/<vendor>/api.md, rendered by `scanwire generate` from
src/scanwire/templates/openapi-python-client/api.md.jinja): it covers every operation of the spec, under the
resource the typed client has it in, with the method's own parameters and return type, and the README links
it. That it is current is test_generate.py::test_generated_code_matches_a_fresh_regeneration (api.md is part
of the generated tree)."""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path

import pytest

from scanwire import VENDORS

ROOT = Path(__file__).resolve().parents[1]


def sections(text: str) -> dict[str, dict[str, str]]:
    """resource -> method -> the text of its section."""
    out: dict[str, dict[str, str]] = {}
    for resource_block in re.split(r"^## `client\.", text, flags=re.M)[1:]:
        resource, _, body = resource_block.partition("`\n")
        methods = re.split(r"^### `", body, flags=re.M)[1:]
        out[resource] = {m.partition("`")[0]: m for m in methods}
    return out


def type_text(annotation: object) -> str:
    """An evaluated annotation as the generated source spells it (`ScanResponse`, `list[Scan] | None`)."""
    if isinstance(annotation, str):
        return annotation
    if isinstance(annotation, type) and not getattr(annotation, "__args__", None):
        return annotation.__name__
    return re.sub(r"\b(?:[A-Za-z_]\w*\.)+([A-Za-z_]\w*)", r"\1", str(annotation)).replace("NoneType", "None")


@pytest.mark.parametrize("vendor", VENDORS)
def test_api_reference__every_operation_under_its_resource_with_its_signature(vendor: str) -> None:
    folder = ROOT / "generated" / vendor
    text = (folder / "api.md").read_text(encoding="utf-8")
    package = importlib.import_module(f"{vendor}_client")
    spec = importlib.import_module(f"{vendor}_client.spec_data").SPEC
    client = package.connect("https://vendor.test", auth=("x",) * len(package.VENDOR.credentials()))
    try:
        documented = sections(text)
        resources = {
            name: value
            for name, value in vars(client).items()
            if type(value).__name__.endswith("Resource") and not name.startswith("_")
        }
        assert set(documented) == set(resources), "api.md resources != the client's resources"
        seen_operations = set()
        for name, resource in resources.items():
            methods = {m: getattr(resource, m) for m in dir(type(resource)) if not m.startswith("_")}
            assert set(documented[name]) == set(methods), f"client.{name}: api.md methods != the class's"
            for method_name, method in methods.items():
                section = documented[name][method_name]
                op_id = re.search(r"^`([^`]+)`: (GET|POST|PUT|PATCH|DELETE) ", section, flags=re.M)
                assert op_id, f"{name}.{method_name}: no operation line"
                seen_operations.add(op_id[1])
                signature = inspect.signature(method)
                for parameter in signature.parameters:
                    assert re.search(rf"^    {parameter}: ", section, flags=re.M), (
                        f"{name}.{method_name}: parameter {parameter} missing from the signature"
                    )
                    assert f"| `{parameter}` |" in section, (
                        f"{name}.{method_name}: {parameter} not in the table"
                    )
                returns = type_text(signature.return_annotation)
                assert f") -> {returns}\n```" in section and f"Returns `{returns}`." in section
        assert seen_operations == set(spec["operations"]), "api.md does not cover every operation"
    finally:
        client.close()


@pytest.mark.parametrize("vendor", VENDORS)
def test_api_reference__failures_name_the_runtime_class(vendor: str) -> None:
    import scanwire_runtime

    text = (ROOT / "generated" / vendor / "api.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| (\d\d\d|\dXX|default) \| `([A-Za-z]+)", text, flags=re.M)
    assert rows, "no failure status documented"
    for _status, kind in rows:
        assert issubclass(getattr(scanwire_runtime, kind), scanwire_runtime.ApiError)


@pytest.mark.parametrize("vendor", VENDORS)
def test_package_readme_links_the_api_reference(vendor: str) -> None:
    readme = (ROOT / "generated" / vendor / "README.md").read_text(encoding="utf-8")
    assert "[api.md](api.md)" in readme
