"""What `scanwire generate` remembers between runs about its inputs being sound: a spec found clean by every
check (scanwire.specs.CHECKS_CACHE) and an overlay found valid (yamlio's cache). Only "clean" / "valid" is
remembered, and any change to what the result depends on is checked again, with fresh messages."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers.generation import copy_checkout

from scanwire import resolve, specs, yamlio
from scanwire.overlay import load_overlay
from scanwire.paths import Layout
from scanwire.resolve import resolve_vendor
from scanwire.yamlio import SourceError


@pytest.fixture
def checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lay: Layout) -> Layout:
    monkeypatch.setenv("SCANWIRE_SHARED", str(lay.shared))  # the seeds that provenance names
    return copy_checkout(tmp_path / "checkout", ("threadfix",))


@pytest.fixture
def check_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The vendors check_spec actually ran for (resolve_vendor's calls)."""
    calls: list[str] = []
    real = resolve.check_spec

    def counting(spec: specs.Spec, layout: Layout | None = None) -> list[Any]:
        calls.append(spec.vendor)
        return real(spec, layout)

    monkeypatch.setattr(resolve, "check_spec", counting)
    return calls


def _entries(checkout: Layout) -> list[str]:
    folder = checkout.root / specs.CHECKS_CACHE
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def test_resolve_vendor__a_clean_spec_is_checked_once_and_an_edited_one_again(
    checkout: Layout, check_calls: list[str]
) -> None:
    first = resolve_vendor(checkout, "threadfix")
    assert check_calls == ["threadfix"] and len(_entries(checkout)) == 1
    again = resolve_vendor(checkout, "threadfix")
    assert check_calls == ["threadfix"]  # remembered: not checked again
    assert (again.doc_key, again.resolved_key) == (first.doc_key, first.resolved_key)
    assert again.doc_key == specs.validation_key(again.doc)
    assert again.resolved is not None and again.resolved_key == specs.validation_key(again.resolved)

    # An edit that breaks a house rule: checked again, and the problem is reported (never a cached "clean").
    path = checkout.spec("threadfix")
    text = path.read_text(encoding="utf-8")
    broken = re.sub(r"\n( +)type: object\n", r"\n\1type: object\n\1nullable: true\n", text, count=1)
    assert broken != text
    path.write_text(broken, encoding="utf-8")
    for _ in range(2):
        with pytest.raises(SourceError, match=r"\[style\].*use type: \[T, 'null'\], not nullable"):
            resolve_vendor(checkout, "threadfix")
    assert check_calls == ["threadfix"] * 3 and len(_entries(checkout)) == 1

    path.write_text(text, encoding="utf-8")  # back as it was: known clean again
    resolve_vendor(checkout, "threadfix")
    assert check_calls == ["threadfix"] * 3


def test_resolve_vendor__an_overlay_that_changes_the_resolved_document_is_checked_again(
    checkout: Layout, check_calls: list[str]
) -> None:
    resolve_vendor(checkout, "threadfix")
    overlay = checkout.overlays("threadfix") / "99-test.yaml"
    overlay.write_text(
        "overlay: 1.0.0\ninfo: {title: test, version: '1'}\nactions:\n"
        "  - target: $.info\n    description: a test\n    update: {description: changed by an overlay}\n",
        encoding="utf-8",
    )
    resolve_vendor(checkout, "threadfix")
    assert check_calls == ["threadfix"] * 2 and len(_entries(checkout)) == 2


def test_resolve_vendor__without_checks_nothing_is_remembered(
    checkout: Layout, check_calls: list[str]
) -> None:
    spec = resolve_vendor(checkout, "threadfix", check=False)
    assert (check_calls, _entries(checkout), spec.doc_key, spec.resolved_key) == ([], [], None, None)


def test_checks_key__names_what_a_clean_result_depends_on(
    checkout: Layout, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = resolve_vendor(checkout, "threadfix")
    key = specs.checks_key(spec, checkout)
    assert key is not None and key == specs.checks_key(spec, checkout)
    assert specs.checks_key(spec, None) != key  # provenance checks the seed file names of the layout
    (tmp_path / "other-shared" / "seeds").mkdir(parents=True)
    monkeypatch.setenv("SCANWIRE_SHARED", str(tmp_path / "other-shared"))
    assert specs.checks_key(spec, checkout) != key
    other = specs.Spec(spec.vendor, spec.source, spec.resolved, spec.doc_key, "another resolved key")
    assert specs.checks_key(other, checkout) != key
    assert specs.checks_key(specs.Spec(spec.vendor, spec.source, spec.resolved), checkout) is None


# -- overlays known valid (yamlio's cache, on while generating) -----------------------------------------


@pytest.fixture
def yaml_cache(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "yaml-cache"
    yamlio.use_cache(folder)
    yield folder
    yamlio.use_cache(None)


@pytest.fixture
def schema_validations(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    import jsonschema

    calls: list[int] = []
    real = jsonschema.Draft202012Validator

    def counting(schema: Any) -> Any:
        calls.append(1)
        return real(schema)

    monkeypatch.setattr(jsonschema, "Draft202012Validator", counting)
    return calls


def test_load_overlay__a_valid_overlay_is_validated_once_and_an_edited_one_again(
    tmp_path: Path, yaml_cache: Path, schema_validations: list[int]
) -> None:
    path = tmp_path / "10-test.yaml"
    good = (
        "overlay: 1.0.0\ninfo: {title: t, version: '1'}\nactions:\n  - target: $.info\n    description: d\n"
    )
    good += "    update: {}\n"
    path.write_text(good, encoding="utf-8")
    action = {"target": "$.info", "description": "d", "update": {}}
    assert load_overlay(path).actions == load_overlay(path).actions == [action]
    assert schema_validations == [1]

    path.write_text(good.replace("update: {}", "remove: true\n    update: {}"), encoding="utf-8")
    for _ in range(2):  # invalid: validated every time, never remembered
        with pytest.raises(SourceError, match="must have exactly one of"):
            load_overlay(path)
    assert schema_validations == [1, 1, 1]

    yamlio.use_cache(None)  # without the cache (scanwire validate): always validated
    path.write_text(good, encoding="utf-8")
    load_overlay(path)
    assert schema_validations == [1, 1, 1, 1]
