"""Spec + overlays -> the resolved document every consumer sees (generator, emulators, suites)."""

from __future__ import annotations

import contextlib
from typing import Any

from scanwire.overlay import Overlay, apply_overlays, load_overlay, overlay_files
from scanwire.paths import Layout
from scanwire.specs import (
    CHECKS_CACHE,
    Spec,
    check_spec,
    checks_key,
    load_spec,
    openapi_errors,
    validation_cache,
    validation_key,
)
from scanwire.yamlio import Problem, SourceError

__all__ = ["resolve_vendor"]


def _blame(spec: Spec, overlays: list[Overlay]) -> list[Problem]:
    """Re-apply action by action and name the first one after which the document is invalid."""
    found: list[Problem] = []

    class _Stop(Exception):
        pass

    def stop_at_first_invalid(overlay: Overlay, index: int, doc: dict[str, Any]) -> None:
        error = next(openapi_errors(doc), None)
        if error is not None:
            parts, message = error
            target = overlay.actions[index]["target"]
            found.append(
                overlay.source.problem(
                    ["actions", index, "target"],
                    f"action {index} (target {target!r}) leaves an invalid OpenAPI document: "
                    f"{'/'.join(str(p) for p in parts)}: {message}",
                    "overlay-result",
                )
            )
            raise _Stop

    with contextlib.suppress(_Stop):
        apply_overlays(spec.doc, overlays, after_action=stop_at_first_invalid)
    return found


def resolve_vendor(lay: Layout, vendor: str, *, check: bool = True) -> Spec:
    """Load the spec, apply its overlays in order and check both; SourceError names file, line and cause.

    The returned Spec carries the raw document (`doc`) and the overlaid one (`resolved`), and with `check`
    their validation keys (`doc_key`, `resolved_key`). A spec found clean before (same documents, same
    checks: `scanwire.specs.checks_key`, remembered under CHECKS_CACHE) is not checked again.
    """
    spec = load_spec(lay.spec(vendor), vendor)
    overlays = [load_overlay(p) for p in overlay_files(lay.overlays(vendor))]
    spec.resolved, _ = apply_overlays(spec.doc, overlays)
    if not check:
        return spec
    spec.doc_key, spec.resolved_key = validation_key(spec.doc), validation_key(spec.resolved)
    key = checks_key(spec, lay)
    clean = lay.root / CHECKS_CACHE / key if key is not None else None
    if clean is not None and clean.is_file():
        return spec
    problems = check_spec(spec, lay)
    if not problems and (
        next(openapi_errors(spec.resolved, validation_cache(lay), key=spec.resolved_key), None) is not None
    ):
        problems = _blame(spec, overlays)
    if problems:
        raise SourceError(problems)
    if clean is not None:
        with contextlib.suppress(OSError):  # a read-only checkout checks every time
            clean.parent.mkdir(parents=True, exist_ok=True)
            clean.touch()
    return spec
