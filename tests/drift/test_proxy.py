"""The drift proxy as users run it: real sockets, the CLI, redaction that cannot leak, cassettes that
VCR.py loads, replay by `scanwire emulate --replay`, and the emulators' drift control endpoint."""

from __future__ import annotations

import base64
import json
import logging
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
import vcr
import yaml

from scanwire.drift.compare import Exchange, SpecComparer
from scanwire.drift.redact import MASK, Redactor
from tests.helpers.drift import PROBES, account, watched
from tests.helpers.generation import copy_checkout, resolved_spec
from tests.helpers.servers import SCANWIRE, emulator_server, free_port

ROOT = Path(__file__).resolve().parents[2]


def _files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


# -- redaction ----------------------------------------------------------------------------------


def test_proxy__known_secrets_appear_in_no_output_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    reports, record = tmp_path / "reports", tmp_path / "cassettes"
    w = watched("appspider", reports, record=record, patterns=["email"])
    acct = account(w.emu)
    url = PROBES["appspider"].url(w.emu)
    w.emu.drift.add({"kind": "extra_field", "operation": PROBES["appspider"].operation})
    w.send("GET", url + "?api_key=query-secret-1234&page=1")
    w.send(
        "GET",
        url,
        headers={"X-Session-Token": "header-secret-5678", "X-Note": "mail alice@example.com"},
    )
    w.send("GET", "/AppSpiderEnterprise/rest/v1/Scan/GetScanStatus?scanId=x&password=pw-in-query-9")
    token = w.headers["Authorization"].removeprefix("Basic ")
    from scanwire.drift.report import aggregate, write_reports

    write_reports(aggregate("appspider", w.observer.log_path), reports, scrub=w.observer.redactor.text)
    secrets = [
        acct["password"],
        quote(acct["password"]),
        token,
        "query-secret-1234",
        "header-secret-5678",
        "pw-in-query-9",
        "alice@example.com",
    ]
    written = _files(tmp_path)
    assert {p.suffix for p in written} >= {".jsonl", ".yaml", ".json", ".md", ".xml"}
    for path in written:
        text = path.read_text(encoding="utf-8")
        for secret in secrets:
            assert secret not in text, f"{secret!r} leaked into {path.name}"
    assert MASK in (record.glob("*.yaml").__next__()).read_text()
    for secret in secrets:
        assert secret not in caplog.text


def test_redactor__basic_credentials_and_their_encodings_are_masked_everywhere() -> None:
    spec = resolved_spec("soda")
    redactor = Redactor(spec)
    header = "Basic " + base64.b64encode(b"key-id-0001:the-secret-value").decode()
    assert redactor.headers_of([("Authorization", header)]) == [("Authorization", MASK)]
    text = redactor.text("user key-id-0001 pw the-secret-value again the-secret-value " + header)
    assert "key-id-0001" not in text and "the-secret-value" not in text
    assert redactor.value_of({"nested": [{"clientSecret": "x"}]}) == {"nested": [{"clientSecret": MASK}]}
    redactor.headers_of([("Set-Cookie", "SESSION=cookie-value-77; Path=/api/v1; HttpOnly")])
    assert redactor.text("GET /api/v1/scans") == "GET /api/v1/scans"
    assert redactor.text('{"session": "cookie-value-77"}') == '{"session": "' + MASK + '"}'


def test_redactor__reads_the_credential_places_from_the_spec() -> None:
    redactor = Redactor(resolved_spec("advalidation"))
    assert "x-api-key" in redactor.headers
    appspider = Redactor(resolved_spec("appspider"))
    assert appspider.secret_field("Token") and appspider.secret_field("password")


def test_drift_examples__recorded_answers_that_match_become_spec_examples(tmp_path: Path) -> None:
    from scanwire.drift.cli import write_checked
    from scanwire.drift.examples import example_actions
    from scanwire.resolve import resolve_vendor

    w = watched("soda", tmp_path / "reports", record=tmp_path / "cassettes")
    url = PROBES["soda"].url(w.emu)
    w.send("GET", url)
    w.emu.drift.add({"kind": "extra_field", "operation": "getScanLogs"})
    w.send("GET", url + "/logs")  # drifted: not an example
    actions = example_actions(w.emu.spec, tmp_path / "cassettes", "2026-01-03")
    assert [a["x-scanwire-evidence"]["operation"] for a in actions] == ["GET /api/v1/scans/{scanId}"]
    lay = copy_checkout(tmp_path / "checkout", ("soda",))
    overlay = {"overlay": "1.0.0", "info": {"title": "t", "version": "1"}, "actions": actions}
    write_checked(lay, "soda", overlay, lay.overlays("soda") / "20-observed-examples.yaml", w.emu.spec)
    resolved = resolve_vendor(lay, "soda").resolved  # the spec checks validate examples too
    assert resolved is not None
    media = resolved["paths"]["/api/v1/scans/{scanId}"]["get"]["responses"]["200"]["content"]
    assert (
        media["application/json"]["examples"]["observed-2026-01-03"]["value"]["id"] == url.rsplit("/", 1)[-1]
    )


def test_proxy__hostile_answers_pass_through_and_are_reported_briefly(tmp_path: Path) -> None:
    """Deep nesting, truncated JSON holding a secret and a body beyond what the proxy inspects: the client
    gets the bytes as sent, the log gets a short finding, the cassette no secret."""
    import asyncio

    from scanwire.drift.observe import Observer
    from scanwire.drift.proxy import DriftProxy

    bodies = {
        "/api/v1/scans/deep": b"[" * 100_000 + b"]" * 100_000,
        "/api/v1/scans/cut": b'{"id": "x", "password": "cut-secret-4242", "state": "comp',
        "/api/v1/scans/huge": b'{"id": "' + b"x" * 300_000 + b'"}',
    }

    async def upstream(scope: dict[str, object], receive: object, send: object) -> None:
        body = bodies[str(scope["path"])]
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )  # type: ignore[operator]
        for i in range(0, len(body), 65536):
            await send({"type": "http.response.body", "body": body[i : i + 65536], "more_body": True})  # type: ignore[operator]
        await send({"type": "http.response.body", "body": b"", "more_body": False})  # type: ignore[operator]

    spec = resolved_spec("soda")
    observer = Observer(
        "soda", spec, tmp_path / "r", Redactor(spec), record=tmp_path / "c", upstream="http://u"
    )
    proxy = DriftProxy("http://u", observer, inspect_limit=200_000)
    proxy.client = httpx.AsyncClient(transport=httpx.ASGITransport(upstream), base_url="http://u")  # type: ignore[arg-type]

    async def fetch(path: str) -> bytes:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(proxy), base_url="http://p") as c:  # type: ignore[arg-type]
            return (await c.get(path, auth=("acme-key-id", "acme-secret"))).content

    for path, body in bodies.items():
        assert asyncio.run(fetch(path)) == body
    lines = [json.loads(line) for line in observer.log_path.read_text().splitlines()]
    assert [sorted({d["kind"] for d in line["deviations"]}) for line in lines] == [["schema"], ["schema"], []]
    assert all(len(line["deviations"][0]["message"]) <= 300 for line in lines[:2])
    cassette = next((tmp_path / "c").glob("*.yaml")).read_text()
    assert "cut-secret-4242" not in cassette and "acme-secret" not in cassette
    assert "not recorded" in cassette  # the body beyond the inspect limit


def test_drift_report__unreadable_log_lines_are_counted_not_fatal(tmp_path: Path) -> None:
    from scanwire.drift.report import aggregate, render_junit, render_markdown

    log = tmp_path / "soda.observations.jsonl"
    finding = {"kind": "extra_field", "operation": "GET /x", "status": 200, "where": "$.a", "message": "m|n"}
    lines = [
        "not json",
        json.dumps({"operation": "GET /x", "time": 5, "deviations": [finding]}),
        "{}",
        "x" * 100,
    ]
    log.write_text("\n".join(lines) + "\n")
    summary = aggregate("soda", log)
    assert (summary.exchanges, summary.skipped_lines, len(summary.findings)) == (1, 3, 1)
    assert "m\\|n" in render_markdown(summary)  # a pipe cannot break the table
    assert 'failures="1"' in render_junit(summary)


# -- comparison ---------------------------------------------------------------------------------


def _exchange(status: int, body: object, headers: list[tuple[str, str]] | None = None) -> Exchange:
    return Exchange(
        "GET",
        "/api/v1/scans/abc",
        "",
        [],
        b"",
        status,
        [("content-type", "application/json"), *(headers or [])],
        json.dumps(body).encode(),
    )


def test_compare__nullability_headers_and_content_type_are_classified() -> None:
    spec = resolved_spec("soda")
    comparer = SpecComparer(spec)
    body = json.loads(json.dumps(resolved_example(spec)))
    body["state"] = None
    _, found = comparer.compare(_exchange(200, body, [("X-RateLimit-Remaining", "59")]))
    kinds = {d.kind for d in found}
    assert {"nullability", "header_undocumented"} <= kinds
    ex = _exchange(200, body)
    ex.response_headers = [("content-type", "text/html")]
    ex.response_body = b"<html>maintenance</html>"
    _, found = comparer.compare(ex)
    assert [d.kind for d in found] == ["undocumented_content_type"]
    _, found = comparer.compare(Exchange("GET", "/nowhere", "", [], b"", 404, [], b""))
    assert [d.kind for d in found] == ["unknown_operation"]


def resolved_example(spec: dict[str, object]) -> object:
    op = spec["paths"]["/api/v1/scans/{scanId}"]["get"]  # type: ignore[index]
    examples = op["responses"]["200"]["content"]["application/json"]["examples"]
    return next(iter(examples.values()))["value"]


def test_compare__a_conforming_answer_has_no_deviation() -> None:
    spec = resolved_spec("soda")
    _, found = SpecComparer(spec).compare(_exchange(200, resolved_example(spec)))
    assert found == []


# -- drift control endpoint -----------------------------------------------------------------------


def test_drift_control__bad_rules_get_a_400_naming_the_field(tmp_path: Path) -> None:
    w = watched("soda", tmp_path)
    from conformance.emulators.core.transport import SyncASGITransport

    with httpx.Client(transport=SyncASGITransport(w.emu), base_url="http://e") as c:
        bad = c.post("/_emulator/drift", json={"kind": "explode", "operation": "getScanStatus"})
        assert bad.status_code == 400 and "drift.kind" in bad.json()["error"]
        bad = c.post("/_emulator/drift", json={"kind": "status", "operation": "nope"})
        assert bad.status_code == 400 and "drift.operation" in bad.json()["error"]
        bad = c.post("/_emulator/drift", content=b"[1]", headers={"Content-Type": "application/json"})
        assert bad.status_code == 400
        ok = c.post("/_emulator/drift", json={"kind": "status", "operation": "getScanStatus", "status": 299})
        assert ok.status_code == 201 and ok.json()[0]["operation"] == "GET /api/v1/scans/{scanId}"
        c.post("/_emulator/reset")
        assert c.get("/_emulator/drift").json() == []


# -- real sockets: proxy, report, propose, replay -------------------------------------------------


@contextmanager
def _server(args: list[str], ready: str, log: Path, env: dict[str, str] | None = None) -> Iterator[None]:
    with log.open("a") as err:
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=err, env=env)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(ready, timeout=1)
                break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"{args} did not start:\n{log.read_text()}")
            time.sleep(0.1)
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_proxy_cli__streams_reports_proposes_records_and_replays(tmp_path: Path) -> None:
    checkout = copy_checkout(tmp_path / "checkout", ("soda",))
    checkout.resolved("soda").parent.mkdir(parents=True)
    shutil.copy(ROOT / "generated/soda/openapi.resolved.yaml", checkout.resolved("soda"))
    git = ["git", "-C", str(checkout.root), "-c", "user.name=t", "-c", "user.email=t@t"]
    for step in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "base"]):  # `scanwire diff` reads HEAD
        subprocess.run([*git, *step], check=True, capture_output=True)
    env = {"PATH": "/usr/bin:/bin", "SCANWIRE_ROOT": str(checkout.root), "PYTHONPATH": str(ROOT)}
    reports, record = tmp_path / "reports", tmp_path / "cassettes"
    port = free_port()
    with emulator_server("soda", tmp_path / "db.sqlite3", tmp_path / "emu.log") as upstream:
        httpx.post(f"{upstream}/_emulator/scenario", json={"name": "one_completed_scan"})
        scan = httpx.get(f"{upstream}/_emulator/scans").json()[0]["id"]
        httpx.post(f"{upstream}/_emulator/drift", json={"kind": "extra_field", "operation": "getScanStatus"})
        proxy = f"http://127.0.0.1:{port}"
        args = [*SCANWIRE, "proxy", "soda", "--upstream", upstream, "--port", str(port)]
        args += ["--reports", str(reports), "--record", str(record)]
        with _server(args, proxy + "/", tmp_path / "proxy.log", env):
            auth = ("acme-key-id", "acme-secret")
            direct = httpx.get(f"{upstream}/api/v1/scans/{scan}/logs", auth=auth)
            with httpx.stream("GET", f"{proxy}/api/v1/scans/{scan}/logs", auth=auth) as streamed:
                chunks = list(streamed.iter_raw())
            assert b"".join(chunks) == direct.content  # passed through unchanged
            drifted = httpx.get(f"{proxy}/api/v1/scans/{scan}", auth=auth)
            assert drifted.json()["driftExtra"] == "observed"
        run = subprocess.run(
            [*SCANWIRE, "drift", "report", "soda", "--reports", str(reports)],
            env=env,
            capture_output=True,
            text=True,
        )
        assert run.returncode == 1, run.stderr  # deviations found
        assert "extra_field" in (reports / "soda.md").read_text()
        findings = json.loads((reports / "soda.json").read_text())["findings"]
        assert {(f["operation"], f["kind"]) for f in findings} == {
            ("GET /", "unknown_operation"),  # the readiness probe of this test
            ("GET /api/v1/scans/{scanId}", "extra_field"),
        }
        run = subprocess.run(
            [*SCANWIRE, "drift", "propose", "soda", "--reports", str(reports), "--date", "2026-01-02"],
            env=env,
            capture_output=True,
            text=True,
        )
        assert run.returncode == 0, run.stdout + run.stderr
        overlay = yaml.safe_load((checkout.overlays("soda") / "20-observed-2026-01-02.yaml").read_text())
        assert [a["x-scanwire-evidence"]["count"] for a in overlay["actions"]] == [1]
        assert "feature" in run.stdout  # scanwire diff's view: a new optional field
        run = subprocess.run(
            [*SCANWIRE, "diff", "soda", "--base", "HEAD"],
            env=env,
            capture_output=True,
            text=True,
        )
        assert "driftExtra" in run.stdout, run.stdout + run.stderr

    basic = base64.b64encode(b"acme-key-id:acme-secret").decode()
    for path in [*_files(reports), *_files(record), tmp_path / "proxy.log"]:
        text = path.read_text(encoding="utf-8")
        assert "acme-secret" not in text and basic not in text, path

    # The cassette is VCR.py's: VCR.py itself plays it back to httpx.
    cassette = next(record.glob("*.yaml"))
    with vcr.use_cassette(str(cassette), record_mode="none", match_on=["method", "path"]):
        replayed = httpx.get(f"{upstream}/api/v1/scans/{scan}", auth=("x", "y"))
    assert replayed.json()["driftExtra"] == "observed"

    # And `scanwire emulate --replay` answers it before the (fresh, drift-free) emulator does.
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    args = [*SCANWIRE, "emulate", "soda", "--port", str(port), "--db", ":memory:", "--replay", str(record)]
    with _server(args, base + "/_emulator/state", tmp_path / "replay.log"):
        assert httpx.get(f"{base}/api/v1/scans/{scan}").json()["driftExtra"] == "observed"
        assert (
            httpx.get(f"{base}/api/v1/scans/unknown", auth=("acme-key-id", "acme-secret")).status_code == 404
        )


def test_emulate_replay__a_broken_cassette_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("interactions: [{request: {}}]\n")
    run = subprocess.run(
        [*SCANWIRE, "emulate", "soda", "--db", ":memory:", "--replay", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2
    assert "bad.yaml: interaction 0" in run.stderr and "Traceback" not in run.stderr


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__]))
