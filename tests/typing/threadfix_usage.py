"""Typed use of the generated ThreadFix client; checked by `mypy --strict`, never run."""

from __future__ import annotations

from threadfix_client import AuthenticatedClient
from threadfix_client.api.scans import get_pending_scan_status
from threadfix_client.models import PendingScanStatus, PendingScanStatusResponse


def make_client(api_key: str) -> AuthenticatedClient:
    # `Authorization: APIKEY <key>` (spec securitySchemes.apiKeyHeader).
    return AuthenticatedClient(
        base_url="https://threadfix.example.com/threadfix/rest/v2.8.8", token=api_key, prefix="APIKEY"
    )


def pending_status(
    client: AuthenticatedClient, app_id: int, pending_scan_id: int
) -> PendingScanStatus | None:
    response = get_pending_scan_status.sync_detailed(app_id, pending_scan_id, client=client)
    parsed = response.parsed
    if isinstance(parsed, PendingScanStatusResponse) and parsed.object_ is not None:
        status: PendingScanStatus = parsed.object_.status
        return status
    return None
