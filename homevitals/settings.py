"""Settings base shared by every service.

Settings are read only at the edge (a CLI command builds a settings object and passes plain
values down). Each service subclasses :class:`ServiceSettings` with its own ``env_prefix``
(``GATEWAY_``, ``INGEST_``, ``API_``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from homevitals.errors import ConfigurationError

Environment = Literal["development", "production"]

# Values shipped in examples and docs. Production refuses to start with any of them.
KNOWN_DEFAULT_SECRETS = frozenset({"", "changeme", "change-me", "secret", "homevitals", "dev-secret"})


class ServiceSettings(BaseSettings):
    """Common settings: environment, logging."""

    model_config = SettingsConfigDict(extra="ignore", env_file=None)

    environment: Environment = Field(
        default="development", description="'production' turns on the secret checks."
    )
    log_level: str = Field(default="INFO", description="DEBUG, INFO, WARNING or ERROR.")
    log_format: Literal["json", "console"] = Field(default="json")

    def require_secret(self, setting: str, value: str | None) -> None:
        """In production, refuse empty or well-known secrets."""
        if self.environment == "production" and (value is None or value in KNOWN_DEFAULT_SECRETS):
            raise ConfigurationError(
                setting, "is unset or a published default; set a unique secret for production"
            )


class DatabaseSettings(BaseSettings):
    """For commands that only need a database URL (``homevitals db migrate``)."""

    model_config = SettingsConfigDict(env_prefix="HOMEVITALS_", extra="ignore")

    database_url: str = Field(
        default="postgresql://localhost/homevitals",
        description="libpq URL of the homevitals database, e.g. postgresql://user:pw@host/db",
    )
