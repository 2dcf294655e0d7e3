"""`scanwire drift examples`: recorded (redacted) answers that match the spec, proposed as spec examples.

For each operation, status and media type, the first recorded JSON answer the comparison finds nothing
wrong with becomes a named example (`observed-<date>`) on that media type, in a draft overlay
`overlays/<vendor>/20-observed-examples-<date>.yaml`. Media types that carry a single `example`
are left alone (OpenAPI allows `example` or `examples`, not both).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from scanwire.drift.cassette import load_interactions
from scanwire.drift.compare import Exchange, SpecComparer
from scanwire.drift.schemawalk import deref, jsonpath_of

__all__ = ["example_actions"]


def example_actions(spec: dict[str, Any], cassettes: Path, day: str) -> list[dict[str, Any]]:
    """Overlay actions adding one recorded answer per (operation, status, media type) as an example."""
    comparer = SpecComparer(spec)
    actions: list[dict[str, Any]] = []
    done: set[tuple[str, int, str]] = set()
    for (method, path, query), answers in load_interactions(cassettes).items():
        op = comparer.operation(method, path)
        if op is None:
            continue
        for answer in answers:
            status = int(answer["status"]["code"])
            headers = {str(k).lower(): v for k, v in (answer.get("headers") or {}).items()}
            ctype = str((headers.get("content-type") or [""])[0]).split(";")[0].strip().lower()
            body = (answer.get("body") or {}).get("string") or ""
            data = body.encode() if isinstance(body, str) else bytes(body)
            if (op.key, status, ctype) in done or not ctype.endswith("json") or not data:
                continue
            exchange = Exchange(
                method,
                urlsplit(path).path,
                query,
                [],
                b"",
                status,
                [(k, str(v[0] if isinstance(v, list) else v)) for k, v in headers.items()],
                data,
            )
            _, deviations = comparer.compare(exchange)
            if [d for d in deviations if d.kind != "request"]:
                continue
            responses = op.op.get("responses") or {}
            name = str(status) if str(status) in responses else None
            if name is None:
                continue
            base = ("paths", op.key.split(" ", 1)[1], op.method.lower(), "responses", name)
            response, rloc = deref(spec, responses[name], base)
            media = (response.get("content") or {}).get(ctype)
            if not isinstance(media, dict) or "example" in media:
                continue
            done.add((op.key, status, ctype))
            actions.append(
                {
                    "target": jsonpath_of((*rloc, "content", ctype)),
                    "description": (
                        f"A {op.key} {status} answer recorded by `scanwire proxy` (redacted), kept as an "
                        "example of what the server really sends."
                    ),
                    "update": {
                        "examples": {
                            f"observed-{day}": {
                                "summary": f"Recorded from the real server on {day} (redacted)",
                                "value": json.loads(data),
                            }
                        }
                    },
                    "x-scanwire-evidence": {"operation": op.key, "status": status, "recorded": day},
                }
            )
    return actions
