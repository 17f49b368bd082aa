"""The Grafana objects homevitals owns: its folder and its PostgreSQL data source.

One definition serves both ways of getting them into Grafana: the provisioning YAML under
``dashboards/provisioning/`` (a test checks the YAML says the same) and ``sync``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dashboards.common import FOLDER_UID
from dashboards.sqlquery import DATASOURCE_TYPE, DATASOURCE_UID

# Grafana 10.3 renamed the core plugin "postgres" to "grafana-postgresql-datasource" and
# kept the old id as an alias; a data source created under either is the same thing.
DATASOURCE_TYPES = frozenset({DATASOURCE_TYPE, "postgres"})


@dataclass(frozen=True)
class FolderSpec:
    uid: str = FOLDER_UID
    title: str = "homevitals"


@dataclass(frozen=True)
class DatasourceSpec:
    """Grafana's connection to TimescaleDB, as a login member of ``homevitals_grafana``."""

    url: str = "timescaledb:5432"  # host:port as Grafana reaches the database
    database: str = "homevitals"
    user: str = "grafana_reader"
    sslmode: str = "disable"  # inside the compose network; use verify-full across hosts
    name: str = "homevitals TimescaleDB"
    uid: str = DATASOURCE_UID
    postgres_version: int = 1500

    def json_data(self) -> dict[str, Any]:
        return {
            "database": self.database,
            "sslmode": self.sslmode,
            "postgresVersion": self.postgres_version,
            "timescaledb": True,  # $__timeGroup becomes time_bucket()
            "maxOpenConns": 10,
            "maxIdleConns": 2,
            "connMaxLifetime": 14400,
        }

    def payload(self, password: str | None) -> dict[str, Any]:
        """Body of ``POST /api/datasources`` and ``PUT /api/datasources/uid/{uid}``."""
        body: dict[str, Any] = {
            "uid": self.uid,
            "name": self.name,
            "type": DATASOURCE_TYPE,
            "access": "proxy",
            "url": self.url,
            "user": self.user,
            "isDefault": True,
            "jsonData": self.json_data(),
        }
        if password is not None:
            body["secureJsonData"] = {"password": password}
        return body
