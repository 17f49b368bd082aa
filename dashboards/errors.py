"""Typed errors of the dashboards service; each carries the data that explains it."""

from __future__ import annotations

from homevitals.errors import HomevitalsError


class DashboardsError(HomevitalsError):
    """Base class of the dashboards service's errors."""


class UnknownLanguageError(DashboardsError):
    def __init__(self, lang: str, supported: tuple[str, ...]) -> None:
        self.lang = lang
        self.supported = supported
        super().__init__(f"unknown language {lang!r}; choose one of {', '.join(supported)}")


class MissingTranslationError(DashboardsError):
    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(f"no translation for {key!r}; add it to dashboards/i18n.py")


class GrafanaRequestError(DashboardsError):
    """Grafana answered an API call with an error, or could not be reached."""

    def __init__(self, action: str, status_code: int | None, message: str) -> None:
        self.action = action
        self.status_code = status_code
        self.message = message
        status = f"HTTP {status_code}" if status_code else "no response"
        super().__init__(f"{action} failed ({status}): {message}")


class SyncConflictError(DashboardsError):
    """Grafana holds an object that sync must not overwrite (e.g. provisioned from files)."""

    def __init__(self, kind: str, uid: str, reason: str) -> None:
        self.kind = kind
        self.uid = uid
        self.reason = reason
        super().__init__(f"{kind} {uid}: {reason}")


class MissingSecretError(DashboardsError):
    def __init__(self, setting: str, needed_for: str) -> None:
        self.setting = setting
        self.needed_for = needed_for
        super().__init__(f"{setting} is not set; it is needed to {needed_for}")
