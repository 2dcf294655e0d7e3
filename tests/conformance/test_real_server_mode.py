"""Real-server mode, as a user would run it: the suite against an emulator started as its own process."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers.servers import SCANWIRE, emulator_server


@pytest.fixture
def soda_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    state = tmp_path_factory.mktemp("state")
    with emulator_server("soda", state / "soda.sqlite3", state / "server.log", "--no-rate-limits") as base:
        yield base


def _conformance(
    base: str, report: Path, *extra: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            *SCANWIRE,
            "conformance",
            "soda",
            "--base-url",
            base,
            "--max-examples",
            "5",
            "--report",
            str(report),
            *extra,
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
        timeout=600,
        check=False,
    )


def test_conformance__real_server_read_only_by_default(soda_server: str, tmp_path: Path) -> None:
    done = _conformance(soda_server, tmp_path, "--auth", "key_id=acme-key-id", "--auth", "secret=acme-secret")
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads((tmp_path / "results.json").read_text())
    (run,) = results
    assert run["target"] == soda_server
    assert set(run["operations"]) == {
        "GET /api/v1/scans/{scanId}",
        "GET /api/v1/scans/{scanId}/logs",
        "GET /api/v1/test-login",
        "GET /api/v1/checks",
        "GET /api/v1/datasets",
        "GET /api/v1/datasets/attributes",
        "GET /api/v1/datasets/roles",
        "GET /api/v1/datasets/{datasetId}/profiling",
        "GET /api/v1/datasets/{datasetId}/metricMonitoring",
        "GET /api/v1/datasets/{datasetId}/diagnosticsWarehouse",
        "GET /api/v1/datasets/{datasetId}/responsibilities",
        "GET /api/v1/users",
        "GET /api/v1/userGroups",
        "GET /api/v1/userGroups/{userGroupId}",
    }
    assert run["excluded"] == [
        "DELETE /api/v1/datasets/{datasetId}",
        "DELETE /api/v1/scans/{scanId}",
        "DELETE /api/v1/userGroups/{userGroupId}",
        "POST /api/v1/datasets/{datasetId}",
        "POST /api/v1/datasets/{datasetId}/responsibilities",
        "POST /api/v1/incidents/{incidentId}",
        "POST /api/v1/scans",
        "POST /api/v1/userGroups",
        "POST /api/v1/userGroups/{userGroupId}",
    ]
    assert "not exercised" in done.stdout
    # No scan was created on the server: read-only means no POST went out.
    state = httpx.get(f"{soda_server}/_emulator/state").json()
    assert state["scans"] == []


def test_conformance__allow_writes_exercises_every_operation(soda_server: str, tmp_path: Path) -> None:
    env = {"SCANWIRE_SODA_KEY_ID": "acme-key-id", "SCANWIRE_SODA_SECRET": "acme-secret"}
    done = _conformance(soda_server, tmp_path, "--allow-writes", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    (run,) = json.loads((tmp_path / "results.json").read_text())
    assert len(run["operations"]) == 23 and run["excluded"] == []
    assert httpx.get(f"{soda_server}/_emulator/state").json()["scans"], "POST /api/v1/scans created scans"
    for report in tmp_path.iterdir():
        assert "acme-secret" not in report.read_text(), f"{report.name} leaks the secret"


def test_conformance__wrong_credentials_fail_and_missing_ones_are_named(
    soda_server: str, tmp_path: Path
) -> None:
    wrong = _conformance(soda_server, tmp_path, "--auth", "key_id=acme-key-id", "--auth", "secret=nope")
    assert wrong.returncode == 1
    missing = _conformance(
        soda_server, tmp_path, env={"SCANWIRE_SODA_KEY_ID": "", "SCANWIRE_SODA_SECRET": ""}
    )
    assert missing.returncode == 2
    assert "SCANWIRE_SODA_KEY_ID" in missing.stdout + missing.stderr
    assert "Traceback" not in missing.stdout + missing.stderr
