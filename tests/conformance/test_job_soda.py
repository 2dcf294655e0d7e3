"""Soda's job end to end on a fresh emulator, through the generated client."""

from __future__ import annotations

from pathlib import Path

from conformance.suites.jobs import run_job


def test_soda_job__scan_succeeds_with_its_two_check_results_and_no_report(tmp_path: Path) -> None:
    result = run_job("soda", tmp_path)
    assert (result.status, result.raw) == ("succeeded", "completed")
    assert result.findings == 2  # CHECKS_BY_STATE["completed"]: two passing checks
    assert result.report is None and result.report_kind is None


def test_soda_job__findings_are_the_scans_checks_and_the_dataset_is_owned_by_the_new_group(
    tmp_path: Path,
) -> None:
    from conformance.suites.jobs import emulated_client
    from conformance.suites.jobs.soda import run

    client, _emu = emulated_client("soda")
    with client:
        steps = run(client, tmp_path)
        checks = client.get_results(steps.scan).checks
        [dataset] = [
            d for d in client.datasets.list_datasets(search="orders").content if d.id == steps.target
        ]
    assert [(f.id, str(f.evaluation_status)) for f in steps.findings] == [
        (c.id, str(c.evaluation_status)) for c in checks
    ]
    assert [str(f.evaluation_status) for f in steps.findings] == ["pass", "pass"]
    assert [o.user_group.name for o in dataset.owners] == ["orders stewards"]
    assert dataset.tags == ["stewarded"]
