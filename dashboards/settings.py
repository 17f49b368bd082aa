"""Configuration of ``homevitals dashboards``, read at the edge from the environment.

``DASHBOARDS_*`` variables, except the database password, which is ``GRAFANA_DB_PASSWORD``
because the data-source provisioning YAML reads the same variable.
"""

from __future__ import annotations

from pydantic import AliasChoices, Field
from pydantic_settings import SettingsConfigDict

from homevitals.settings import ServiceSettings


class DashboardsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="DASHBOARDS_", extra="ignore", env_file=None)

    grafana_url: str | None = Field(default=None, description="e.g. https://grafana.example.dk")
    grafana_token: str | None = Field(default=None, description="Grafana service-account token")
    db_url: str = Field(default="timescaledb:5432", description="host:port of TimescaleDB, seen from Grafana")
    db_name: str = Field(default="homevitals")
    db_user: str = Field(default="grafana_reader", description="a login member of homevitals_grafana")
    db_sslmode: str = Field(default="disable", description="disable, require, verify-ca or verify-full")
    db_password: str | None = Field(
        default=None, validation_alias=AliasChoices("GRAFANA_DB_PASSWORD", "DASHBOARDS_DB_PASSWORD")
    )
