"""AppSpider's job: save a scan config for the target on the client's engine group, run it by name, wait,
list the findings and stream ReportAllFiles.zip (VulnerabilitiesSummary.xml inside) to disk."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from appspider_client.models import SaveConfigForm

from conformance.suites.jobs import JobError, Steps

__all__ = ["TARGET", "config_xml", "run"]

TARGET = "https://shop.example.com/"
NAME = "shop.example.com ci"


def config_xml(name: str, url: str) -> str:
    """The smallest scan config: its name and one seed URL (the shape of Rapid7's scanConfigTemplate.ftl)."""
    return (
        f"<ScanConfig><Name>{name}</Name><CrawlConfig><SeedUrlList><SeedUrl><Value>{url}</Value>"
        f"</SeedUrl></SeedUrlList></CrawlConfig></ScanConfig>"
    )


def run(client: Any, workdir: Path) -> Steps:
    groups = client.engines.get_engine_groups_for_client().engine_groups
    if not groups:
        raise JobError("appspider: the client has no engine group to scan with")
    client.scan_configuration.save_config(
        body=SaveConfigForm(engine_group_id=groups[0].id, name=NAME, xml=config_xml(NAME, TARGET))
    )
    scan = client.start_scan(config_name=NAME)  # POST /Scan/RunScan {"configName": ...}
    final = client.wait_for_scan(scan, timeout=3600, poll_interval=10)
    findings = list(client.iter_findings(scan))  # GET /Finding/GetVulnerabilities?scanId=..., paged
    report = client.download_report(scan, workdir / "ReportAllFiles.zip")  # GET /Report/GetReportZip
    return Steps(target=TARGET, scan=final, findings=findings, report=report)
