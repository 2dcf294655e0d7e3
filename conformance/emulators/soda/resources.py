"""Soda Cloud state beyond scans: checks, datasets (with their responsibilities and settings), incidents,
users and user groups (vendor-notes-workflow §5, D1-D12 and U1-U6). No HTTP here (routes.py does that).

Every resource is a store record of its own kind, owned by one organisation (account); each key a list
filters on is a top-level key of the record, so lists read one page in SQLite (`store.list/count` with
`where`, indexed when the backend is built). Each organisation starts with a small fixed catalogue
(`CATALOGUE`), the same after every reset.

Not emulated (INFERENCE, said here once): the API key's user is an organisation admin, so no operation
answers 403 for a missing permission; a dataset marked `hidden` stands for one the user may not View:
lists leave it (and its checks) out — filtering, not 403 ([SODA-SPEC]) — and operations on it answer 404.
Lists come in insertion order (the catalogue is inserted sorted as Soda sorts it; records created later
come after). Responsibility changes apply at once (Soda: "eventually"). A deleted dataset stays listed for
`DELETE_TICKS` seconds of emulator clock, then is gone (there is no "Get dataset" operation to poll).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from conformance.emulators.core.errors import BadRequestError, NotFoundError
from conformance.emulators.core.ids import guid, iso_ms_z, stable_guid
from conformance.emulators.core.plugin import seed_field
from conformance.emulators.core.store import Record, Store, between, contains, one_of

__all__ = ["CATALOGUE", "DELETE_TICKS", "SodaResources"]

CLOUD = "https://cloud.soda.io"
DELETE_TICKS = 2.0
MAX_CHECK_IDS = 1000

USERS = "soda_user"
GROUPS = "soda_user_group"
DATASETS = "soda_dataset"
CHECKS = "soda_check"
INCIDENTS = "soda_incident"
ROLES = "soda_dataset_role"
ATTRIBUTES = "soda_dataset_attribute"
# One record per responsibility of a dataset ({"dataset", "type", "userId" | "userGroupId", "roleId"}), in
# the dataset's order: a page of them reads that page, whatever the dataset holds (issue 18).
RESPONSIBILITIES = "soda_dataset_responsibility"

_PERMISSIONS = (
    "configureDataset",
    "createCheckProposals",
    "deleteDataset",
    "executeContracts",
    "manageChecks",
    "manageContracts",
    "manageIncidents",
    "managePermissions",
    "publishContracts",
    "viewFailedRows",
    "viewProfilingAndSamples",
)
_ROLES = [
    ("role-manager", "Manager", set(_PERMISSIONS)),
    ("role-editor", "Editor", {"configureDataset", "manageChecks", "manageIncidents", "viewFailedRows"}),
    ("role-viewer", "Viewer", set()),
]
_ATTRIBUTES: list[dict[str, Any]] = [
    {
        "name": "certified",
        "label": "Certified",
        "type": "checkbox",
        "description": "Certified by data governance",
    },
    {
        "name": "domain",
        "label": "Domain",
        "type": "single_select",
        "description": "Business domain",
        "allowedValues": [{"value": "sales"}, {"value": "finance"}, {"value": "people"}],
    },
]

# Per organisation: users (first, last), datasets (name, datasource, hidden, checks), one user group.
CATALOGUE: dict[str, dict[str, Any]] = {
    "acme": {
        "users": [("Ada", "Lovelace"), ("Grace", "Hopper"), ("Linus", "Torvalds")],
        "group": ("Analysts", [0, 1]),
        "datasets": [
            ("customers", "warehouse", False, ["missing_count(email) = 0", "row_count > 0"]),
            (
                "orders",
                "warehouse",
                False,
                ["duplicate_count(order_id) = 0", "freshness(created_at) < 1d", "row_count > 0"],
            ),
            ("salaries", "hr", True, ["row_count > 0"]),
        ],
    },
    "globex": {
        "users": [("Hank", "Scorpio")],
        "group": ("Engineers", [0]),
        "datasets": [("widgets", "lake", False, ["row_count > 0"])],
    },
}
_STATUSES = ("pass", "pass", "warn", "fail")  # catalogue check results, by position (deterministic)


def _status(dataset: str, position: int) -> str:
    """The catalogue result of a dataset's check at `position` (deterministic)."""
    return _STATUSES[(len(dataset) + position) % len(_STATUSES)]


def _dataset_url(dataset_id: str) -> str:
    return f"{CLOUD}/datasets/{dataset_id}/checks"


def _instant(value: str) -> float:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise BadRequestError(
            f"from must be an ISO-8601 date-time such as 2023-12-31T10:15:30+01:00, not {value!r}",
            field="from",
            location="query",
        ) from None


class SodaResources:
    """The non-scan operations; mixed into SodaBackend (which provides store and clock)."""

    store: Store
    clock: Any

    def index_resources(self) -> None:
        # (hidden, seq) gives the visible records in list order: page 1 stops after a page, no sort of
        # every visible one (issue 18); (hidden, name) serves a name search on index entries alone.
        self.store.index(DATASETS, "hidden")
        self.store.index(DATASETS, "hidden", "name")
        # Deletions fall due across organisations: found without walking every dataset.
        self.store.index(DATASETS, "deleteAt", by_account=False)
        self.store.index(CHECKS, "hidden")
        self.store.index(CHECKS, "hidden", "datasetId")
        self.store.index(CHECKS, "datasetId", "evaluationStatus")  # a dataset's quality, in every view
        self.store.index(RESPONSIBILITIES, "dataset")
        self.store.index(USERS, "searchText")
        self.store.index(GROUPS, "name")

    def seed_catalogue(self) -> None:
        """The fixed catalogue of every organisation (kept when a restart finds it in the store)."""
        if self.store.count(USERS):
            return
        now = self.clock.now()
        for account, spec in CATALOGUE.items():
            users = [self._put_user(account, first, last) for first, last in spec["users"]]
            for role_id, name, allowed in _ROLES:
                role: dict[str, Any] = {"id": f"{role_id}-{account}", "name": name}
                role.update({p: p in allowed for p in _PERMISSIONS})
                self.store.put(ROLES, role["id"], account, role)
            for attribute in _ATTRIBUTES:
                attr_id = stable_guid(f"soda-attribute:{account}:{attribute['name']}")
                self.store.put(ATTRIBUTES, attr_id, account, {"id": attr_id, **attribute})
            group_name, members = spec["group"]
            self._put_group(account, group_name, [users[i] for i in members])
            for name, source, hidden, checks in spec["datasets"]:
                self._put_dataset(account, name, source, hidden, checks, users[0], now)

    def add_dataset(self, account: str, name: str, source: str, owner: str, now: float) -> str:
        """One more visible dataset with one `row_count > 0` check (scenarios); its id."""
        return self._put_dataset(account, name, source, False, ["row_count > 0"], owner, now)

    def seed_dataset(self, account: str, data: dict[str, Any]) -> dict[str, Any]:
        """Control API kind `dataset`: `{name, datasource?}` (datasets come from scans in Soda: the API
        has no create), owned by the organisation's first user, with one `row_count > 0` check."""
        name = seed_field(data, "name")
        source = seed_field(data, "datasource", required=False) or "warehouse"
        if self.store.get(DATASETS, stable_guid(f"soda-dataset:{account}:{source}:{name}")) is not None:
            raise BadRequestError(f"data.name: dataset {name!r} of {source!r} exists", field="data.name")
        owner = self.store.list(USERS, account, limit=1)[0].id
        dataset_id = self.add_dataset(account, name, source, owner, self.clock.now())
        return self._dataset_view(self._dataset(account, dataset_id))

    def seed_user_group(self, account: str, data: dict[str, Any]) -> dict[str, Any]:
        """Control API kind `userGroup`: `{name, userIds?}`, as POST /userGroups."""
        group_id = self.create_group(
            account, {"name": seed_field(data, "name"), "userIds": data.get("userIds", [])}
        )
        record = self.store.get(GROUPS, group_id)
        assert record is not None  # just made, in this process
        return self._group_view(record)

    def _put_user(self, account: str, first: str, last: str) -> str:
        user_id = stable_guid(f"soda-user:{account}:{first}.{last}")
        email = f"{first}.{last}@{account}.example".lower()
        data = {
            "userId": user_id,
            "email": email,
            "firstName": first,
            "lastName": last,
            "fullName": f"{first} {last}",
        }
        self.store.put(USERS, user_id, account, {**data, "searchText": f"{first} {last} {email}".lower()})
        return user_id

    def _put_group(self, account: str, name: str, user_ids: list[str]) -> dict[str, Any]:
        group_id = guid(self.store, "soda-user-group")
        data = {"userGroupId": group_id, "name": name, "userIds": user_ids}
        self.store.put(GROUPS, group_id, account, data)
        return data

    def _put_dataset(
        self, account: str, name: str, source: str, hidden: bool, checks: list[str], owner: str, now: float
    ) -> str:
        dataset_id = stable_guid(f"soda-dataset:{account}:{source}:{name}")
        check_ids = []
        for i, definition in enumerate(checks):
            check_id = stable_guid(f"soda-check:{dataset_id}:{definition}")
            check_ids.append(check_id)
            status = _status(name, i)
            self.store.put(
                CHECKS,
                check_id,
                account,
                {
                    "id": check_id,
                    "name": definition,
                    "datasetId": dataset_id,
                    "hidden": hidden,
                    "createdAt": iso_ms_z(now),
                    "lastCheckRunTime": iso_ms_z(now),
                    "lastUpdated": iso_ms_z(now),
                    "evaluationStatus": status,
                    "cloudUrl": f"{CLOUD}/checks/{check_id}",
                    "definition": f"checks for {name}:\n  - {definition}",
                    "metricType": definition.split("(")[0].split(" ")[0],
                    "lastCheckResultValue": {
                        "id": stable_guid(f"soda-result:{check_id}"),
                        "value": 0 if status == "pass" else 3,
                    },
                },
            )
        incidents = []
        failing = [c for i, c in enumerate(check_ids) if _status(name, i) == "fail"]
        if failing:  # one incident for the dataset's failing checks
            number = self.store.next_id(f"soda-incident-number:{account}")
            incident_id = stable_guid(f"soda-incident:{dataset_id}")
            self.store.put(
                INCIDENTS,
                incident_id,
                account,
                {
                    "id": incident_id,
                    "number": number,
                    "name": f"{name} check failed",
                    "description": f"A check on {name} failed",
                    "severity": "major",
                    "status": "reported",
                    "cloudUrl": f"{CLOUD}/incidents/{number}",
                    "checkIds": failing,
                },
            )
            incidents.append(incident_id)
        self.store.put(
            DATASETS,
            dataset_id,
            account,
            {
                "id": dataset_id,
                "name": name,
                "label": name.capitalize(),
                "qualifiedName": f"{source}.public.{name}",
                "datasourceName": source,
                "datasource": {
                    "label": source.capitalize(),
                    "name": source,
                    "prefix": "public",
                    "type": "postgres",
                },
                "hidden": hidden,
                "updated": now,
                "checkIds": check_ids,
                "incidentIds": incidents,
                "attributes": {},
                "tags": [],
                "owners": [{"type": "user", "userId": owner}],
                "responsibilityCount": 0,
                "profiling": None,
                "metricMonitoring": None,
                "diagnosticsWarehouse": None,
            },
        )
        owner_role = [{"type": "user", "userId": owner, "roleId": f"role-manager-{account}"}]
        self._put_responsibilities(account, dataset_id, owner_role)
        return dataset_id

    # -- users and groups -------------------------------------------------------------------------

    def _user(self, account: str, user_id: str) -> dict[str, Any] | None:
        record = self.store.get(USERS, user_id)
        if record is None or record.account != account:
            return None
        return {k: v for k, v in record.data.items() if k != "searchText"}

    def _check_users(self, account: str, user_ids: Any, field: str = "userIds") -> list[str]:
        if not isinstance(user_ids, list) or not all(isinstance(u, str) for u in user_ids):
            raise BadRequestError(f"{field} must be a list of user ids", field=field, location="body")
        unknown = [u for u in user_ids if self._user(account, u) is None]
        if unknown:
            raise BadRequestError(f"{field}: unknown user id {unknown[0]!r}", field=field, location="body")
        return list(dict.fromkeys(user_ids))

    def users_page(self, account: str, search: str | None) -> tuple[int, Any]:
        where = {"searchText": contains(search.lower())} if search else None
        total = self.store.count(USERS, account, where=where)

        def fetch(offset: int, limit: int) -> list[dict[str, Any]]:
            records = self.store.list(USERS, account, where=where, offset=offset, limit=limit)
            return [{k: v for k, v in r.data.items() if k != "searchText"} for r in records]

        return total, fetch

    def _group_view(self, record: Record) -> dict[str, Any]:
        d = record.data
        users = [u for u in (self._user(record.account, i) for i in d["userIds"]) if u is not None]
        return {"userGroupId": d["userGroupId"], "name": d["name"], "users": users}

    def _group(self, account: str, group_id: str) -> Record:
        record = self.store.get(GROUPS, group_id)
        if record is None or record.account != account:
            raise NotFoundError(f"User group '{group_id}' not found", user_group_id=group_id)
        return record

    def groups_page(self, account: str, search: str | None) -> tuple[int, Any]:
        where = {"name": contains(search)} if search else None
        total = self.store.count(GROUPS, account, where=where)

        def fetch(offset: int, limit: int) -> list[dict[str, Any]]:
            return [
                self._group_view(r)
                for r in self.store.list(GROUPS, account, where=where, offset=offset, limit=limit)
            ]

        return total, fetch

    def create_group(self, account: str, body: dict[str, Any]) -> str:
        name = body.get("name")
        if not isinstance(name, str) or not name.strip():
            raise BadRequestError("name is required and must not be blank", field="name", location="body")
        user_ids = self._check_users(account, body.get("userIds", []))
        with self.store.transaction():
            if self.store.count(GROUPS, account, where={"name": name}):
                raise BadRequestError(
                    f"A user group named {name!r} already exists: names must be unique",
                    field="name",
                    location="body",
                )
            return str(self._put_group(account, name, user_ids)["userGroupId"])

    def get_group(self, account: str, group_id: str) -> dict[str, Any]:
        return self._group_view(self._group(account, group_id))

    def update_group(self, account: str, group_id: str, body: dict[str, Any]) -> dict[str, Any]:
        record = self._group(account, group_id)
        if "userIds" in body:
            self.store.patch(GROUPS, group_id, {"userIds": self._check_users(account, body["userIds"])})
        return self.get_group(account, record.id)

    def delete_group(self, account: str, group_id: str) -> None:
        self._group(account, group_id)
        self.store.delete(GROUPS, group_id)

    # -- datasets ---------------------------------------------------------------------------------

    def _purge_deleted(self) -> None:
        for record in self.store.list(DATASETS, where={"deleteAt": between(None, self.clock.now())}):
            for check_id in record.data["checkIds"]:
                self.store.delete(CHECKS, check_id)
            self.store.delete(DATASETS, record.id)

    def _dataset(self, account: str, dataset_id: str) -> Record:
        self._purge_deleted()
        record = self.store.get(DATASETS, dataset_id)
        if record is None or record.account != account or record.data["hidden"]:
            raise NotFoundError(f"Dataset '{dataset_id}' not found", dataset_id=dataset_id)
        return record

    def _owner_view(self, account: str, owner: dict[str, Any]) -> dict[str, Any] | None:
        if owner["type"] == "user":
            user = self._user(account, owner.get("userId") or "")
            return {"type": "user", "user": user} if user else None
        group = self.store.get(GROUPS, owner.get("userGroupId") or "")
        if group is None or group.account != account:
            return None
        return {"type": "userGroup", "userGroup": {"name": group.data["name"], "userGroupId": group.id}}

    def _dataset_view(self, record: Record) -> dict[str, Any]:
        d = record.data
        quality = "pass"
        for status in ("fail", "warn"):  # the worst of its checks: one indexed probe each, not every check
            where = {"datasetId": record.id, "evaluationStatus": status}
            if self.store.list(CHECKS, record.account, where=where, limit=1):
                quality = status
                break
        out: dict[str, Any] = {
            "id": d["id"],
            "name": d["name"],
            "label": d["label"],
            "qualifiedName": d["qualifiedName"],
            "cloudUrl": _dataset_url(d["id"]),
            "checks": len(d["checkIds"]),
            "incidents": len(d["incidentIds"]),
            "healthStatus": {"pass": 0, "warn": 1, "fail": 2}[quality],
            "dataQualityStatus": quality,
            "datasource": d["datasource"],
            "attributes": d["attributes"],
            "tags": d["tags"],
            "lastUpdated": iso_ms_z(d["updated"]),
            "owners": [o for o in (self._owner_view(record.account, o) for o in d["owners"]) if o],
        }
        if d.get("partitionColumn"):
            out["partitionColumn"] = {"name": d["partitionColumn"], "columnType": "unknown"}
        return out

    def datasets_page(
        self, account: str, since: str | None, datasource: str | None, search: str | None
    ) -> tuple[int, Any]:
        self._purge_deleted()
        where: dict[str, Any] = {"hidden": False}
        if since:
            where["updated"] = between(_instant(since), None)
        if datasource:
            where["datasourceName"] = datasource
        if search:
            where["name"] = contains(search)
        total = self._visible(DATASETS, account, where)

        def fetch(offset: int, limit: int) -> list[dict[str, Any]]:
            records = self.store.list(DATASETS, account, where=where, offset=offset, limit=limit)
            return [self._dataset_view(r) for r in records]

        return total, fetch

    def update_dataset(self, account: str, dataset_id: str, body: dict[str, Any]) -> dict[str, Any]:
        record = self._dataset(account, dataset_id)
        changes: dict[str, Any] = {}
        for key in (
            "label",
            "tags",
            "partitionColumn",
            "profiling",
            "metricMonitoring",
            "diagnosticsWarehouse",
        ):
            if key in body:
                changes[key] = body[key]
        if "attributes" in body:
            known = {r.data["name"] for r in self.store.list(ATTRIBUTES, account)}
            unknown = sorted(set(body["attributes"]) - known)
            if unknown:
                raise BadRequestError(
                    f"attributes: unknown dataset attribute {unknown[0]!r}",
                    field="attributes",
                    location="body",
                )
            changes["attributes"] = {**record.data["attributes"], **body["attributes"]}
        if "owners" in body:
            changes["owners"] = [self._check_party(account, o, "owners") for o in body["owners"]]
        changes["updated"] = self.clock.now()
        self.store.patch(DATASETS, dataset_id, changes)
        return self._dataset_view(self._dataset(account, dataset_id))

    def _check_party(self, account: str, item: dict[str, Any], field: str) -> dict[str, Any]:
        """A {type, userId | userGroupId} entry naming an existing user or group of the organisation."""
        kind = item.get("type")
        key = "userId" if kind == "user" else "userGroupId"
        ident = item.get(key)
        if not isinstance(ident, str):
            raise BadRequestError(
                f"{field}: an entry of type {kind!r} needs {key}", field=field, location="body"
            )
        if kind == "user" and self._user(account, ident) is None:
            raise BadRequestError(f"{field}: unknown user id {ident!r}", field=field, location="body")
        if kind == "userGroup":
            group = self.store.get(GROUPS, ident)
            if group is None or group.account != account:
                raise BadRequestError(
                    f"{field}: unknown user group id {ident!r}", field=field, location="body"
                )
        return {"type": kind, key: ident}

    def delete_dataset(self, account: str, dataset_id: str) -> dict[str, str]:
        record = self._dataset(account, dataset_id)
        if record.data.get("deleteAt") is None:  # a second DELETE while pending keeps the first deadline
            self.store.patch(DATASETS, dataset_id, {"deleteAt": self.clock.now() + DELETE_TICKS})
        return {"message": f"Deletion of dataset '{record.data['name']}' has been scheduled"}

    def profiling(self, account: str, dataset_id: str) -> dict[str, Any]:
        record = self._dataset(account, dataset_id)
        settings = record.data.get("profiling") or {}
        out: dict[str, Any] = {
            "datasetId": dataset_id,
            "columnCount": 2,
            "rowCount": 1000 + len(record.data["name"]) * 10,
            "columns": [
                {
                    "name": "id",
                    "type": "integer",
                    "metrics": {"distinctCount": 1000, "missingCount": 0, "minimum": 1, "maximum": 1000},
                },
                {"name": "updated_at", "type": "timestamp", "metrics": {"missingCount": 0}},
            ],
        }
        if settings:
            out["samplingStrategyConfiguration"] = settings.get("profilingSamplingStrategy")
            out["scanSchedule"] = settings.get("scanSchedule")
        return out

    def metric_monitoring(self, account: str, dataset_id: str) -> dict[str, Any]:
        settings = self._dataset(account, dataset_id).data.get("metricMonitoring")
        if not settings:
            return {"datasetId": dataset_id, "state": "disabled", "datasetMetricMonitorsConfiguration": []}
        return {"datasetId": dataset_id, "state": "enabled", **settings}

    def diagnostics_warehouse(self, account: str, dataset_id: str) -> dict[str, Any]:
        settings = self._dataset(account, dataset_id).data.get("diagnosticsWarehouse") or {}
        config = {
            "enabled": False,
            "state": "doNotDetectAutomatically",
            **(settings.get("failedRowsConfiguration") or {}),
        }
        if config.get("enabled") and "state" not in (settings.get("failedRowsConfiguration") or {}):
            config["state"] = "ready"
        return {"failedRowsConfiguration": config}

    def responsibilities(self, account: str, dataset_id: str) -> tuple[int, Any]:
        """(how many, fetch one page) of a dataset's responsibilities: records of their own kind, read by
        the page (a dataset stored before they were records keeps them in its document)."""
        record = self._dataset(account, dataset_id)
        kept = record.data.get("responsibilities")
        where = {"dataset": dataset_id}
        total = len(kept) if isinstance(kept, list) else int(record.data.get("responsibilityCount", 0))

        def items(offset: int, limit: int) -> list[dict[str, Any]]:
            if isinstance(kept, list):
                return list(kept[offset : offset + limit])
            rows = self.store.list(RESPONSIBILITIES, account, where=where, offset=offset, limit=limit)
            return [r.data for r in rows]

        def fetch(offset: int, limit: int) -> list[dict[str, Any]]:
            out = []
            for item in items(offset, limit):
                role = self.store.get(ROLES, item["roleId"])
                if role is None:  # roles are a fixed catalogue: only a reset loses one
                    continue
                entry = {"type": item["type"], "managed": False, "role": role.data}
                key = "userId" if item["type"] == "user" else "userGroupId"
                entry[key] = item[key]
                out.append(entry)
            return out

        return total, fetch

    def _put_responsibilities(self, account: str, dataset_id: str, items: list[dict[str, Any]]) -> None:
        """Replace a dataset's responsibilities: the old records go, one record per new entry comes."""
        with self.store.transaction():
            for old in self.store.list(RESPONSIBILITIES, account, where={"dataset": dataset_id}):
                self.store.delete(RESPONSIBILITIES, old.id)
            for n, item in enumerate(items):
                data = {"dataset": dataset_id, **item}
                self.store.put(RESPONSIBILITIES, f"{dataset_id}:{n}", account, data)
            self.store.patch(
                DATASETS, dataset_id, {"responsibilities": None, "responsibilityCount": len(items)}
            )

    def replace_responsibilities(self, account: str, dataset_id: str, body: dict[str, Any]) -> None:
        self._dataset(account, dataset_id)
        items = body.get("responsibilities")
        if not isinstance(items, list):
            raise BadRequestError("responsibilities is required", field="responsibilities", location="body")
        new = []
        for item in items:
            role = self.store.get(ROLES, str(item.get("roleId")))
            if role is None or role.account != account:
                raise BadRequestError(
                    f"responsibilities: unknown role id {item.get('roleId')!r}",
                    field="responsibilities",
                    location="body",
                )
            new.append({**self._check_party(account, item, "responsibilities"), "roleId": role.id})
        self._put_responsibilities(account, dataset_id, new)

    def roles_page(self, account: str) -> tuple[int, Any]:
        return self._plain_page(ROLES, account)

    def attributes_page(self, account: str) -> tuple[int, Any]:
        return self._plain_page(ATTRIBUTES, account)

    def _plain_page(self, kind: str, account: str) -> tuple[int, Any]:
        def fetch(offset: int, limit: int) -> list[dict[str, Any]]:
            return [r.data for r in self.store.list(kind, account, offset=offset, limit=limit)]

        return self.store.count(kind, account), fetch

    # -- checks and incidents ---------------------------------------------------------------------

    def _visible(self, kind: str, account: str, where: dict[str, Any]) -> int:
        """How many records match `where`. With no filter but `hidden: False`: all the organisation's (the
        store's per-account tally) less its hidden ones (a few), not a walk over every visible one."""
        if where == {"hidden": False}:
            return self.store.count(kind, account) - self.store.count(kind, account, where={"hidden": True})
        return self.store.count(kind, account, where=where)

    def _check_view(self, record: Record) -> dict[str, Any]:
        d = dict(record.data)
        dataset = self.store.get(DATASETS, d.pop("datasetId")).data  # type: ignore[union-attr]
        d.pop("hidden")
        d["datasets"] = [
            {
                "id": dataset["id"],
                "name": dataset["name"],
                "qualifiedName": dataset["qualifiedName"],
                "cloudUrl": _dataset_url(dataset["id"]),
            }
        ]
        d["incidents"] = []
        for incident_id in dataset["incidentIds"]:
            incident = self.store.get(INCIDENTS, incident_id)
            if incident is not None and record.id in incident.data["checkIds"]:
                i = incident.data
                d["incidents"].append({k: i[k] for k in ("cloudUrl", "id", "name", "number", "status")})
        return d

    def checks_page(self, account: str, dataset_id: str | None, check_ids: str | None) -> tuple[int, Any]:
        self._purge_deleted()
        where: dict[str, Any] = {"hidden": False}
        if dataset_id:
            where["datasetId"] = dataset_id
        if check_ids is not None:
            ids = [i.strip() for i in check_ids.split(",") if i.strip()]
            if len(ids) > MAX_CHECK_IDS:
                raise BadRequestError(
                    f"checkIds takes at most {MAX_CHECK_IDS} ids, not {len(ids)}",
                    field="checkIds",
                    location="query",
                )
            where["id"] = one_of(*ids)
        total = self._visible(CHECKS, account, where)

        def fetch(offset: int, limit: int) -> list[dict[str, Any]]:
            return [
                self._check_view(r)
                for r in self.store.list(CHECKS, account, where=where, offset=offset, limit=limit)
            ]

        return total, fetch

    def update_incident(self, account: str, incident_id: str, body: dict[str, Any]) -> dict[str, Any]:
        record = self.store.get(INCIDENTS, incident_id)
        if record is None or record.account != account:
            raise NotFoundError(f"Incident '{incident_id}' not found", incident_id=incident_id)
        changes: dict[str, Any] = {
            key: body[key] for key in ("description", "resolutionNotes", "severity", "status") if key in body
        }
        if "title" in body:
            changes["name"] = body["title"]
        self.store.patch(INCIDENTS, incident_id, changes)
        data = {**record.data, **changes}
        return {k: v for k, v in data.items() if k != "checkIds" and v is not None}
