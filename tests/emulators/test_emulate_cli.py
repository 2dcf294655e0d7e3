"""`scanwire emulate` as a user runs it (issue 15 #5, #7, #8, #11): bad options are one-line errors, the
banner names real URLs, a SIGTERM ends the server within seconds even with a request held by a fault,
and the SQLite file is left without -wal/-shm."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import threading
from pathlib import Path

import httpx
import pytest

from conformance.emulators.core.server import GRACEFUL_SHUTDOWN
from tests.helpers.servers import SCANWIRE, emulator_process, free_port

SHUTDOWN_BOUND = GRACEFUL_SHUTDOWN + 12  # seconds: the graceful timeout, plus the interpreter's exit


def emulate(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SCANWIRE, "emulate", *args], capture_output=True, text=True, timeout=60, check=False, cwd=cwd
    )


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["soda", "--progression", "reads:abc"], "--progression"),
        (["soda", "--progression", "reads:nan"], "positive"),
        (["soda", "--progression", "sometimes"], "progression.mode"),
        (["soda", "--port", "99999"], "--port"),
        (["soda", "--port", "0"], "--port"),
        (["soda", "--host", "0.0.0.0"], "--allow-remote"),
        (["soda", "--host", "0.0.0.0", "--allow-remote"], "control token"),
    ],
)
def test_emulate__bad_option_is_a_one_line_error(tmp_path: Path, args: list[str], says: str) -> None:
    result = emulate(*args, "--db", str(tmp_path / "x.sqlite3"), cwd=tmp_path)
    assert says in one_line_error(result)


def test_emulate__unwritable_db_is_a_one_line_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = emulate("soda", "--db", str(blocker / "state.sqlite3"), "--port", str(free_port()), cwd=tmp_path)
    assert "--db" in one_line_error(result)


def test_emulate__threadfix_banner_names_the_version_it_serves(tmp_path: Path) -> None:
    out = tmp_path / "stdout"
    with emulator_process("threadfix", tmp_path / "tf.sqlite3", tmp_path / "log", stdout=out) as (base, _):
        pass
    banner = out.read_text()
    assert "{version}" not in banner and f"{base}/threadfix/rest/" in banner


def test_emulate__sigterm_ends_a_server_holding_a_delayed_request_and_leaves_no_wal(tmp_path: Path) -> None:
    db = tmp_path / "soda.sqlite3"
    with emulator_process("soda", db, tmp_path / "log") as (base, proc):
        fault = {"kind": "delay", "seconds": 60, "operation": "GET /api/v1/scans/{scanId}"}
        assert httpx.post(f"{base}/_emulator/faults", json=fault).status_code == 201
        held = threading.Thread(
            target=lambda: _ignore(lambda: httpx.get(f"{base}/api/v1/scans/x", timeout=90)), daemon=True
        )
        held.start()
        held.join(timeout=1)  # the request is now asleep in the fault
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=SHUTDOWN_BOUND)  # before: waited for the 60 s sleep (and without a bound)
    assert db.exists()
    assert not Path(f"{db}-wal").exists() and not Path(f"{db}-shm").exists()


def _ignore(call: object) -> None:
    with contextlib.suppress(httpx.HTTPError):
        call()  # type: ignore[operator]
