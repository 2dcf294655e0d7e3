"""Coverage: every operation a seed documents, and every FACT operation of issue 3, is in the spec."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from helpers.seeds import SEED_FILES, SeedOperation, seed_mentions, seed_operations, shared_spec

from scanwire import VENDORS
from scanwire.specs import iter_operations

# Operations documented by the seeds (AppSpider's three GetScans entries are one operation).
SEED_COUNTS = {"advalidation": 1, "invicti": 1, "appspider": 17, "threadfix": 1, "soda": 3}
SEED_TOTAL = 23

# Operations issue 3 adds from vendor-notes.md FACTs.
FACT_OPERATIONS: dict[str, list[str]] = {
    "advalidation": ["GET /users/me", "POST /creatives/{creativeId}/rescan"],
    "invicti": [
        "GET /api/1.0/scans/status/{id}",
        "GET /api/1.0/scans/list",
        "GET /api/1.0/scans/listbystate",
        "POST /api/1.0/scans/cancel",
        "POST /api/1.0/scans/pause",
        "POST /api/1.0/scans/resume",
    ],
    "appspider": ["POST /Authentication/Login"],
    "threadfix": ["POST /applications/{appId}/upload"],
    "soda": ["POST /api/v1/scans", "GET /api/v1/test-login"],
}

# Operations issue 16 adds from vendor-notes-workflow.md (per vendor, as each vendor's part lands).
WORKFLOW_OPERATIONS: dict[str, list[str]] = {
    "appspider": [
        "GET /Config/GetConfigs",
        "GET /Config/GetConfig",
        "POST /Config/SaveConfig",
        "POST /Config/DeleteConfigs",
        "POST /Config/GetAttachment",
        "GET /EngineGroup/GetEngineGroupsForClient",
        "GET /EngineGroup/GetAllEngineGroups",
        "GET /Engine/GetEngines",
        "GET /Finding/GetVulnerabilities",
        "GET /Report/GetVulnerabilitiesSummaryXml",
        "GET /Report/GetReportZip",
        "GET /Report/GetCrawledLinksXml",
        "GET /Client/GetClients",
        "GET /Client/GetClient",
    ],
    "advalidation": [
        "GET /ad-specifications",
        "GET /ad-specifications/{adSpecificationId}",
        "GET /campaigns",
        "POST /campaigns",
        "GET /campaigns/{campaignId}",
        "GET /campaigns/{campaignId}/creatives",
        "POST /campaigns/{campaignId}/creatives",
        "GET /creatives/{creativeId}",
        "GET /creatives/{creativeId}/media-files",
        "GET /creatives/{creativeId}/variations",
        "GET /creatives/{creativeId}/variations/{variationCreativeId}",
    ],
    "threadfix": [
        "GET /teams",
        "GET /teams/{teamId}",
        "GET /teams/lookup",
        "POST /teams/new",
        "POST /teams/{teamId}/applications/new",
        "GET /applications/{appId}",
        "GET /applications/{teamName}/lookup",
        "GET /applications/allTeamLookup",
        "GET /applications/{appId}/scans",
        "GET /scans/{scanId}",
        "DELETE /scans/{scanId}/delete",
        "POST /applications/{appId}/upload/multi",
        "POST /vulnerabilities",
        "GET /scans/{scanId}/download",
    ],
    "invicti": [
        "GET /api/1.0/websites/list",
        "GET /api/1.0/websites/get/{id}",
        "GET /api/1.0/websites/get",
        "POST /api/1.0/websites/new",
        "POST /api/1.0/websites/update",
        "POST /api/1.0/websites/delete",
        "GET /api/1.0/scanprofiles/list",
        "GET /api/1.0/scanpolicies/list",
        "GET /api/1.0/scanprofiles/get/{id}",
        "GET /api/1.0/scanprofiles/get",
        "POST /api/1.0/scans/newwithprofile",
        "POST /api/1.0/scans/newfromscan",
        "POST /api/1.0/scans/incremental",
        "POST /api/1.0/scans/retest",
        "GET /api/1.0/scans/listbywebsite",
        "GET /api/1.0/scans/downloadscanfile",
        "POST /api/1.0/scans/new",
        "GET /api/1.0/scans/result/{id}",
        "GET /api/1.0/scans/report/",
        "POST /api/1.0/scans/delete",
    ],
    "soda": [
        "GET /api/v1/checks",
        "GET /api/v1/datasets",
        "GET /api/v1/datasets/attributes",
        "GET /api/v1/datasets/roles",
        "POST /api/v1/datasets/{datasetId}",
        "DELETE /api/v1/datasets/{datasetId}",
        "GET /api/v1/datasets/{datasetId}/profiling",
        "GET /api/v1/datasets/{datasetId}/metricMonitoring",
        "GET /api/v1/datasets/{datasetId}/diagnosticsWarehouse",
        "GET /api/v1/datasets/{datasetId}/responsibilities",
        "POST /api/v1/datasets/{datasetId}/responsibilities",
        "POST /api/v1/incidents/{incidentId}",
        "GET /api/v1/users",
        "GET /api/v1/userGroups",
        "POST /api/v1/userGroups",
        "GET /api/v1/userGroups/{userGroupId}",
        "POST /api/v1/userGroups/{userGroupId}",
        "DELETE /api/v1/userGroups/{userGroupId}",
    ],
}

SPEC_COUNTS = {"advalidation": 14, "invicti": 27, "appspider": 32, "threadfix": 16, "soda": 23}


@dataclass(frozen=True)
class Coverage:
    vendor: str
    seed: list[SeedOperation]
    spec: list[str]  # "METHOD /path" in document order
    matched: dict[str, str]  # seed key -> spec key
    missing: list[str]  # seed keys without a spec operation

    @property
    def fact(self) -> list[str]:
        return FACT_OPERATIONS[self.vendor]


def _match(op: SeedOperation, spec_ops: list[str]) -> str | None:
    """The spec operation for a seed entry; an entry without a method matches on its path alone."""
    if op.method is not None:
        return op.key if op.key in spec_ops else None
    candidates = [key for key in spec_ops if key.split(" ", 1)[1] == op.path]
    return candidates[0] if len(candidates) == 1 else None


def coverage(vendor: str) -> Coverage:
    spec_ops = [f"{m} {p}" for m, p, _ in iter_operations(shared_spec(vendor).doc)]
    seed = seed_operations(vendor)
    matched, missing = {}, []
    for op in seed:
        hit = _match(op, spec_ops)
        if hit is None:
            missing.append(op.key)
        else:
            matched[op.key] = hit
    return Coverage(vendor, seed, spec_ops, matched, missing)


def table() -> str:
    """Per-vendor seed-versus-spec table, for assertion messages and `pytest -s`."""
    rows: list[tuple[str, ...]] = [("vendor", "seed ops", "in spec", "FACT ops", "spec ops", "missing")]
    total = [0, 0, 0, 0]
    for vendor in VENDORS:
        cov = coverage(vendor)
        fact_in = sum(1 for key in cov.fact if key in cov.spec)
        counts = [len(cov.seed), len(cov.matched), fact_in, len(cov.spec)]
        total = [a + b for a, b in zip(total, counts, strict=True)]
        rows.append((vendor, *map(str, counts), ", ".join(cov.missing) or "-"))
    rows.append(("total", *map(str, total), ""))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows)


@pytest.mark.parametrize("vendor", VENDORS)
def test_seed_operations__are_all_in_the_spec(vendor: str) -> None:
    cov = coverage(vendor)
    assert cov.missing == [], f"{vendor}: seed operations missing from the spec\n{table()}"
    assert len(cov.seed) == SEED_COUNTS[vendor], table()


def test_seed_operations__total_23_across_vendors() -> None:
    counts = {vendor: len(seed_operations(vendor)) for vendor in VENDORS}
    print(table())
    assert counts == SEED_COUNTS, table()
    assert sum(counts.values()) == SEED_TOTAL, table()


@pytest.mark.parametrize("vendor", VENDORS)
def test_fact_operations__are_in_the_spec(vendor: str) -> None:
    cov = coverage(vendor)
    missing = [key for key in cov.fact if key not in cov.spec]
    assert missing == [], f"{vendor}: FACT operations of issue 3 missing\n{table()}"


@pytest.mark.parametrize("vendor", VENDORS)
def test_spec_operations__are_seed_or_fact_operations(vendor: str) -> None:
    cov = coverage(vendor)
    workflow = WORKFLOW_OPERATIONS.get(vendor, [])
    unexplained = [
        key
        for key in cov.spec
        if key not in cov.matched.values() and key not in cov.fact and key not in workflow
    ]
    assert unexplained == [], f"{vendor}: operations neither in the seed nor FACTs of issue 3\n{table()}"
    assert len(cov.spec) == SPEC_COUNTS[vendor]
    assert len(set(cov.spec)) == len(cov.spec)


@pytest.mark.parametrize("vendor", VENDORS)
def test_spec_operations__cite_the_seed_or_a_notes_fact(vendor: str) -> None:
    """A seed operation names the vendor's seed in x-source; a FACT operation names a FACT of the notes."""
    cov = coverage(vendor)
    ops = {f"{m} {p}": op for m, p, op in iter_operations(shared_spec(vendor).doc)}
    wrong = []
    for key, op in ops.items():
        raw = op.get("x-source")
        sources = raw if isinstance(raw, list) else [raw]
        files = {(s.get("file"), s.get("tag")) for s in sources if isinstance(s, dict)}
        if key in cov.matched.values() and (SEED_FILES[vendor], None) not in files:
            wrong.append(f"{key}: documented by {SEED_FILES[vendor]} but x-source does not cite it")
        if key in cov.fact and ("vendor-notes.md", "FACT") not in files:
            wrong.append(f"{key}: FACT operation without a vendor-notes.md FACT source")
    assert wrong == []


def test_seed_mentions__appspider_getscans_variants_merge_into_one() -> None:
    mentions = seed_mentions("appspider")
    getscans = [m for m in mentions if m.path == "/Scan/GetScans"]
    assert [m.method for m in getscans] == ["GET", None, None]
    assert len(mentions) == 19
    assert [op.key for op in seed_operations("appspider") if op.path == "/Scan/GetScans"] == [
        "GET /Scan/GetScans"
    ]


def test_seed_mentions__methodless_appspider_entries_match_on_path() -> None:
    cov = coverage("appspider")
    methodless = {op.path: cov.matched[op.key] for op in cov.seed if op.method is None}
    assert methodless == {
        "/Scan/GetScanStatuses": "GET /Scan/GetScanStatuses",
        "/Scan/HasScanImported": "GET /Scan/HasScanImported",
    }


def test_seed_mentions__strip_server_prefixes_and_doubled_braces() -> None:
    (invicti,) = seed_mentions("invicti")
    assert (invicti.written, invicti.path) == ("/api/1.0/scans/detail/{{id}}", "/api/1.0/scans/detail/{id}")
    (threadfix,) = seed_mentions("threadfix")
    assert threadfix.written == "/rest/{version}/applications/{appId}/pendingScan/{pendingScanId}/status"
    assert threadfix.key == "GET /applications/{appId}/pendingScan/{pendingScanId}/status"
    assert all(m.written.startswith("/AppSpiderEnterprise/rest/v1/") for m in seed_mentions("appspider"))
    assert [m.key for m in seed_mentions("advalidation")] == ["GET /scans/{scanId}"]


def test_match__fails_for_an_operation_the_spec_lacks() -> None:
    spec_ops = ["GET /Scan/GetScans", "POST /Scan/RunScan"]
    assert _match(SeedOperation("DELETE", "/x", "/Scan/RunScan"), spec_ops) is None
    assert _match(SeedOperation(None, "/x", "/Scan/Nope"), spec_ops) is None
    assert _match(SeedOperation(None, "/x", "/Scan/RunScan"), spec_ops) == "POST /Scan/RunScan"
