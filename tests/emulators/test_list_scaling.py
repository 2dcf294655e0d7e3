"""Issue 18: emulator lists are O(page) and creates are flat, shown without timing anything.

Cost is counted, not timed: the documents the store decodes (`store._decode`: every stored record a list
decodes) and the rows SQLite hands back (a trace of the SQL the store runs). With hundreds of scans
stored, a page of a few must decode and fetch about that page, not every scan; the old code decoded
every stored scan and document for one page, and every create reloaded them all (the queue position of
a new Queued scan).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from conformance.emulators.core import Emulator
from conformance.emulators.core import store as store_module

from .conftest import basic_auth, clock, control, seed

STORED = 120  # scans stored; pages are of PAGE
PAGE = 5


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[], int]]:
    """How many records the store decoded since the last call (its `_decode`, counted)."""
    seen = [0]
    real = store_module._decode

    def counting(text: str) -> Any:
        seen[0] += 1
        return real(text)

    monkeypatch.setattr(store_module, "_decode", counting)

    def taken() -> int:
        n, seen[0] = seen[0], 0
        return n

    yield taken


def _invicti(
    emulator: Callable[..., Emulator], emu_client: Callable[..., httpx.Client]
) -> tuple[Emulator, httpx.Client]:
    emu = emulator("invicti")
    return emu, emu_client(emu, auth=basic_auth(emu))


def _fill(http: httpx.Client, n: int, **body: Any) -> list[str]:
    return [seed(http, "Complete", **body) for _ in range(n)]


def test_invicti_lists__decode_only_the_page(
    emulator: Callable[..., Emulator], emu_client: Callable[..., httpx.Client], decodes: Callable[[], int]
) -> None:
    _emu, http = _invicti(emulator, emu_client)
    ids = _fill(http, STORED)
    decodes()
    listed = http.get("/api/1.0/scans/list", params={"page": 2, "pageSize": PAGE}).json()
    list_cost = decodes()
    assert [s["Id"] for s in listed["List"]] == list(reversed(ids))[PAGE : 2 * PAGE]
    assert listed["TotalItemCount"] == STORED
    by_state = http.get(
        "/api/1.0/scans/listbystate",
        params={"scanTaskState": "Complete", "targetUrlCriteria": "invicti", "page": 1, "pageSize": PAGE},
    ).json()
    state_cost = decodes()
    assert by_state["TotalItemCount"] == STORED and len(by_state["List"]) == PAGE
    # A page of PAGE scans: its engine records and documents, and a few settings; never the STORED.
    assert PAGE <= list_cost <= 4 * PAGE, list_cost  # at least the page: the counter counts
    assert PAGE <= state_cost <= 4 * PAGE, state_cost


def test_invicti_list__sql_reads_one_page_of_rows(
    emulator: Callable[..., Emulator], emu_client: Callable[..., httpx.Client]
) -> None:
    emu, http = _invicti(emulator, emu_client)
    _fill(http, STORED)
    rows = [0]
    real = emu.store._db

    class Counting:
        """The store's connection, counting the rows each query hands back."""

        def execute(self, sql: str, args: Any = ()) -> Any:
            cursor = real.execute(sql, args)
            if sql.lstrip().upper().startswith("SELECT"):
                fetched = cursor.fetchall()
                rows[0] += len(fetched)
                return _Fetched(fetched)
            return cursor

        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

    emu.store._db = Counting()  # type: ignore[assignment]
    try:
        answer = http.get("/api/1.0/scans/list", params={"page": 3, "pageSize": PAGE})
    finally:
        emu.store._db = real
    assert answer.status_code == 200 and len(answer.json()["List"]) == PAGE
    assert rows[0] <= 4 * PAGE, rows[0]


class _Fetched:  # stands in for a sqlite3 cursor already fetched
    def __init__(self, rows: list[Any]) -> None:
        self.rows = rows

    def fetchone(self) -> Any:
        return self.rows[0] if self.rows else None

    def fetchall(self) -> list[Any]:
        return self.rows

    def __iter__(self) -> Iterator[Any]:
        return iter(self.rows)


def test_invicti_create__does_not_reload_stored_scans(
    emulator: Callable[..., Emulator], emu_client: Callable[..., httpx.Client], decodes: Callable[[], int]
) -> None:
    _emu, http = _invicti(emulator, emu_client)
    _fill(http, STORED, progression={"mode": "manual"})
    decodes()
    first = seed(http, "Queued", progression={"mode": "manual"})
    cost = decodes()
    second = seed(http, "Queued", progression={"mode": "manual"})
    assert decodes() <= cost < STORED
    # The queue position still counts the other Queued scans (three minutes each), by index.
    queued = [control(http, "GET", f"/scans/{i}")["vendor"]["EstimatedLaunchTime"] for i in (first, second)]
    assert queued == [3, 6]


def test_invicti_lists__catch_up_moves_only_due_scans(
    emulator: Callable[..., Emulator], emu_client: Callable[..., httpx.Client]
) -> None:
    emu, http = _invicti(emulator, emu_client)
    timed = [seed(http, "Queued", progression={"mode": "seconds", "every": 10}) for _ in range(3)]
    _fill(http, 40, progression={"mode": "manual"})
    seed(http, "Queued", progression={"mode": "manual"})
    url, params = "/api/1.0/scans/listbystate", {"scanTaskState": "Queued", "page": 1, "pageSize": 50}
    assert emu.engine.catch_up() == 0  # nothing due yet: not one scan looked at
    assert http.get(url, params=params).json()["TotalItemCount"] == 4
    clock(emu).advance(10)
    assert emu.engine.catch_up() == 3  # the three due, not the 44 stored
    moved = http.get(url, params={**params, "scanTaskState": "Scanning"}).json()
    assert sorted(s["Id"] for s in moved["List"]) == sorted(timed)
    assert http.get(url, params=params).json()["TotalItemCount"] == 1


def test_invicti_lists__default_progression_change_reaches_listed_states(
    emulator: Callable[..., Emulator], emu_client: Callable[..., httpx.Client]
) -> None:
    emu, http = _invicti(emulator, emu_client)
    queued = [seed(http, "Queued") for _ in range(2)]  # under the default progression (reads)
    done = seed(http, "Complete")
    control(http, "PUT", "/progression", {"mode": "seconds", "every": 5})
    clock(emu).advance(5)
    url = "/api/1.0/scans/listbystate"
    scanning = http.get(url, params={"scanTaskState": "Scanning", "page": 1, "pageSize": 10}).json()
    assert sorted(s["Id"] for s in scanning["List"]) == sorted(queued)
    assert control(http, "GET", f"/scans/{done}")["state"] == "Complete"
    assert emu.engine.catch_up() == 0  # the finished scan is never due; the two moved, not yet again
    clock(emu).advance(5)
    assert emu.engine.catch_up() == 2


def test_control_listing__pages_and_filters(
    emulator: Callable[..., Emulator], emu_client: Callable[..., httpx.Client], decodes: Callable[[], int]
) -> None:
    _emu, http = _invicti(emulator, emu_client)
    ids = _fill(http, 30)
    paused = seed(http, "Paused")
    decodes()
    answer = http.get("/_emulator/scans", params={"limit": 3, "offset": 2})
    assert [s["id"] for s in answer.json()] == ids[2:5]
    assert answer.headers["x-total-count"] == "31"
    assert decodes() <= 4 * 3
    assert [s["id"] for s in http.get("/_emulator/scans", params={"state": "Paused"}).json()] == [paused]
    for params, name in (
        ({"limit": "0"}, "limit"),
        ({"offset": "x"}, "offset"),
        ({"state": "Nope"}, "state"),
    ):
        bad = http.get("/_emulator/scans", params=params)
        assert bad.status_code == 400 and name in bad.json()["error"], bad.text


def test_appspider_get_scans__decodes_only_the_page(
    emulator: Callable[..., Emulator], decodes: Callable[[], int]
) -> None:
    emu = emulator("appspider")
    backend: Any = emu.backend
    account = next(iter(emu.accounts))
    configs = backend.configs(account)
    for n in range(STORED):
        name = configs[n % len(configs)]["Name"]
        backend.seed_scan(account, "Completed", {"configName": name}, {"mode": "manual"})
    decodes()
    total, fetch = backend.list_scans(account, [configs[0]["Id"]])
    page = fetch(PAGE, PAGE)
    cost = decodes()
    assert total == len(range(0, STORED, len(configs)))
    assert len(page) == PAGE and all(s["ConfigId"] == configs[0]["Id"] for s in page)
    assert PAGE <= cost <= 4 * PAGE + len(configs) + 2, cost


# -- every other paged list: the cost of one page does not grow with what is stored ---------------------
#
# Cost here is SQLite's own work (virtual machine steps, counted by a progress handler) and the text the
# store decodes, for one page, with SMALL and then 4 x SMALL records of the kind the list reads. A list
# that walks, sorts or decodes every record (the old Soda datasets, checks, log lines and
# responsibilities) costs about 4x as much; one read by the page costs about the same.

SMALL = 60


class Cost:
    """SQLite steps and decoded characters while a block runs (`with cost: ...`; then `.steps`, `.chars`)."""

    def __init__(self, emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
        self.db = emu.store._db
        self.steps = self.chars = 0
        real = store_module._decode

        def counting(text: str) -> Any:
            self.chars += len(text)
            return real(text)

        monkeypatch.setattr(store_module, "_decode", counting)

    def __enter__(self) -> Cost:
        self.steps = self.chars = 0

        def step() -> int:
            self.steps += 1
            return 0

        self.db.set_progress_handler(step, 10)
        return self

    def __exit__(self, *exc: object) -> None:
        self.db.set_progress_handler(None, 0)


def _flat(seen: dict[str, list[tuple[int, int]]]) -> None:
    """A page with 4x the records stored costs at most 1.5x (plus a little): O(page), not O(records).
    `seen`: per list, (SQLite steps, characters decoded) with the small and the large store."""
    grown = []
    for what, (small, large) in seen.items():
        assert small[0] > 0 and small[1] > 0, f"{what}: the counters counted nothing"
        if large[0] > 1.5 * small[0] + 20 or large[1] > 1.5 * small[1] + 2000:
            grown.append(f"{what}: SQLite steps {small[0]} -> {large[0]}, decoded {small[1]} -> {large[1]}")
    assert not grown, grown


def test_soda_datasets_and_checks__a_page_reads_the_page(
    emulator: Callable[..., Emulator], monkeypatch: pytest.MonkeyPatch
) -> None:
    emu = emulator("soda")
    backend: Any = emu.backend
    owner = emu.store.list("soda_user", "acme", limit=1)[0].id
    cost = Cost(emu, monkeypatch)
    seen: dict[str, list[tuple[int, int]]] = {"datasets": [], "checks": []}
    added = 0
    for target in (SMALL, 4 * SMALL):
        with emu.store.transaction():
            for i in range(added, target):
                backend.add_dataset("acme", f"bulk_{i:04d}", "lake", owner, emu.clock.now())
        added = target
        for name, listing in (
            ("datasets", lambda: backend.datasets_page("acme", None, None, None)),
            ("checks", lambda: backend.checks_page("acme", None, None)),
        ):
            with cost:  # the count (the tally less the hidden ones), the due deletions, one page
                total, fetch = listing()
                page = fetch(PAGE, PAGE)
            assert total >= target and len(page) == PAGE
            seen[name].append((cost.steps, cost.chars))
    _flat(seen)


def test_soda_lists__another_organisations_records_cost_nothing(
    emulator: Callable[..., Emulator],
    emu_client: Callable[..., httpx.Client],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Whole requests (count, due deletions, page): datasets piling up in globex leave acme's lists flat."""
    emu = emulator("soda")
    backend: Any = emu.backend
    http = emu_client(emu, auth=basic_auth(emu, "acme"))
    owner = emu.store.list("soda_user", "globex", limit=1)[0].id
    cost = Cost(emu, monkeypatch)
    seen: dict[str, list[tuple[int, int]]] = {"/api/v1/datasets": [], "/api/v1/checks": []}
    added = 0
    for target in (SMALL, 4 * SMALL):
        with emu.store.transaction():
            for i in range(added, target):
                backend.add_dataset("globex", f"bulk_{i:04d}", "lake", owner, emu.clock.now())
        added = target
        for url, steps in seen.items():
            with cost:
                answer = http.get(url, params={"page": 0, "size": 10})
            assert answer.status_code == 200 and answer.json()["content"], answer.text
            steps.append((cost.steps, cost.chars))
    _flat(seen)


def test_soda_logs_and_responsibilities__a_page_reads_the_page(
    emulator: Callable[..., Emulator],
    emu_client: Callable[..., httpx.Client],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    emu = emulator("soda")
    http = emu_client(emu, auth=basic_auth(emu))
    cost = Cost(emu, monkeypatch)
    dataset = http.get("/api/v1/datasets", params={"size": 10}).json()["content"][0]["id"]
    user = http.get("/api/v1/users", params={"size": 10}).json()["content"][0]["userId"]
    roles = http.get("/api/v1/datasets/roles", params={"size": 10}).json()["content"]
    seen: dict[str, list[tuple[int, int]]] = {"logs": [], "responsibilities": []}
    for lines in (10 * SMALL, 40 * SMALL):  # log pages are of 100 lines at least
        scan = seed(http, "completed", data={"logLines": lines})
        with cost:
            page = http.get(f"/api/v1/scans/{scan}/logs", params={"page": 1, "size": 100}).json()
        assert page["totalElements"] >= lines and len(page["content"]) == 100
        assert page["content"][0]["index"] == 100
        seen["logs"].append((cost.steps, cost.chars))
    for n in (SMALL, 4 * SMALL):
        entries = [{"type": "user", "userId": user, "roleId": roles[i % len(roles)]["id"]} for i in range(n)]
        put = http.post(f"/api/v1/datasets/{dataset}/responsibilities", json={"responsibilities": entries})
        assert put.status_code == 201, put.text
        url = f"/api/v1/datasets/{dataset}/responsibilities"
        with cost:
            page = http.get(url, params={"page": 1, "size": 10}).json()
        assert page["totalElements"] == n
        assert [e["role"]["id"] for e in page["content"]] == [e["roleId"] for e in entries[10:20]]
        seen["responsibilities"].append((cost.steps, cost.chars))
    _flat(seen)


def test_advalidation_media_files__a_page_reads_the_page(
    emulator: Callable[..., Emulator],
    emu_client: Callable[..., httpx.Client],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A creative's media files are found by their parent alone (not by walking every creative)."""
    emu = emulator("advalidation")
    backend: Any = emu.backend
    account, creds = next(iter(emu.accounts.items()))
    http = emu_client(emu, headers={"X-API-Key": creds["api_key"]})
    campaign = emu.store.list("campaign", account, limit=1)[0].data["id"]
    media = "".join(f"<MediaFile>https://cdn.example/{n}.mp4</MediaFile>" for n in range(12))
    parent = backend.upload(account, campaign, f"<VAST>{media}</VAST>", None)[0]["id"]
    url = emu.spec["servers"][0]["url"].split("/", 3)[3]
    cost = Cost(emu, monkeypatch)
    seen = []
    for n in (SMALL, 4 * SMALL):  # other creatives (single images) pile up in the campaign meanwhile
        with emu.store.transaction():
            while emu.store.count("creative", account) < n:
                backend.upload(account, campaign, _PNG, None)
        with cost:
            page = http.get(f"/{url}/creatives/{parent}/media-files")
        assert page.status_code == 200, page.text
        assert page.json()["meta"]["pagination"]["totalCount"] == 12
        seen.append((cost.steps, cost.chars))
    _flat({"media files": seen})


_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cf"
    "c0f01f0005000201b5f0e08a0000000049454e44ae426082"
)


def test_invicti_list_by_website__other_websites_scans_cost_nothing(
    emulator: Callable[..., Emulator],
    emu_client: Callable[..., httpx.Client],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """listbywebsite finds a website's scans by an index on the target, not by walking every scan."""
    emu, http = _invicti(emulator, emu_client)
    mine = [seed(http, "Complete", data={"TargetUrl": "https://mine.example/"}) for _ in range(3)]
    cost = Cost(emu, monkeypatch)
    seen: list[tuple[int, int]] = []
    for n in (SMALL, 4 * SMALL):
        while emu.store.count("scan") < n:
            seed(http, "Complete", data={"TargetUrl": "https://other.example/"})
        with cost:
            answer = http.get(
                "/api/1.0/scans/listbywebsite", params={"websiteUrl": "https://mine.example/", "pageSize": 2}
            ).json()
        assert answer["TotalItemCount"] == 3 and [s["Id"] for s in answer["List"]] == mine[:2]
        seen.append((cost.steps, cost.chars))
    _flat({"listbywebsite": seen})


def test_appspider_vulnerabilities_of_a_scan__counted_by_its_tally(
    emulator: Callable[..., Emulator],
    emu_client: Callable[..., httpx.Client],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A page of one scan's findings costs the same whatever the scan has: the total is the tally the
    scan's document keeps, not a walk over its findings."""
    emu = emulator("appspider")
    backend: Any = emu.backend
    account, creds = next(iter(emu.accounts.items()))
    token = backend.issue_token(account, creds["username"])
    http = emu_client(emu, headers={"Authorization": f"Basic {token}"})
    scan = backend.seed_scan(account, "Completed", {}, {"mode": "manual"})
    made = emu.store.list("finding", account, where={"scan": scan.id})
    template = made[0].data
    cost = Cost(emu, monkeypatch)
    seen: list[tuple[int, int]] = []
    for n in (SMALL, 4 * SMALL):  # more findings of the one scan, as a large report would have
        with emu.store.transaction():
            for i in range(emu.store.count("finding", account), n):
                emu.store.put("finding", f"extra-{i}", account, {**template, "Id": f"extra-{i}"})
            emu.store.patch("scan.data", scan.id, {"findings": n})
        with cost:
            answer = http.get(
                f"{emu.prefixes[0]}/Finding/GetVulnerabilities",
                params={"scanId": scan.id, "page": 0, "pageSize": PAGE},
            )
        assert answer.status_code == 200, answer.text
        assert answer.json()["TotalCount"] == n and len(answer.json()["Findings"]) == PAGE
        seen.append((cost.steps, cost.chars))
    _flat({"GetVulnerabilities?scanId": seen})


def test_soda_store_written_before_lines_were_records__still_lists(
    emulator: Callable[..., Emulator], emu_client: Callable[..., httpx.Client]
) -> None:
    """A store file from before: log lines and responsibilities inside the scan's and dataset's
    documents. Both list as they did; the scan's next transition moves its lines out into records."""
    emu = emulator("soda")
    http = emu_client(emu, auth=basic_auth(emu))
    scan = seed(http, "queuing", progression={"mode": "manual"})
    old_lines = [
        {"level": "info", "message": f"old {i}", "timestamp": "2024-01-01T00:00:00.000Z"} for i in range(3)
    ]
    emu.store.patch("scan.data", scan, {"logs": old_lines, "logCount": None})
    dataset = http.get("/api/v1/datasets", params={"size": 10}).json()["content"][0]["id"]
    user = http.get("/api/v1/users", params={"size": 10}).json()["content"][0]["userId"]
    old = [{"type": "user", "userId": user, "roleId": "role-viewer-acme"}] * 2
    emu.store.patch("soda_dataset", dataset, {"responsibilities": old, "responsibilityCount": None})

    def lines() -> list[str]:
        page = http.get(f"/api/v1/scans/{scan}/logs", params={"size": 100}).json()
        assert [line["index"] for line in page["content"]] == list(range(page["totalElements"]))
        return [line["message"] for line in page["content"]]

    assert lines() == ["old 0", "old 1", "old 2"]
    listed = http.get(f"/api/v1/datasets/{dataset}/responsibilities", params={"size": 10}).json()
    assert listed["totalElements"] == 2 and {e["role"]["name"] for e in listed["content"]} == {"Viewer"}
    control(http, "POST", f"/scans/{scan}/advance", {"steps": 1})
    assert lines()[:3] == ["old 0", "old 1", "old 2"] and len(lines()) == 4
    assert emu.store.count("soda_scan_log", where={"scan": scan}) == 4
