"""Soda's job: a dataset's stewards (a user group made owner of the dataset) -> trigger a scan -> wait ->
its check results as findings. Soda documents no operation that returns a report file, so there is none."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conformance.suites.jobs import JobError, Steps

DATASET = "orders"
DEFINITION = "orders_contract_daily"


def run(client: Any, workdir: Path) -> Steps:
    from soda_client.models import (
        OwnerTypeDTO,
        PublicApiCreateUserGroupDTO,
        PublicApiUpdateDatasetDTO,
        PublicApiUpdateDatasetDTOOwnersItem,
    )

    datasets = client.datasets.list_datasets(search=DATASET).content
    if not datasets:
        raise JobError(f"soda: no dataset matches {DATASET!r}")
    dataset = datasets[0]
    user = client.users.list_users(size=1).content[0]
    client.users.create_user_group(
        body=PublicApiCreateUserGroupDTO(name=f"{DATASET} stewards", user_ids=[user.user_id])
    )
    group = client.users.list_user_groups(search=f"{DATASET} stewards").content[0]
    owners = [
        PublicApiUpdateDatasetDTOOwnersItem(type_=OwnerTypeDTO.USERGROUP, user_group_id=group.user_group_id)
    ]
    client.datasets.update_dataset(
        dataset.id, body=PublicApiUpdateDatasetDTO(owners=owners, tags=["stewarded"])
    )

    scan = client.start_scan(scan_definition=DEFINITION)
    final = client.wait_for_scan(scan, timeout=600, poll_interval=5)
    findings = list(client.iter_findings(scan))
    return Steps(
        target=dataset.id,
        scan=final,
        findings=findings,
        notes=["no report: Soda documents no operation that returns a report file"],
    )
