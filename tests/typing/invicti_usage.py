"""Typed use of the generated Invicti client; checked by `mypy --strict`, never run."""

from __future__ import annotations

import httpx
from invicti_client import Client
from invicti_client.api.scans import get_scan_status
from invicti_client.models import ApiScanStatusModel, ScanTaskState


def make_client(user_id: str, token: str) -> Client:
    # HTTP Basic with the user id as user name and the API token as password (spec securitySchemes.basic).
    return Client(
        base_url="https://www.netsparkercloud.com", httpx_args={"auth": httpx.BasicAuth(user_id, token)}
    )


def scan_state(client: Client, scan_id: str) -> ScanTaskState | None:
    response = get_scan_status.sync_detailed(scan_id, client=client)
    if isinstance(response.parsed, ApiScanStatusModel):
        state: ScanTaskState = response.parsed.state
        return state
    return None
