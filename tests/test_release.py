"""Tests of the toolchain's word about changes (issue 15 #12-#14): `scanwire diff` reads the working
tree's spec + overlays, `release-check` has teeth without release tags, and the checkout the working
directory is in is the one scanwire works on."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from scanwire import VENDORS
from scanwire.paths import Layout, layout
from scanwire.release import diff_vendor, release_base_ref, release_check
from scanwire.yamlio import dump_yaml, loads_yaml

VENDOR = "soda"


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(root), *args], capture_output=True, text=True, check=True
    ).stdout.strip()


def commit(root: Path, message: str) -> None:
    git(root, "add", "-A")
    git(root, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", message)


@pytest.fixture
def repo(lay: Layout, tmp_path: Path) -> Path:
    """A git repository holding Soda's spec, overlays and committed generation (one commit)."""
    root = tmp_path / "checkout"
    shutil.copytree(lay.spec(VENDOR).parent, root / "specs" / VENDOR)
    shutil.copytree(lay.overlays(VENDOR), root / "overlays" / VENDOR)
    (root / "generated" / VENDOR).mkdir(parents=True)
    for name in ("openapi.resolved.yaml", "generation.toml"):
        shutil.copy(lay.generated(VENDOR) / name, root / "generated" / VENDOR / name)
    git(root, "init", "-q")
    commit(root, "first generation")
    return root


def set_version(root: Path, version: str) -> None:
    path = root / "generated" / VENDOR / "generation.toml"
    lines = path.read_text().splitlines()
    out, in_package = [], False
    for line in lines:
        if line.startswith("["):
            in_package = line == "[package]"
        if in_package and line.startswith(("version =", '"version" =')):
            line = f'"version" = "{version}"'
        out.append(line)
    path.write_text("\n".join(out) + "\n")


def break_resolved(root: Path) -> None:
    """Remove an operation from the committed resolved spec (a breaking change)."""
    path = root / "generated" / VENDOR / "openapi.resolved.yaml"
    doc: dict[str, Any] = loads_yaml(path.read_text())
    doc["paths"].pop(next(p for p in doc["paths"] if p.endswith("/logs")))
    path.write_text(dump_yaml(doc))


# -- #12 scanwire diff --------------------------------------------------------------------------------


def test_diff__spec_edit_shows_before_generate(repo: Path) -> None:
    spec = repo / "specs" / VENDOR / "openapi.yaml"
    spec.write_text(spec.read_text().replace("scanDefinition:", "scanDefinitionRenamed:", 1))
    ref, changes = diff_vendor(Layout(repo), VENDOR, None)
    assert ref == "HEAD"
    assert changes, "a changed spec was reported as 'no change'"
    assert any(c.kind == "breaking" for c in changes)


def test_diff__unchanged_tree_has_no_change(repo: Path) -> None:
    assert diff_vendor(Layout(repo), VENDOR, None) == ("HEAD", [])


# -- #13 release-check without tags --------------------------------------------------------------------


def test_release_check__breaking_commit_without_major_bump_fails_without_tags(repo: Path) -> None:
    set_version(repo, "0.4.0")
    commit(repo, "a release")
    break_resolved(repo)
    commit(repo, "breaking change, no bump")
    result = release_check(Layout(repo), VENDOR, None)
    assert not result.ok and result.required == "1.0.0" and result.base != "HEAD"
    # A later commit that leaves the resolved spec alone does not hide it.
    set_version(repo, "0.4.1")
    commit(repo, "unrelated regeneration")
    assert not release_check(Layout(repo), VENDOR, None).ok


def test_release_check__breaking_commit_with_major_bump_passes(repo: Path) -> None:
    set_version(repo, "0.4.0")
    commit(repo, "a release")
    break_resolved(repo)
    set_version(repo, "1.0.0")
    commit(repo, "breaking change, major bump")
    result = release_check(Layout(repo), VENDOR, None)
    assert result.ok and result.old_version == "0.4.0"


def test_release_check__uncommitted_breaking_change_compares_with_head(repo: Path) -> None:
    break_resolved(repo)
    assert release_base_ref(repo, VENDOR) == "HEAD"
    assert not release_check(Layout(repo), VENDOR, None).ok


def test_release_check__first_generation_has_nothing_to_compare(repo: Path) -> None:
    assert release_base_ref(repo, VENDOR) is None
    assert release_check(Layout(repo), VENDOR, None).ok


@pytest.mark.parametrize("vendor", VENDORS)
def test_release_check__this_checkout_carries_the_bumps_its_changes_need(lay: Layout, vendor: str) -> None:
    # The teeth in `make test`: a breaking spec change committed without a major bump fails here.
    result = release_check(lay, vendor, None)
    assert result.ok, (
        f"{vendor}: version {result.new_version}, but the changes since {result.base} "
        f"({result.old_version}) need {result.required}: run `scanwire generate {vendor}`"
    )


# -- #14 root discovery --------------------------------------------------------------------------------


def test_layout__the_working_directorys_checkout_wins(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SCANWIRE_ROOT", raising=False)
    inside = repo / "specs" / VENDOR
    monkeypatch.chdir(inside)
    assert layout().root == repo.resolve()


def test_layout__scanwire_root_overrides_the_working_directory(
    repo: Path, lay: Layout, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(repo)
    monkeypatch.setenv("SCANWIRE_ROOT", str(lay.root))
    assert layout().root == lay.root.resolve()
