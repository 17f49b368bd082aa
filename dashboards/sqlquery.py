"""A PostgreSQL query target for grafana-foundation-sdk.

The SDK ships typed query builders for Prometheus, Loki, Elasticsearch, CloudWatch and
others, but none for Grafana's SQL data sources. Its escape hatch is the abstract
``cog.variants.Dataquery``: any object with ``to_json`` can be a panel target. This module
implements one for the PostgreSQL data source (plugin id ``grafana-postgresql-datasource``,
alias ``postgres``) with the fields Grafana's SQL query model stores for a code-mode query
(``rawSql``, ``format``, ``rawQuery``, ``editorMode``), and registers it with the SDK's
runtime so generated JSON parses back into the same objects.
"""

from __future__ import annotations

from typing import Any, Literal, Self

from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import runtime as cogruntime
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.models import dashboard as model

DATASOURCE_TYPE = "grafana-postgresql-datasource"
DATASOURCE_UID = "homevitals-timescaledb"

Format = Literal["table", "time_series"]


def datasource_ref() -> model.DataSourceRef:
    """The one data source every panel, target and variable uses (provisioned by uid)."""
    return model.DataSourceRef(type_val=DATASOURCE_TYPE, uid=DATASOURCE_UID)


class SqlDataquery(cogvariants.Dataquery):
    """A raw-SQL target of Grafana's PostgreSQL data source."""

    def __init__(self, ref_id: str = "A", raw_sql: str = "", fmt: Format = "table") -> None:
        self.ref_id = ref_id
        self.raw_sql = raw_sql
        self.format = fmt

    def to_json(self) -> dict[str, object]:
        return {
            "refId": self.ref_id,
            "datasource": datasource_ref().to_json(),
            "editorMode": "code",
            "format": self.format,
            "rawQuery": True,
            "rawSql": self.raw_sql,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        fmt: Format = "time_series" if data.get("format") == "time_series" else "table"
        return cls(ref_id=str(data.get("refId", "A")), raw_sql=str(data.get("rawSql", "")), fmt=fmt)


class SqlQuery(cogbuilder.Builder[cogvariants.Dataquery]):
    """Builder in the SDK's style: ``SqlQuery(sql).ref_id("B").time_series()``."""

    def __init__(self, raw_sql: str) -> None:
        self._internal = SqlDataquery(raw_sql=raw_sql.strip())

    def build(self) -> cogvariants.Dataquery:
        return self._internal

    def ref_id(self, ref_id: str) -> Self:
        self._internal.ref_id = ref_id
        return self

    def time_series(self) -> Self:
        self._internal.format = "time_series"
        return self


def register_with_sdk() -> None:
    """Let ``Dashboard.from_json`` turn our targets back into :class:`SqlDataquery`."""
    config = cogruntime.DataqueryConfig(identifier=DATASOURCE_TYPE, from_json_hook=SqlDataquery.from_json)
    cogruntime.register_dataquery_variant(config)
