"""Client overhead: the generated Invicti client's GET + parse of the largest seed payload vs raw httpx.

The payload is the seed example of `getScanDetail` (a 96-field ScanTaskModel, from
generated/invicti/openapi.resolved.yaml). Every side talks to the same `httpx.MockTransport` that answers
with those bytes, so the transport costs next to nothing and the figures are the clients' own cost.
All sides authenticate with the same Basic credentials. Sides, interleaved round by round:

- raw:       `httpx.Client.get` + `json.loads`
- generated: `invicti_client.api.scans.get_scan_detail.sync_detailed` (`.parsed` is a ScanTaskModel)
- typed:     `invicti_client.connect(...).scans.get_scan_detail(id)` (the typed facade over the shared
             runtime: retries, auth, error mapping, then the same generated parser); skipped with a
             message when the package has no `connect`
- floor:     the same work as the typed client done by hand on a bare httpx.Client (the absolute URL
             built per call with the scan id percent-quoted, as a client polling many scans must and the
             generated code does; the runtime's cookie shortcut, msgspec decode,
             `ScanTaskModel.from_dict`): typed/floor is the cost of the runtime layer itself (retries,
             auth, error mapping, operation lookup). Until issue 18's last round the floor used one URL
             built before the loop, which no client polling different scans can do (~1-2 us a call).
- floor, URL not re-parsed: the floor with the URL made as the runtime makes it
             (`scanwire_runtime.urls.PathJoiner`: the base URL parsed once, the quoted path put in its
             parts) instead of httpx parsing each absolute URL (~8 us): typed/this is what the rest of
             the runtime layer costs, once that shortcut, which the plain floor does not take, is set aside.
- the clients again over an in-process ASGI app serving the payload (SyncASGITransport), for a
  more realistic per-call floor.

Then the decoders alone on the payload bytes: json.loads, msgspec untyped, the generated model
(`from_dict`) after each, and typed decoding straight from bytes with msgspec Structs and pydantic-core
(`model_validate_json`) on a model of the payload's 96 top-level fields (types taken from the values,
nested objects as dicts: a lower bound for a full typed tree).

Run: `.venv/bin/python bench/bench_client_overhead.py [--calls 2000] [--rounds 7]`.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, machine, median, print_ratio, print_table

BASE = "http://127.0.0.1"
SCAN_ID = "3f9a1b2c-0d4e-4f5a-8b6c-7d8e9f0a1b2c"
PATH = f"/api/1.0/scans/detail/{SCAN_ID}"
USER, TOKEN = "bench-user", "bench-token"
TARGET = 1.10  # issue 14
GOAL = 1.00  # issue 18 item 3: typed client vs raw httpx + json.loads
LAYER_GOAL = 1.05  # issue 18 item 3: the runtime layer (typed client vs the hand-made floor)
FLOOR_JOINED = "floor, URL not re-parsed (PathJoiner)"


def seed_payload() -> bytes:
    """The seed ScanTaskModel of getScanDetail's 200 answer, as compact JSON bytes."""
    from scanwire.yamlio import loads_yaml

    doc = loads_yaml((ROOT / "generated" / "invicti" / "openapi.resolved.yaml").read_text(encoding="utf-8"))
    content = doc["paths"]["/api/1.0/scans/detail/{id}"]["get"]["responses"]["200"]["content"]
    value = content["application/json"]["examples"]["seed"]["value"]
    return json.dumps(value, separators=(",", ":")).encode()


def asgi_app(payload: bytes) -> Callable[..., Any]:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        headers = [(b"content-type", b"application/json; charset=utf-8")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    return app


def per_call_us(fn: Callable[[], Any], calls: int) -> float:
    gc.collect()
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000, help="calls per side and round")
    parser.add_argument("--rounds", type=int, default=7, help="rounds (sides interleaved); medians are shown")
    args = parser.parse_args()

    import invicti_client
    from invicti_client import Client
    from invicti_client.api.scans import get_scan_detail
    from invicti_client.models import ScanTaskModel

    from conformance.emulators.core.transport import SyncASGITransport

    print(f"machine: {machine()}")
    payload = seed_payload()
    mock = httpx.MockTransport(
        lambda request: httpx.Response(
            200, content=payload, headers={"content-type": "application/json; charset=utf-8"}
        )
    )
    auth = httpx.BasicAuth(USER, TOKEN)
    raw = httpx.Client(base_url=BASE, transport=mock, auth=auth)
    generated = Client(base_url=BASE, httpx_args={"transport": mock, "auth": auth})

    def call_raw() -> Any:
        return json.loads(raw.get(PATH).content)

    def call_generated() -> Any:
        return get_scan_detail.sync_detailed(SCAN_ID, client=generated).parsed

    sides: dict[str, Callable[[], Any]] = {
        "raw httpx + json.loads": call_raw,
        "generated client": call_generated,
    }

    runtime_note = ""
    if hasattr(invicti_client, "connect"):
        runtime = invicti_client.connect(BASE, auth=(USER, TOKEN), transport=mock)

        def call_runtime() -> Any:
            return runtime.scans.get_scan_detail(SCAN_ID)

        sides["typed client (connect().scans.get_scan_detail)"] = call_runtime
    else:
        runtime_note = "runtime layer: skipped, invicti_client has no `connect` yet (runtime layer not in)"

    from scanwire_runtime.client import _lean_cookies
    from scanwire_runtime.errors import decode_json

    # Like for like: the typed client's default headers and timeout.
    floor_http = httpx.Client(
        base_url=BASE,
        transport=mock,
        auth=auth,
        timeout=30.0,
        headers={"Accept": "application/json", "User-Agent": invicti_client.VENDOR.user_agent},
    )
    _lean_cookies(floor_http)

    def call_floor() -> Any:
        url = f"{BASE}/api/1.0/scans/detail/{quote(SCAN_ID, safe='')}"
        response = floor_http.send(floor_http.build_request("GET", url))
        return ScanTaskModel.from_dict(decode_json(response)[1])

    sides["floor: httpx + msgspec + from_dict by hand"] = call_floor

    from scanwire_runtime.urls import PathJoiner

    join = PathJoiner(BASE)

    def call_floor_joined() -> Any:
        url = join.url(f"/api/1.0/scans/detail/{quote(SCAN_ID, safe='')}")
        assert url is not None
        response = floor_http.send(floor_http.build_request("GET", url))
        return ScanTaskModel.from_dict(decode_json(response)[1])

    sides[FLOOR_JOINED] = call_floor_joined

    asgi = SyncASGITransport(asgi_app(payload))
    raw_asgi = httpx.Client(base_url=BASE, transport=asgi, auth=auth)
    generated_asgi = Client(base_url=BASE, httpx_args={"transport": asgi, "auth": auth})
    sides["raw, ASGI app"] = lambda: json.loads(raw_asgi.get(PATH).content)
    sides["generated, ASGI app"] = lambda: (
        get_scan_detail.sync_detailed(SCAN_ID, client=generated_asgi).parsed
    )
    if hasattr(invicti_client, "connect"):
        typed_asgi = invicti_client.connect(BASE, auth=(USER, TOKEN), transport=asgi)
        sides["typed, ASGI app"] = lambda: typed_asgi.scans.get_scan_detail(SCAN_ID)

    for name, fn in sides.items():  # warm-up, and the answer is what it should be
        result = fn()
        expected: type = dict if name.startswith("raw") else ScanTaskModel
        if not isinstance(result, expected):
            raise SystemExit(f"{name}: expected a {expected.__name__}, got {type(result).__name__}")
    times: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(args.rounds):
        for name, fn in sides.items():
            times[name].append(per_call_us(fn, args.calls))
    asgi.close()

    decoders = decoder_sides(payload, ScanTaskModel)
    decoder_times = {
        name: median([per_call_us(fn, args.calls) for _ in range(3)]) for name, fn in decoders.items()
    }
    parse_only = decoder_times["json.loads + from_dict"]
    med = {name: median(values) for name, values in times.items()}
    base = med["raw httpx + json.loads"]
    rows = [
        [name, f"{med[name]:.1f}", f"{min(values):.1f}", f"{med[name] / base:.2f}x"]
        for name, values in times.items()
        if "ASGI" not in name
    ]
    asgi_base = med["raw, ASGI app"]
    rows += [
        [name, f"{med[name]:.1f}", f"{min(values):.1f}", f"{med[name] / asgi_base:.2f}x (vs raw, ASGI)"]
        for name, values in times.items()
        if "ASGI" in name
    ]
    print_table(
        f"GET + parse of a {len(payload)}-byte ScanTaskModel (96 fields); {args.calls} calls x "
        f"{args.rounds} rounds; transport httpx.MockTransport unless named",
        ["side", "median us/call", "min us/call", "vs raw"],
        rows,
    )
    print_table(
        "decoding the payload bytes alone",
        ["decoder", "median us/call", "vs json.loads"],
        [[name, f"{t:.1f}", f"{t / decoder_times['json.loads']:.2f}x"] for name, t in decoder_times.items()],
    )
    print(f"\nScanTaskModel.from_dict(json.loads(...)) alone: {parse_only:.1f} us/call")
    typed = "typed client (connect().scans.get_scan_detail)"
    if typed in med:
        extra = med[typed] - med["generated client"]
        print(
            f"typed client over the bare generated client: +{extra:.1f} us/call, "
            f"{med[typed] / med['generated client']:.2f}x"
        )
    else:
        print(runtime_note)
    print_ratio("generated/raw (MockTransport)", med["generated client"] / base, f"<= {TARGET:.2f}x")
    if typed in med:
        print_ratio(
            "typed client/raw (MockTransport)", med[typed] / base, f"<= {TARGET:.2f}x, goal <= {GOAL:.2f}x"
        )
        floor = med["floor: httpx + msgspec + from_dict by hand"]
        print_ratio(
            "runtime layer: typed client/floor (MockTransport)", med[typed] / floor, f"<= {LAYER_GOAL:.2f}x"
        )
        joined = med[FLOOR_JOINED]
        print(
            f"\nthe rest of the runtime layer: typed client/floor with the URL not re-parsed = "
            f"{med[typed] / joined:.2f}x ({med[typed] - joined:+.1f} us/call; the URL shortcut alone: "
            f"{floor - joined:.1f} us/call)"
        )


def decoder_sides(payload: bytes, model: Any) -> dict[str, Callable[[], Any]]:
    """The payload decoded by each decoder; typed Struct/pydantic models of its top-level fields."""
    import msgspec
    import pydantic

    value = json.loads(payload)

    def kind(v: Any) -> Any:
        if isinstance(v, bool):
            return bool
        if isinstance(v, int):
            return int
        if isinstance(v, float):
            return float
        if isinstance(v, str):
            return str
        if isinstance(v, list):
            return list[dict[str, Any]] if v and isinstance(v[0], dict) else list[Any]
        if isinstance(v, dict):
            return dict[str, Any]
        return Any

    fields = [(key, kind(v) | None, None) for key, v in value.items()]
    struct = msgspec.defstruct("ScanTaskStruct", fields, kw_only=True)
    typed_decoder = msgspec.json.Decoder(struct)
    untyped = msgspec.json.Decoder()
    pyd = pydantic.create_model(  # type: ignore[call-overload]
        "ScanTaskPydantic",
        __config__=pydantic.ConfigDict(extra="allow"),
        **{key.lower() + "_": (tp, pydantic.Field(default=None, alias=key)) for key, tp, _ in fields},
    )
    assert typed_decoder.decode(payload).Id == value["Id"]
    return {
        "json.loads": lambda: json.loads(payload),
        "msgspec untyped": lambda: untyped.decode(payload),
        "json.loads + from_dict": lambda: model.from_dict(json.loads(payload)),
        "msgspec untyped + from_dict": lambda: model.from_dict(untyped.decode(payload)),
        "msgspec typed Struct (top level)": lambda: typed_decoder.decode(payload),
        "pydantic model_validate_json (top level)": lambda: pyd.model_validate_json(payload),
    }


if __name__ == "__main__":
    main()
