"""`scanwire diff` and `release-check`: what a spec change does to code importing a generated package."""

from __future__ import annotations

import subprocess
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scanwire.diff import (
    RESOLVED_PATH,
    Change,
    DiffError,
    _git,
    bump,
    classify,
    default_base_ref,
    load_resolved_at_ref,
    render_changelog_entry,
)
from scanwire.paths import Layout
from scanwire.yamlio import loads_yaml

__all__ = [
    "ReleaseCheck",
    "ReleasePlan",
    "diff_vendor",
    "plan_release",
    "release_base_ref",
    "release_check",
    "version_at_ref",
]


def _version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split("."))


def _show(root: Path, ref: str, path: str) -> str | None:
    shown = subprocess.run(
        ["git", "-C", str(root), "show", f"{ref}:{path}"], capture_output=True, check=False
    )
    return shown.stdout.decode("utf-8") if shown.returncode == 0 else None


def stamp_at_ref(root: Path, ref: str, vendor: str) -> dict[str, Any]:
    text = _show(root, ref, f"generated/{vendor}/generation.toml")
    return tomllib.loads(text) if text else {}


def version_at_ref(root: Path, ref: str, vendor: str) -> str | None:
    stamp = stamp_at_ref(root, ref, vendor)
    return str(stamp.get("package", {}).get("version", "0.1.0")) if stamp else None


@dataclass
class ReleasePlan:
    base: str | None
    version: str
    changes: list[Change]
    changelog: str


def plan_release(
    lay: Layout,
    vendor: str,
    resolved: dict[str, Any],
    inputs: dict[str, str],
    tools: dict[str, str],
    fallback_version: str = "0.1.0",
) -> ReleasePlan:
    """The package version and CHANGELOG for a generation: the base release's version (last tag, else
    HEAD) bumped by what changed since it. A function of (base, working tree), so regenerating is
    idempotent and a release gets one bump however many commits led to it."""
    title = (
        f"# Changelog of {vendor}-client\n\nWritten by `scanwire generate` (scanwire.diff); newest first.\n\n"
    )
    try:
        ref = default_base_ref(lay.root, vendor)
        base_doc = load_resolved_at_ref(lay.root, ref, vendor)
    except DiffError:
        ref, base_doc = None, None
    if ref is None or base_doc is None:
        entries = f"## {fallback_version}\n\n- First generated release.\n"
        return ReleasePlan(ref, fallback_version, [], title + entries)
    base_stamp = stamp_at_ref(lay.root, ref, vendor)
    base_version = str(base_stamp.get("package", {}).get("version", fallback_version))
    base_inputs = base_stamp.get("inputs", {})
    generator_inputs = {
        k for k in {*inputs, *base_inputs} if k.startswith(("templates/", "runtime/", "overlays/codegen"))
    }
    tools_changed = base_stamp.get("tools") != tools or any(
        inputs.get(k) != base_inputs.get(k) for k in generator_inputs
    )
    changes = classify(base_doc, resolved)
    version = bump(base_version, changes, tools_changed)
    entries = (_show(lay.root, ref, f"generated/{vendor}/CHANGELOG.md") or "").removeprefix(title)
    if version != base_version:
        entries = render_changelog_entry(version, changes) + "\n" + entries
    if not entries.strip():
        entries = f"## {version}\n\n- First generated release.\n"
    return ReleasePlan(ref, version, changes, title + entries.rstrip("\n") + "\n")


def current_version(lay: Layout, vendor: str) -> str:
    path = lay.generated(vendor) / "generation.toml"
    if not path.exists():
        return "0.1.0"
    return str(tomllib.loads(path.read_text(encoding="utf-8")).get("package", {}).get("version", "0.1.0"))


def diff_vendor(
    lay: Layout, vendor: str, base: str | None, *, source: str = "tree"
) -> tuple[str, list[Change] | None]:
    """(base ref used, changes from the resolved spec at base to the current one); None: new vendor.

    `source="tree"` (`scanwire diff`): the current spec is the working tree's spec + overlays, resolved
    now, so an edit shows before `generate` runs. `source="generated"` (`release-check`): the committed
    generation's resolved spec, the one its version belongs to.
    """
    ref = base or default_base_ref(lay.root, vendor)
    old = load_resolved_at_ref(lay.root, ref, vendor)
    now: dict[str, Any]
    if source == "tree":
        from scanwire.resolve import resolve_vendor
        from scanwire.yamlio import SourceError

        try:
            resolved = resolve_vendor(lay, vendor, check=False).resolved
        except SourceError as exc:
            raise DiffError(f"cannot resolve {vendor}'s spec + overlays: {exc}") from None
        if resolved is None:
            raise DiffError(f"{vendor}: spec + overlays did not resolve")
        now = resolved
    else:
        current = lay.resolved(vendor)
        if not current.exists():
            raise DiffError(f"{current} is missing: run `scanwire generate {vendor}`")
        now = loads_yaml(current.read_text(encoding="utf-8"))
    if old is None:
        return ref, None
    return ref, classify(old, now)


def release_base_ref(root: Path, vendor: str) -> str | None:
    """What release-check compares with: the last release tag; without tags, the state before the last
    change of the vendor's resolved spec (the parent of the newest first-parent commit that changed it,
    or HEAD when the working tree changes it). None: no earlier state (a new vendor, a shallow clone).
    """
    tag = default_base_ref(root, vendor)
    if tag != "HEAD":
        return tag
    path = RESOLVED_PATH.format(vendor=vendor)
    if _git(root, "diff", "--quiet", "HEAD", "--", path).returncode == 1:
        return "HEAD"
    last = _git(root, "log", "--first-parent", "-n", "1", "--format=%H", "HEAD", "--", path)
    commit = last.stdout.decode().strip()
    if last.returncode != 0 or not commit:
        return None
    parent = _git(root, "rev-parse", "--verify", "--quiet", f"{commit}^")
    return parent.stdout.decode().strip() or None if parent.returncode == 0 else None


@dataclass
class ReleaseCheck:
    vendor: str
    base: str
    old_version: str | None
    new_version: str
    required: str | None
    changes: list[Change]

    @property
    def ok(self) -> bool:
        return self.required is None or _version_tuple(self.new_version) >= _version_tuple(self.required)


def release_check(lay: Layout, vendor: str, base: str | None) -> ReleaseCheck:
    if base is None:
        base = release_base_ref(lay.root, vendor)
        if base is None:  # nothing to compare with: the vendor's first generation
            return ReleaseCheck(vendor, "-", None, current_version(lay, vendor), None, [])
    ref, changes = diff_vendor(lay, vendor, base, source="generated")
    new_version = current_version(lay, vendor)
    old_version = version_at_ref(lay.root, ref, vendor)
    if changes is None or old_version is None:
        return ReleaseCheck(vendor, ref, old_version, new_version, None, changes or [])
    required = bump(old_version, changes, tools_changed=False)
    return ReleaseCheck(vendor, ref, old_version, new_version, required, changes)
