"""Configuration of ``homevitals dashboards``, read at the edge from the environment.

``DASHBOARDS_*`` variables. The data source's connection settings also answer to the
``HOMEVITALS_GRAFANA_DB_*`` variables that docker-compose gives Grafana for the
provisioning YAML, so one ``.env`` serves both ways of getting the data source into Grafana.
"""

from __future__ import annotations

from pydantic import AliasChoices, Field
from pydantic_settings import SettingsConfigDict

from homevitals.settings import ServiceSettings


class DashboardsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="DASHBOARDS_", extra="ignore", env_file=None)

    grafana_url: str | None = Field(default=None, description="e.g. https://grafana.example.dk")
    grafana_token: str | None = Field(default=None, description="Grafana service-account token")
    web_url: str | None = Field(
        default=None,
        pattern=r"^https?://[^\s]+$",
        description="The web app's address as staff's browsers reach it, e.g. "
        "https://homevitals.example.dk/app; the dashboards' data links open it. "
        "Unset: the committed default (http://localhost:8000/app).",
    )
    db_url: str = Field(
        default="timescaledb:5432",
        validation_alias=AliasChoices("DASHBOARDS_DB_URL", "HOMEVITALS_GRAFANA_DB_HOST"),
        description="host:port of TimescaleDB, as Grafana reaches it",
    )
    db_name: str = Field(
        default="homevitals",
        validation_alias=AliasChoices("DASHBOARDS_DB_NAME", "HOMEVITALS_GRAFANA_DB_NAME"),
    )
    db_user: str = Field(
        default="grafana_reader",
        validation_alias=AliasChoices("DASHBOARDS_DB_USER", "HOMEVITALS_GRAFANA_DB_USER"),
        description="a login member of homevitals_grafana",
    )
    db_sslmode: str = Field(default="disable", description="disable, require, verify-ca or verify-full")
    db_password: str | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "DASHBOARDS_DB_PASSWORD", "HOMEVITALS_GRAFANA_DB_PASSWORD", "GRAFANA_DB_PASSWORD"
        ),
    )
