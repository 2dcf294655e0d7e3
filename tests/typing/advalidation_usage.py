"""Typed use of the generated Advalidation client; checked by `mypy --strict`, never run."""

from __future__ import annotations

from advalidation_client import AuthenticatedClient
from advalidation_client.api.scans import get_scan
from advalidation_client.models import ScanProcessingStatus, ScanResponse


def make_client(api_key: str) -> AuthenticatedClient:
    # The key travels bare in `X-API-Key`, with no scheme word before it (spec securitySchemes.apiKey).
    return AuthenticatedClient(
        base_url="https://app.advalidation.io/v2", token=api_key, prefix="", auth_header_name="X-API-Key"
    )


def processing_status(client: AuthenticatedClient, scan_id: int) -> ScanProcessingStatus | None:
    response = get_scan.sync_detailed(scan_id, client=client, include_checks=True)
    if isinstance(response.parsed, ScanResponse):
        status: ScanProcessingStatus = response.parsed.data.processing_status
        return status
    return None
