"""AppSpider scan configs, engine groups, engines and clients: state and rules, no HTTP.

A config record keeps every field a list filters on at its top level (`lname`, the lower-cased name the
uniqueness rule compares; `EngineGroupId`), so lookups run in SQLite (core.store contract). Engine groups
and engines belong to the installation; a group lists the client accounts it serves (`clients`).
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import urlsplit
from xml.etree import ElementTree as ET

from conformance.emulators.core import BadRequestError, EmulatorError, NotFoundError
from conformance.emulators.core.ids import guid
from conformance.emulators.core.store import Store

__all__ = [
    "AttachmentNotFoundError",
    "ConfigNameNotUniqueError",
    "ConfigStore",
    "NoConfigError",
    "config_xml",
]

_FLAGS = {
    "defendEnabled": "DefendEnabled",
    "monitoring": "Monitoring",
    "monitoringTriggerScan": "MonitoringTriggerScan",
    "isApproveRequired": "IsApproveRequired",
}
_DELAYS = (0, 1, 24, 168, 720)
_PUBLIC = (
    "Id",
    "Name",
    "ClientId",
    "EngineGroupId",
    "DefendEnabled",
    "Monitoring",
    "MonitoringDelay",
    "MonitoringTriggerScan",
    "IsApproveRequired",
    "Targets",
)


class NoConfigError(NotFoundError):
    """SaveConfig / GetConfig / DeleteConfigs name a config id the client does not have."""

    def __init__(self, config_id: str) -> None:
        super().__init__("Config not found", config_id=config_id)


class ConfigNameNotUniqueError(EmulatorError):
    reason = "config_name_not_unique"

    def __init__(self, name: str) -> None:
        super().__init__("Config name should be unique in the client", name=name)


class AttachmentNotFoundError(NotFoundError):
    def __init__(self, file_name: str) -> None:
        super().__init__("Attachment not found", file_name=file_name)


def config_xml(name: str, url: str) -> str:
    """The smallest scan-config XML the emulator reads: `<Name>` and one seed URL (the shape of Rapid7's
    scanConfigTemplate.ftl, vendor-notes-workflow §3 FACT)."""
    root = ET.Element("ScanConfig")
    ET.SubElement(root, "Name").text = name
    ET.SubElement(root, "AppVersion").text = "7.0.011.1"
    crawl = ET.SubElement(root, "CrawlConfig")
    seed = ET.SubElement(ET.SubElement(crawl, "SeedUrlList"), "SeedUrl")
    ET.SubElement(seed, "Value").text = url
    scope = ET.SubElement(ET.SubElement(crawl, "ScopeConstraintList"), "ScopeConstraint")
    ET.SubElement(scope, "URL").text = url.rstrip("/") + "/*"
    return ET.tostring(root, encoding="unicode")


def _read_xml(xml: str) -> tuple[str | None, list[str]]:
    """(`<Name>`, hosts of the seed URLs) of a scan-config XML; BadRequestError when it is not one.
    ElementTree resolves no external entities and the bundled expat caps entity expansion; the body
    size is capped before this runs (core limits)."""
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as exc:
        raise BadRequestError(f"xml: not a well-formed scan config ({exc})", field="xml") from None
    if root.tag != "ScanConfig":
        raise BadRequestError(f"xml: root element must be <ScanConfig>, not <{root.tag[:40]}>", field="xml")
    name = (root.findtext("Name") or "").strip() or None
    hosts = []
    for value in root.iterfind(".//SeedUrlList/SeedUrl/Value"):
        host = urlsplit((value.text or "").strip()).hostname
        if host and host not in hosts:
            hosts.append(host)
    return name, hosts


def _absent(value: Any) -> bool:
    # Rapid7's Jenkins plugin sends the string "null" for an absent id (vendor-notes-workflow §3 FACT).
    return value is None or (isinstance(value, str) and value.strip().lower() in ("", "null"))


def _bool(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1"):
        return True
    if text in ("false", "0", ""):
        return False
    raise BadRequestError(f"{name} must be true or false", field=name, rule="type")


class ConfigStore:
    """Configs, engine groups, engines and attachments of one emulator (mixed into the backend)."""

    store: Store

    def setup_kinds(self) -> None:
        self.store.index("config", "lname")
        self.store.index("finding", "scan")
        self.store.index("attachment", "config")

    # -- engines ----------------------------------------------------------------------------------

    def engine_group_for(self, account: str, name: str) -> tuple[str, str]:
        """(group id, engine id) of the account's engine group, created with one engine on first use."""
        for record in self.store.list("engine-group", None, where={"Name": name}):
            if account in record.data["clients"]:
                return record.id, record.data["Engines"][0]
        engine = guid(self.store, "appspider-engine")
        group = guid(self.store, "appspider-engine-group")
        self.store.put(
            "engine",
            engine,
            "",
            {
                "Id": engine,
                "Url": f"http://engine-{engine[:8]}.local:8080",
                "VirtualName": f"engine-{engine[:8]}",
                "Status": "Ready",
                "Notes": None,
            },
        )
        self.store.put(
            "engine-group",
            group,
            "",
            {
                "Id": group,
                "Name": name,
                "Description": "On-premises engines",
                "Engines": [engine],
                "clients": [account],
            },
        )
        return group, engine

    def engine_groups(self, account: str | None) -> list[dict[str, Any]]:
        groups = [r.data for r in self.store.list("engine-group", None)]
        mine = [g for g in groups if account is None or account in g["clients"]]
        return [{k: g[k] for k in ("Id", "Name", "Description", "Engines")} for g in mine]

    def engines(self) -> list[dict[str, Any]]:
        return [r.data for r in self.store.list("engine", None)]

    def _group(self, account: str, group_id: Any) -> dict[str, Any]:
        record = self.store.get("engine-group", str(group_id).strip().lower())
        if record is None or account not in record.data["clients"]:
            raise BadRequestError(
                "engineGroupId: no such engine group in the client", field="engineGroupId", rule="enum"
            )
        return record.data

    # -- configs ----------------------------------------------------------------------------------

    def add_config(
        self,
        account: str,
        client_id: str,
        name: str,
        hosts: list[str],
        group: str,
        xml: str | None = None,
        flags: dict[str, Any] | None = None,
        config_id: str | None = None,
    ) -> dict[str, Any]:
        config_id = config_id or guid(self.store, "appspider-config")
        old = self.store.get("config", config_id)
        known = {t["Host"]: t["Id"] for t in (old.data["Targets"] if old else [])}
        targets = [{"Id": known.get(h) or guid(self.store, "appspider-target"), "Host": h} for h in hosts]
        engine = self.store.get("engine-group", group)
        data = {
            "Id": config_id,
            "Name": name,
            "lname": name.lower(),
            "ClientId": client_id,
            "EngineGroupId": group,
            "EngineId": engine.data["Engines"][0] if engine else None,
            "DefendEnabled": False,
            "Monitoring": False,
            "MonitoringDelay": 0,
            "MonitoringTriggerScan": False,
            "IsApproveRequired": False,
            **(flags or {}),
            "Xml": xml or config_xml(name, f"https://{hosts[0]}/" if hosts else "https://localhost/"),
            "Targets": targets,
        }
        self.store.put("config", config_id, account, data)
        return data

    def config_list(self, account: str) -> list[dict[str, Any]]:
        return [{k: r.data[k] for k in _PUBLIC} for r in self.store.list("config", account)]

    def config(self, account: str, config_id: str) -> dict[str, Any]:
        record = self.store.get("config", config_id.strip().lower())
        if record is None or record.account != account:
            raise NoConfigError(config_id)
        return {**{k: record.data[k] for k in _PUBLIC}, "Xml": record.data["Xml"]}

    def config_by_name(self, account: str, name: str) -> dict[str, Any] | None:
        # Names compare case-insensitively, as Rapid7's plugin matches them (AS-JENK findByConfigName).
        found = self.store.list("config", account, where={"lname": name.strip().lower()}, limit=1)
        return found[0].data if found else None

    def save_config(self, account: str, client_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        """SaveConfig with its fields normalised by the route (lower-camel names, "null" = absent)."""
        fields = {k: v for k, v in fields.items() if not _absent(v)}
        xml = fields.get("xml")
        group_id = fields.get("engineGroupId")
        if xml is None or group_id is None:
            missing = "xml" if xml is None else "engineGroupId"
            raise BadRequestError("Required parameters not provided", field=missing, rule="required")
        if not isinstance(xml, str):
            raise BadRequestError("xml must be a string", field="xml", rule="type")
        xml_name, hosts = _read_xml(xml)
        name = str(fields.get("name") or xml_name or "").strip()
        if not name:
            raise BadRequestError("Required parameters not provided", field="name", rule="required")
        if len(name) > 200:
            raise BadRequestError("name: at most 200 characters", field="name", rule="maxLength")
        if "clientId" in fields and str(fields["clientId"]).strip().lower() != client_id:
            raise BadRequestError("clientId: not the client of this token", field="clientId", rule="enum")
        group = self._group(account, group_id)
        flags: dict[str, Any] = {out: _bool(fields[n], n) for n, out in _FLAGS.items() if n in fields}
        if "monitoringDelay" in fields:
            try:
                delay = int(fields["monitoringDelay"])
            except (TypeError, ValueError):
                delay = -1
            if delay not in _DELAYS:
                raise BadRequestError(
                    "monitoringDelay must be one of 0, 1, 24, 168, 720", field="monitoringDelay", rule="enum"
                )
            flags["MonitoringDelay"] = delay
        config_id = None
        if "id" in fields:
            config_id = str(fields["id"]).strip().lower()
            self.config(account, config_id)  # NoConfigError when it is not the client's
        same = self.config_by_name(account, name)
        if same is not None and same["Id"] != config_id:
            raise ConfigNameNotUniqueError(name)
        return self.add_config(account, client_id, name, hosts, group["Id"], xml, flags, config_id)

    def delete_configs(self, account: str, config_ids: list[str]) -> list[str]:
        """Delete the configs (all or none: an unknown id deletes nothing); their ids."""
        for config_id in config_ids:
            self.config(account, config_id)
        for config_id in config_ids:
            self.store.delete("config", config_id)
            for record in self.store.list("attachment", account, where={"config": config_id}):
                self.store.delete("attachment", record.id)
        return config_ids

    # -- attachments ------------------------------------------------------------------------------

    def attach(self, account: str, config_id: str, file_type: str, file_name: str, content: bytes) -> None:
        key = f"{config_id}/{file_type}/{file_name}"
        self.store.put(
            "attachment",
            key,
            account,
            {"config": config_id, "content": base64.b64encode(content).decode("ascii")},
        )

    def attachment(self, account: str, config_id: str, file_type: str, file_name: str) -> bytes:
        self.config(account, config_id)
        record = self.store.get("attachment", f"{config_id.strip().lower()}/{file_type}/{file_name}")
        if record is None or record.account != account:
            raise AttachmentNotFoundError(file_name)
        return base64.b64decode(record.data["content"])
