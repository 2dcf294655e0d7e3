"""Typed use of the generated Soda Cloud client; checked by `mypy --strict`, never run."""

from __future__ import annotations

import datetime

import httpx
from soda_client import Client
from soda_client.api.scans import get_scan_status
from soda_client.models import PublicApiScanStatusResponse, ScanStateDTO
from soda_client.types import Unset


def make_client(key_id: str, secret: str) -> Client:
    # HTTP Basic with the API key id and secret (spec securitySchemes.basicAuthApiKey).
    return Client(base_url="https://cloud.soda.io", httpx_args={"auth": httpx.BasicAuth(key_id, secret)})


def state_and_end(client: Client, scan_id: str) -> tuple[ScanStateDTO, datetime.datetime | None] | None:
    response = get_scan_status.sync_detailed(scan_id, client=client)
    parsed = response.parsed
    if isinstance(parsed, PublicApiScanStatusResponse):
        ended = None if isinstance(parsed.ended, Unset) else parsed.ended
        return parsed.state, ended
    return None
