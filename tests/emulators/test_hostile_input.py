"""The hostile-input suite against a SERVED emulator (issue 15): a real `scanwire emulate invicti` process
on 127.0.0.1 gets oversized bodies (declared and chunked), deep JSON, non-finite numbers, broken
encodings, header and URL floods, malformed requests and slow clients, while a well-behaved client polls.

Asserted: every hostile request gets the vendor's envelope or a documented control-API error; the
process is still up; its peak memory (VmHWM) grows by at most RSS_GROWTH_BOUND over its resident
memory before the attacks; the polling client's p99 latency during the attacks stays within
P99_FACTOR of its p99 before them (a ratio in the same run, the baseline floored at 10 ms; bounded loops).
Invicti is served because it takes JSON bodies and HTTP Basic credentials (both attacked here).
"""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from conformance.emulators.core.limits import DEFAULT_MAX_BODY, MESSAGE_LIMIT
from conformance.emulators.core.server import HEADER_TIMEOUT, MAX_URL
from conformance.emulators.invicti import Plugin
from tests.helpers.servers import emulator_process

USER, TOKEN = Plugin.accounts["acme"]["user_id"], Plugin.accounts["acme"]["token"]
AUTH = "Basic " + base64.b64encode(f"{USER}:{TOKEN}".encode()).decode()
CANCEL = "/api/1.0/scans/cancel"
# Peak growth measured at 88-100 MiB with two attackers (a 3 MB JSON value costs tens of MB while
# openapi-core validates it); before the limits a single 100 MB body took RSS to 1.5-2.9 GB.
RSS_GROWTH_BOUND = 256 * 1024 * 1024
# Measured x3.5-x28 (5 ms -> 130-150 ms: the longest request, validating 3 MB, holds the loop); generous on
# 2 shared cores with the attacking threads in the measuring process. Before the limits: 14 s waits.
P99_FACTOR = 100.0
# A loopback poll's p99 can be 0.6 ms on a quiet box, and a ratio over that is timer noise: the baseline
# counts as at least this much, so the bound is never under 1 s (still far below the 14 s of before).
P99_BASELINE_FLOOR = 0.010
POLLS = 200
SLOW_CLIENTS = 20


class Served:
    def __init__(self, base: str, pid: int, port: int) -> None:
        self.base, self.pid, self.port = base, pid, port

    def memory(self, field: str) -> int:
        """VmRSS (now) or VmHWM (peak) of the server process, in bytes."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
        raise AssertionError(f"no {field} in /proc/{self.pid}/status")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("hostile")
    with emulator_process(
        "invicti",
        folder / "invicti.sqlite3",
        folder / "server.log",
        "--no-rate-limits",
        "--progression",
        "manual",
    ) as (base, proc):
        yield Served(base, proc.pid, int(base.rsplit(":", 1)[1]))
        assert proc.poll() is None, "the emulator died during the hostile suite"


def raw(
    port: int, head: bytes, body: Iterator[bytes] | None = None, timeout: float = 30
) -> tuple[int, bytes]:
    """Send `head` (and body pieces while the server reads them) on a fresh socket; (status, body) of the
    answer (status 0: the connection closed without one)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(head)
        for piece in body or ():
            try:
                sock.sendall(piece)
            except OSError:  # the server answered and stopped reading: expected for refused bodies
                break
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                return 0, data
            data += chunk
        head_part, _, rest = data.partition(b"\r\n\r\n")
        status = int(head_part.split(b" ", 2)[1])
        length = next(
            (
                int(line.split(b":")[1])
                for line in head_part.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            ),
            0,
        )
        while len(rest) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            rest += chunk
        return status, rest


def post_head(
    path: str, length: int | None, content_type: str = "application/json", auth: str = AUTH
) -> bytes:
    size = f"Content-Length: {length}\r\n" if length is not None else "Transfer-Encoding: chunked\r\n"
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {auth}\r\n"
        f"Content-Type: {content_type}\r\n{size}\r\n"
    ).encode("latin-1")


def vendor_envelope(status: int, body: bytes) -> dict[str, Any]:
    """Invicti's error envelope `{"Message": ...}`, short."""
    assert len(body) < 4 * MESSAGE_LIMIT, f"{status}: a {len(body)}-byte answer echoes the input"
    data = json.loads(body)
    assert isinstance(data, dict) and isinstance(data.get("Message"), str), body[:200]
    return data


# -- the attacks: each returns after checking its own answer ------------------------------------------


def declared_huge_body(s: Served) -> None:
    # 100 MB announced, 1 MB sent: refused from the header, the rest never read.
    status, body = raw(s.port, post_head(CANCEL, 100_000_000), iter([b"x" * 65536] * 16))
    assert status == 413
    vendor_envelope(status, body)


def chunked_body_over_the_limit(s: Served) -> None:
    piece = b"10000\r\n" + b"x" * 0x10000 + b"\r\n"
    status, body = raw(s.port, post_head(CANCEL, None), iter([piece] * (DEFAULT_MAX_BODY // 0x10000 + 16)))
    assert status == 413
    vendor_envelope(status, body)


def unauthenticated_huge_body(s: Served) -> None:
    status, body = raw(s.port, post_head(CANCEL, 100_000_000, auth="Basic bm9ib2R5Om5vdGhpbmc="))
    assert status == 401
    vendor_envelope(status, body)


def big_bad_value(s: Served) -> None:
    payload = json.dumps("x" * 3_000_000).encode()  # within the limit: validated, answered briefly
    status, body = raw(s.port, post_head(CANCEL, len(payload)) + payload)
    assert status in (400, 404)
    vendor_envelope(status, body)


def deep_json(s: Served) -> None:
    payload = b"[" * 100_000 + b"]" * 100_000
    status, body = raw(s.port, post_head(CANCEL, len(payload)) + payload)
    assert status == 400
    vendor_envelope(status, body)


def non_finite_number(s: Served) -> None:
    status, body = raw(s.port, post_head(CANCEL, 3) + b"NaN")
    assert status == 400
    vendor_envelope(status, body)


def control_non_finite(s: Served) -> None:
    response = httpx.put(
        f"{s.base}/_emulator/progression", content=b'{"mode": "reads", "every": NaN}', timeout=30,
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    assert response.status_code == 422 and "error" in response.json()
    assert httpx.get(f"{s.base}/_emulator/state", timeout=30).status_code == 200


def non_ascii_basic(s: Served) -> None:
    head = b"GET /api/1.0/scans/status/x HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    head += b"Authorization: Basic \xe9\xe9\xe9\xe9\r\n\r\n"
    status, body = raw(s.port, head)
    assert status == 401
    vendor_envelope(status, body)


def invalid_utf8_body(s: Served) -> None:
    status, body = raw(s.port, post_head(CANCEL, 4) + b'"\xff\xfe"')
    assert status == 400
    vendor_envelope(status, body)


def header_flood(s: Served) -> None:
    headers = b"".join(b"X-Flood-%d: %s\r\n" % (i, b"v" * 40) for i in range(3000))
    status, body = raw(s.port, b"GET /api/1.0/scans/list HTTP/1.1\r\nHost: 127.0.0.1\r\n" + headers + b"\r\n")
    assert status == 431
    vendor_envelope(status, body)


def url_flood(s: Served) -> None:
    status, body = raw(
        s.port, b"GET /api/1.0/scans/status/" + b"a" * (2 * MAX_URL) + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    )
    assert status == 414
    vendor_envelope(status, body)


def malformed_request(s: Served) -> None:
    status, body = raw(s.port, b"THIS IS NOT HTTP\r\n\r\n")
    assert status == 400
    vendor_envelope(status, body)


ATTACKS: list[Callable[[Served], None]] = [
    declared_huge_body,
    chunked_body_over_the_limit,
    unauthenticated_huge_body,
    big_bad_value,
    deep_json,
    non_finite_number,
    control_non_finite,
    non_ascii_basic,
    invalid_utf8_body,
    header_flood,
    url_flood,
    malformed_request,
]


@pytest.mark.parametrize("attack", ATTACKS, ids=[a.__name__ for a in ATTACKS])
def test_hostile_request__answered_in_the_vendor_envelope_or_a_documented_error(
    served: Served, attack: Callable[[Served], None]
) -> None:
    attack(served)
    assert httpx.get(f"{served.base}/_emulator/state", timeout=30).status_code == 200


def test_slow_clients__are_closed_after_the_header_deadline(served: Served) -> None:
    socks = []
    for _ in range(SLOW_CLIENTS):
        sock = socket.create_connection(("127.0.0.1", served.port), timeout=HEADER_TIMEOUT * 4)
        sock.sendall(b"GET /api/1.0/scans/list HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")  # never finished
        socks.append(sock)
    idle = socket.create_connection(("127.0.0.1", served.port), timeout=HEADER_TIMEOUT * 4)  # sends nothing
    socks.append(idle)
    try:
        for sock in socks:
            answer = b""
            while chunk := sock.recv(65536):  # a socket timeout here (never closed) fails the test
                answer += chunk
            assert answer == b"" or answer.startswith(b"HTTP/1.1 408")
    finally:
        for sock in socks:
            sock.close()


def _p99(base: str, scan_id: str) -> float:
    times = []
    with httpx.Client(base_url=base, headers={"Authorization": AUTH}, timeout=60) as http:
        for _ in range(POLLS):
            began = time.perf_counter()
            assert http.get(f"/api/1.0/scans/status/{scan_id}").status_code == 200
            times.append(time.perf_counter() - began)
    return sorted(times)[int(POLLS * 0.99) - 1]


def test_under_attack__process_up_memory_bounded_and_other_clients_p99_within_factor(served: Served) -> None:
    seeded = httpx.post(f"{served.base}/_emulator/scans", json={"account": "acme"}, timeout=30)
    scan_id = seeded.json()["id"]
    _p99(served.base, scan_id)  # warm-up: caches, first connections
    rss_before = served.memory("VmRSS")
    baseline = _p99(served.base, scan_id)

    stop = threading.Event()
    errors: list[BaseException] = []

    def attack_loop() -> None:
        rounds = 0
        while not stop.is_set() and rounds < 50:  # bounded
            for attack in ATTACKS:
                try:
                    attack(served)
                except BaseException as exc:  # reported after the measurement
                    errors.append(exc)
            rounds += 1

    with ThreadPoolExecutor(2) as pool:
        attackers = [pool.submit(attack_loop) for _ in range(2)]
        time.sleep(0.5)  # the attacks are under way
        under_attack = _p99(served.base, scan_id)
        stop.set()
        for attacker in attackers:
            attacker.result()
    peak_growth = served.memory("VmHWM") - rss_before
    print(
        f"\nbaseline p99 {baseline * 1000:.2f} ms, under attack {under_attack * 1000:.2f} ms "
        f"(x{under_attack / baseline:.1f}); RSS before {rss_before >> 20} MiB, "
        f"peak growth {peak_growth >> 20} MiB"
    )
    assert not errors, f"{len(errors)} hostile request(s) answered wrongly, first: {errors[0]!r}"
    assert peak_growth <= RSS_GROWTH_BOUND, f"peak RSS grew {peak_growth >> 20} MiB"
    bound = P99_FACTOR * max(baseline, P99_BASELINE_FLOOR)
    assert under_attack <= bound, f"p99 {under_attack:.4f}s vs {baseline:.4f}s before (bound {bound:.2f}s)"
