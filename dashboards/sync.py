"""Upsert homevitals' folder, data source and dashboards into a running Grafana.

Built on grafana-client. ``plan`` only reads (GET) and works out, per object, whether it
must be created, updated, or is already as the code says; ``apply`` then writes only what
differs, so a second sync changes nothing. ``--dry-run`` is ``plan`` alone.

What counts as "the same":
- folder: the title;
- data source: name, type (``postgres`` and ``grafana-postgresql-datasource`` are one
  plugin), access, url, user, default flag and our ``jsonData`` keys (keys someone added in
  the UI are kept). Grafana never returns the password; sync sends it when it creates the
  data source, when it updates it anyway, when Grafana says none is set, or when asked to
  (``--rotate-password``);
- dashboard: the whole JSON model except ``id`` and ``version`` (Grafana's bookkeeping),
  and the folder it is in.
Objects provisioned from files are read-only in Grafana's API: sync reports them as
conflicts instead of overwriting them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import structlog
from grafana_client.api import GrafanaApi
from grafana_client.client import GrafanaClientError, GrafanaException

from dashboards.errors import GrafanaRequestError, MissingSecretError, SyncConflictError
from dashboards.grafana_objects import DATASOURCE_TYPES, DatasourceSpec, FolderSpec

log = structlog.get_logger()

Kind = Literal["folder", "datasource", "dashboard"]
Action = Literal["create", "update", "unchanged"]
IGNORED_DASHBOARD_KEYS = frozenset({"id", "version"})
COMMIT_MESSAGE = "homevitals dashboards sync"
MAX_LISTED_CHANGES = 8


@dataclass(frozen=True)
class Step:
    """One object's fate: what sync will do and why."""

    kind: Kind
    uid: str
    title: str
    action: Action
    changes: tuple[str, ...] = ()
    payload: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def describe(self) -> str:
        line = f"{self.kind:<10} {self.uid:<28} {self.action}"
        if self.changes:
            shown = ", ".join(self.changes[:MAX_LISTED_CHANGES])
            more = len(self.changes) - MAX_LISTED_CHANGES
            line += f": {shown}" + (f" (+{more} more)" if more > 0 else "")
        return f"{line}  [{self.title}]"


def summary(steps: list[Step], *, dry_run: bool) -> str:
    actions = [step.action for step in steps]
    created, updated, unchanged = (actions.count(a) for a in ("create", "update", "unchanged"))
    verb = "would be" if dry_run else "were"
    text = f"{created} {verb} created, {updated} {verb} updated, {unchanged} unchanged"
    return text + (" (dry run: nothing was changed)" if dry_run else "")


def diff_paths(old: Any, new: Any, path: str = "") -> list[str]:
    """Where two JSON values differ, as short paths (``panels[3].targets``, ``title``)."""
    if isinstance(old, dict) and isinstance(new, dict):
        found: list[str] = []
        for key in sorted(set(old) | set(new), key=str):
            child = f"{path}.{key}" if path else str(key)
            if key not in old or key not in new:
                found.append(child)
            else:
                found += diff_paths(old[key], new[key], child)
        return found
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        found = []
        for index, (a, b) in enumerate(zip(old, new, strict=True)):
            found += diff_paths(a, b, f"{path}[{index}]")
        return found
    return [] if old == new else [path or "(root)"]


def _coarse(paths: list[str], depth: int = 2) -> tuple[str, ...]:
    """``panels[3].fieldConfig.overrides[2]`` -> ``panels[3].fieldConfig``, deduplicated."""
    seen: dict[str, None] = {}
    for item in paths:
        seen[".".join(item.split(".")[:depth])] = None
    return tuple(seen)


class GrafanaSync:
    def __init__(self, api: GrafanaApi) -> None:
        self._api: Any = api  # grafana-client's element methods are unannotated

    @classmethod
    def connect(cls, url: str, token: str, timeout: float = 10.0) -> GrafanaSync:
        """A service-account token (Editor on the folder, data source admin) authorises."""
        return cls(GrafanaApi.from_url(url=url, credential=token, timeout=timeout))

    # -- reading --------------------------------------------------------------------------
    def _get(self, action: str, call: Any, *args: Any) -> dict[str, Any] | None:
        try:
            found: dict[str, Any] = call(*args)
        except GrafanaClientError as error:
            if error.status_code == 404:
                return None
            raise GrafanaRequestError(action, error.status_code, str(error.message)) from error
        except GrafanaException as error:
            raise GrafanaRequestError(action, error.status_code or None, str(error.message)) from error
        except OSError as error:  # grafana-client lets connection errors through unwrapped
            raise GrafanaRequestError(action, None, str(error)) from error
        return found

    def plan(
        self,
        *,
        folder: FolderSpec,
        datasource: DatasourceSpec,
        password: str | None,
        dashboards: Mapping[str, dict[str, Any]],
        rotate_password: bool = False,
    ) -> list[Step]:
        steps = [self._plan_folder(folder), self._plan_datasource(datasource, password, rotate_password)]
        steps += [self._plan_dashboard(folder, dashboard) for dashboard in dashboards.values()]
        return steps

    def _plan_folder(self, spec: FolderSpec) -> Step:
        existing = self._get(f"GET folder {spec.uid}", self._api.folder.get_folder, spec.uid)
        payload = {"uid": spec.uid, "title": spec.title}
        if existing is None:
            return Step("folder", spec.uid, spec.title, "create", payload=payload)
        if existing.get("title") != spec.title:
            return Step("folder", spec.uid, spec.title, "update", ("title",), payload)
        return Step("folder", spec.uid, spec.title, "unchanged")

    def _plan_datasource(self, spec: DatasourceSpec, password: str | None, rotate: bool) -> Step:
        existing = self._get(
            f"GET datasource {spec.uid}", self._api.datasource.get_datasource_by_uid, spec.uid
        )
        desired = spec.payload(password)
        if existing is None:
            if password is None:
                raise MissingSecretError("HOMEVITALS_GRAFANA_DB_PASSWORD", "create the Grafana data source")
            return Step("datasource", spec.uid, spec.name, "create", payload=desired)
        changes = [
            key
            for key in ("name", "access", "url", "user", "isDefault")
            if existing.get(key) != desired[key]
        ]
        if existing.get("type") not in DATASOURCE_TYPES:
            changes.append("type")
        old_json = existing.get("jsonData") or {}
        changes += [
            f"jsonData.{key}" for key, value in desired["jsonData"].items() if old_json.get(key) != value
        ]
        has_password = bool((existing.get("secureJsonFields") or {}).get("password"))
        if password is not None and (rotate or not has_password):
            changes.append("password")
        if not changes:
            return Step("datasource", spec.uid, spec.name, "unchanged")
        if existing.get("readOnly"):
            raise SyncConflictError(
                "datasource", spec.uid,
                f"differs ({', '.join(changes)}) but is provisioned from a file; edit "
                "dashboards/provisioning/datasources/homevitals.yaml instead",
            )
        merged = {**desired, "jsonData": {**old_json, **desired["jsonData"]}}
        if existing.get("type") in DATASOURCE_TYPES:
            merged["type"] = existing["type"]  # no plugin change for an alias
        return Step("datasource", spec.uid, spec.name, "update", tuple(changes), merged)

    def _plan_dashboard(self, folder: FolderSpec, dashboard: dict[str, Any]) -> Step:
        uid, title = str(dashboard["uid"]), str(dashboard["title"])
        existing = self._get(f"GET dashboard {uid}", self._api.dashboard.get_dashboard, uid)
        payload = {
            "dashboard": {**dashboard, "id": None},
            "folderUid": folder.uid,
            "overwrite": True,
            "message": COMMIT_MESSAGE,
        }
        if existing is None:
            return Step("dashboard", uid, title, "create", payload=payload)
        stored = {k: v for k, v in existing.get("dashboard", {}).items() if k not in IGNORED_DASHBOARD_KEYS}
        wanted = {k: v for k, v in dashboard.items() if k not in IGNORED_DASHBOARD_KEYS}
        changes = list(_coarse(diff_paths(stored, wanted)))
        meta = existing.get("meta", {})
        if meta.get("folderUid") != folder.uid:
            changes.append("folder")
        if not changes:
            return Step("dashboard", uid, title, "unchanged")
        if meta.get("provisioned"):
            raise SyncConflictError(
                "dashboard", uid,
                "differs but is provisioned from files; use file provisioning or sync, not both",
            )
        return Step("dashboard", uid, title, "update", tuple(changes), payload)

    # -- writing --------------------------------------------------------------------------
    def apply(self, steps: list[Step]) -> None:
        for step in steps:
            if step.action == "unchanged":
                continue
            action = f"{step.action} {step.kind} {step.uid}"
            try:
                self._write(step)
            except GrafanaException as error:
                raise GrafanaRequestError(action, error.status_code or None, str(error.message)) from error
            except OSError as error:
                raise GrafanaRequestError(action, None, str(error)) from error
            log.info("grafana_sync_applied", kind=step.kind, uid=step.uid, action=step.action,
                     changes=list(step.changes))

    def _write(self, step: Step) -> None:
        body = step.payload
        if step.kind == "folder":
            if step.action == "create":
                self._api.folder.create_folder(body["title"], uid=body["uid"])
            else:
                self._api.folder.update_folder(body["uid"], title=body["title"], overwrite=True)
        elif step.kind == "datasource":
            if step.action == "create":
                self._api.datasource.create_datasource(body)
            else:
                self._api.datasource.update_datasource_by_uid(step.uid, body)
        else:
            self._api.dashboard.update_dashboard(body)
