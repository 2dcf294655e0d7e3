"""`scanwire drift propose`: a draft overlay whose actions accept what the server was seen doing.

Each finding of a drift report becomes Overlay actions on the node the comparison named:

| deviation | action |
|---|---|
| new enum value | append the value to the `enum` array |
| type mismatch, nullability | replace the field's schema by `anyOf: [<as documented>, <as observed>]` |
| extra field | add the property (its observed type only, never its value) |
| missing required field | remove the name from `required` (RFC 9535 filter `[?@ == 'name']`) |
| format mismatch | remove the `format` |
| undocumented status / content type | add the response / media type (a documented schema the body fits) |
| undocumented rate-limit header, missing required header | document it / make it optional |

Every action carries its evidence (`x-scanwire-evidence`: operation, status, count, first seen) and a
description saying the same. Request deviations and unclassified ones are listed for review, not
patched. The draft is checked with the project's own overlay engine before it is kept.
"""

from __future__ import annotations

import copy
import json
import re
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scanwire.drift.report import DriftSummary, Finding
from scanwire.drift.schemawalk import jsonpath_of

__all__ = ["Proposal", "propose", "render_overlay"]

_WORDS = {
    "new_enum_value": "new enum value",
    "type_mismatch": "type mismatch",
    "nullability": "null where the schema forbids it",
    "extra_field": "undocumented field",
    "missing_required": "required field absent",
    "format_mismatch": "format mismatch",
    "undocumented_status": "undocumented status code",
    "undocumented_content_type": "undocumented content type",
    "header_undocumented": "undocumented header",
    "header_missing": "required header absent",
}


@dataclass
class Proposal:
    actions: list[dict[str, Any]] = field(default_factory=list)
    unproposed: list[Finding] = field(default_factory=list)  # findings no action can fix (listed)
    sources: list[Finding] = field(default_factory=list)  # every finding the proposal was made from


def _evidence(f: Finding) -> dict[str, Any]:
    return {
        "operation": f.operation,
        "status": f.status,
        "kind": f.kind,
        "where": f.where,
        "count": f.count,
        "first_seen": f.first_seen_iso,
    }


def _description(f: Finding, what: str) -> str:
    return (
        f"{what}. Observed: {_WORDS.get(f.kind, f.kind)} at {f.where} in {f.operation} {f.status}, "
        f"{f.count} time(s), first seen {f.first_seen_iso} (scanwire drift propose)."
    )


def _node(doc: dict[str, Any], loc: list[Any]) -> Any:
    node: Any = doc
    for part in loc:
        node = node[part]
    return node


def propose(summary: DriftSummary, spec: dict[str, Any]) -> Proposal:
    """Overlay actions for the findings of `summary`, targets located in the resolved `spec`."""
    out = Proposal(sources=list(summary.findings))
    removals: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    widen: dict[tuple[Any, ...], list[tuple[Finding, dict[str, Any]]]] = defaultdict(list)
    seen_enum: set[tuple[tuple[Any, ...], str]] = set()
    for f in summary.findings:
        p = f.proposal
        try:
            if f.kind in ("type_mismatch", "nullability") and p.get("slot"):
                widen[tuple(p["slot"])].append((f, p["add"]))
            elif f.kind == "new_enum_value" and "enum" in p:
                key = (tuple(p["enum"]), repr(p["value"]))
                if key in seen_enum:
                    continue
                seen_enum.add(key)
                updates.extend(_enum_companions(spec, f, list(p["enum"]), p["value"]))
                updates.append(
                    {
                        "target": jsonpath_of(tuple(p["enum"])),
                        "description": _description(f, f"Accept {p['value']!r} as a value"),
                        "update": p["value"],
                        "x-scanwire-evidence": _evidence(f),
                    }
                )
            elif f.kind == "extra_field" and "object" in p:
                updates.append(
                    {
                        "target": jsonpath_of(tuple(p["object"])),
                        "description": _description(f, f"Document the field {p['field']!r}"),
                        "update": {"properties": {p["field"]: p["schema"]}},
                        "x-scanwire-evidence": _evidence(f),
                    }
                )
            elif f.kind == "missing_required" and "required" in p:
                name = str(p["field"]).replace("\\", "\\\\").replace("'", "\\'")
                removals.append(
                    {
                        "target": f"{jsonpath_of(tuple(p['required']))}[?@ == '{name}']",
                        "description": _description(
                            f, f"{p['field']!r} is not always sent: make it optional"
                        ),
                        "remove": True,
                        "x-scanwire-evidence": _evidence(f),
                    }
                )
            elif f.kind == "format_mismatch" and "format" in p:
                removals.append(
                    {
                        "target": jsonpath_of(tuple(p["format"])),
                        "description": _description(f, "Drop the format the server does not keep to"),
                        "remove": True,
                        "x-scanwire-evidence": _evidence(f),
                    }
                )
            elif f.kind == "undocumented_status" and "responses" in p:
                response: dict[str, Any] = {"description": f"Observed from the real server ({f.operation})."}
                if p.get("content_type"):
                    response["content"] = {p["content_type"]: {"schema": p["schema"]}}
                updates.append(
                    {
                        "target": jsonpath_of(tuple(p["responses"])),
                        "description": _description(f, f"Document the {f.status} answer"),
                        "update": {str(f.status): response},
                        "x-scanwire-evidence": _evidence(f),
                    }
                )
            elif f.kind == "undocumented_content_type" and "response" in p:
                updates.append(
                    {
                        "target": jsonpath_of(tuple(p["response"])),
                        "description": _description(f, f"Document the {p['content_type']} body"),
                        "update": {
                            "content": {
                                p["content_type"] or "application/octet-stream": {"schema": p["schema"]}
                            }
                        },
                        "x-scanwire-evidence": _evidence(f),
                    }
                )
            elif f.kind == "header_undocumented" and "response" in p:
                updates.append(
                    {
                        "target": jsonpath_of(tuple(p["response"])),
                        "description": _description(f, f"Document the {p['header']} header"),
                        "update": {
                            "headers": {
                                p["header"]: {
                                    "description": "Observed from the real server.",
                                    "schema": p["schema"],
                                }
                            }
                        },
                        "x-scanwire-evidence": _evidence(f),
                    }
                )
            elif f.kind == "header_missing" and "header_loc" in p:
                updates.append(
                    {
                        "target": jsonpath_of(tuple(p["header_loc"])),
                        "description": _description(f, "The header is not always sent: make it optional"),
                        "update": {"required": False},
                        "x-scanwire-evidence": _evidence(f),
                    }
                )
            else:
                out.unproposed.append(f)
        except (KeyError, TypeError):
            out.unproposed.append(f)
    for slot, items in widen.items():
        try:
            original = copy.deepcopy(_node(spec, list(slot)))
        except (KeyError, IndexError, TypeError):
            out.unproposed.extend(f for f, _ in items)
            continue
        if isinstance(slot[-1], int):  # an allOf/anyOf member: re-adding it would change its place
            out.unproposed.extend(f for f, _ in items)
            continue
        adds: list[dict[str, Any]] = []
        for _, add in items:
            if add not in adds:
                adds.append(add)
        first = items[0][0]
        what = "Accept " + " and ".join(
            "null" if a.get("type") == "null" else f"{a.get('type')} values" for a in adds
        )
        evidence = [_evidence(f) for f, _ in items]
        removals.append(
            {
                "target": jsonpath_of(slot),
                "description": _description(first, f"{what} (the field is re-added just below)"),
                "remove": True,
                "x-scanwire-evidence": evidence[0] if len(evidence) == 1 else evidence,
            }
        )
        updates.append(
            {
                "target": jsonpath_of(slot[:-1]),
                "description": _description(
                    first, f"{what}: anyOf the documented schema and the observed type"
                ),
                "update": {slot[-1]: {"anyOf": [original, *adds]}},
                "x-scanwire-evidence": evidence[0] if len(evidence) == 1 else evidence,
            }
        )
    # Removals first: a re-added field must not be removed again.
    out.actions = removals + updates
    return out


# Arrays beside `enum` that name or describe each value, index for index (generators and emulators
# zip them with the enum): a new value needs an entry in each.
_COMPANIONS = ("x-enum-varnames", "x-enumNames", "x-enum-descriptions")


def _enum_companions(
    spec: dict[str, Any], f: Finding, enum_loc: list[Any], value: Any
) -> list[dict[str, Any]]:
    try:
        parent = _node(spec, enum_loc[:-1])
    except (KeyError, IndexError, TypeError):
        return []
    out = []
    for name in _COMPANIONS:
        companion = parent.get(name) if isinstance(parent, dict) else None
        if isinstance(companion, list) and len(companion) == len(parent.get("enum") or []):
            entry = (
                "Observed from the real server (scanwire drift propose)."
                if name == "x-enum-descriptions"
                else re.sub(r"\W+", "_", f"OBSERVED_{value}").upper().strip("_")
            )
            out.append(
                {
                    "target": jsonpath_of((*enum_loc[:-1], name)),
                    "description": _description(f, f"{name} entry of the new value {value!r}"),
                    "update": entry,
                    "x-scanwire-evidence": _evidence(f),
                }
            )
    return out


def applicable(proposal: Proposal, before: dict[str, Any]) -> Proposal:
    """The proposal without the actions whose target does not exist yet where a `20-` overlay applies.

    Targets are found in the resolved spec (every overlay applied); the draft applies before the
    `30-codegen-` overlays, so a node only those create cannot be its target. Such findings are listed
    as not proposed; actions made from the same finding (a removal and the update re-adding the field,
    an enum value and its name) go together.
    """
    import jsonpath_rfc9535 as jsonpath

    dropped: set[str] = set()
    for action in proposal.actions:
        if not list(jsonpath.find(action["target"], before)):
            dropped |= _keys(action)
    kept = [a for a in proposal.actions if not _keys(a) & dropped]
    gone = [
        f
        for f in proposal.sources
        if json.dumps(_evidence(f), sort_keys=True) in dropped and f not in proposal.unproposed
    ]
    return Proposal(kept, [*proposal.unproposed, *gone], proposal.sources)


def _keys(action: dict[str, Any]) -> set[str]:
    evidence = action["x-scanwire-evidence"]
    return {json.dumps(e, sort_keys=True) for e in (evidence if isinstance(evidence, list) else [evidence])}


def render_overlay(
    vendor: str, summary: DriftSummary, proposal: Proposal, day: str | None = None
) -> dict[str, Any]:
    day = day or time.strftime("%Y-%m-%d", time.gmtime())
    skipped = "".join(
        f"\n- not proposed: {f.kind} at {f.where} in {f.operation} {f.status} ({f.count}x): {f.message}"
        for f in proposal.unproposed
    )
    return {
        "overlay": "1.0.0",
        "info": {
            "title": f"Observed behaviour of the {vendor} server ({day}, draft)",
            "version": "1.0.0",
            "description": (
                f"DRAFT written by `scanwire drift propose` from {summary.exchanges} observed exchanges "
                f"({len(summary.findings)} distinct deviations). Review each action and its evidence, "
                f"check `scanwire diff {vendor}`, then keep or delete this file.{skipped}"
            ),
        },
        # A JSON round trip: actions sharing an evidence object must not become YAML anchors.
        "actions": json.loads(json.dumps(proposal.actions)),
    }


def overlay_path(overlays_dir: Path, day: str | None = None) -> Path:
    day = day or time.strftime("%Y-%m-%d", time.gmtime())
    return overlays_dir / f"20-observed-{day}.yaml"
