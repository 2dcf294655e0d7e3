"""Draft overlays from findings: one action per fix, each with its evidence, placed where it can act."""

from __future__ import annotations

from scanwire.drift.propose import applicable, propose
from scanwire.drift.report import DriftSummary, Finding
from tests.helpers.generation import resolved_spec


def _finding(kind: str, proposal: dict[str, object], where: str = "$.x") -> Finding:
    return Finding(kind, "GET /api/v1/scans/{scanId}", 200, where, "m", 3, 1.0e9, 1.0e9, None, proposal)


def test_propose__each_kind_becomes_actions_carrying_their_evidence() -> None:
    spec = resolved_spec("soda")
    summary = DriftSummary(
        "soda",
        3,
        findings=[
            _finding(
                "format_mismatch",
                {
                    "format": [
                        "components",
                        "schemas",
                        "PublicApiScanStatusResponse",
                        "properties",
                        "created",
                        "format",
                    ]
                },
            ),
            _finding(
                "nullability",
                {
                    "slot": ["components", "schemas", "PublicApiScanStatusResponse", "properties", "agentId"],
                    "add": {"type": "null"},
                },
            ),
            _finding("request", {}),
        ],
    )
    proposal = propose(summary, spec)
    assert [a.get("remove", False) for a in proposal.actions] == [True, True, False]
    widened = proposal.actions[2]["update"]["agentId"]["anyOf"]
    assert (
        widened[-1] == {"type": "null"}
        and widened[0]
        == spec["components"]["schemas"]["PublicApiScanStatusResponse"]["properties"]["agentId"]
    )
    assert all(a["x-scanwire-evidence"]["count"] == 3 for a in proposal.actions)
    assert [f.kind for f in proposal.unproposed] == ["request"]


def test_applicable__targets_only_the_codegen_overlays_create_are_not_proposed() -> None:
    spec = resolved_spec("soda")
    summary = DriftSummary(
        "soda",
        1,
        findings=[
            _finding(
                "extra_field",
                {"object": ["components", "schemas", "OnlyAfterCodegen"], "field": "a", "schema": {}},
            ),
            _finding(
                "extra_field",
                {
                    "object": ["components", "schemas", "PublicApiScanStatusResponse"],
                    "field": "b",
                    "schema": {},
                },
                "$.b",
            ),
        ],
    )
    before = {**spec, "components": {"schemas": {"PublicApiScanStatusResponse": {}}}}
    proposal = applicable(propose(summary, spec), before)
    assert [a["update"]["properties"] for a in proposal.actions] == [{"b": {}}]
    assert [f.where for f in proposal.unproposed] == ["$.x"]
