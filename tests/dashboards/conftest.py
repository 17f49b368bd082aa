"""Fixtures for the dashboards tests: a seeded database read as Grafana reads it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from dashboards_seed import Seeded, seed
from fake_grafana import FakeGrafana

from benchmarks.grafana_sql import TimeRange, Variable, render
from devstack.services.postgres import LocalPostgres


@dataclass
class World:
    """The seeded database, queried as a login member of homevitals_grafana."""

    seeded: Seeded
    conn: psycopg.Connection[Any]
    grafana_user: str
    variables: dict[str, Variable] = field(default_factory=dict)

    def last_days(self, days: float) -> TimeRange:
        return TimeRange(self.seeded.now - timedelta(days=days), self.seeded.now + timedelta(minutes=1))

    def run(
        self,
        sql: str,
        time_range: TimeRange,
        interval: timedelta = timedelta(minutes=1),
        **overrides: Variable,
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Expand the panel SQL like Grafana, run it, return (column names, rows)."""
        variables = {**self.variables, **overrides}
        cursor = self.conn.execute(render(sql, variables=variables, time_range=time_range, interval=interval))
        assert cursor.description is not None
        return [column.name for column in cursor.description], cursor.fetchall()


@pytest.fixture
def world(db_dsn: str, postgres_server: LocalPostgres) -> Iterator[World]:
    seeded = seed(db_dsn)
    user = f"grafana_reader_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(db_dsn, autocommit=True) as admin:
        admin.execute(f"CREATE ROLE {user} LOGIN IN ROLE homevitals_grafana")
    database = db_dsn.rsplit("/", 1)[1]
    conn = psycopg.connect(postgres_server.dsn_for(database, user=user), autocommit=True)
    variables = {
        "team": Variable(("$__all",), multi=True, include_all=True, options=seeded.teams),
        "citizen": Variable(str(seeded.citizens["karen"])),
    }
    try:
        yield World(seeded, conn, user, variables)
    finally:
        conn.close()
        with psycopg.connect(db_dsn, autocommit=True) as admin:
            admin.execute(f"DROP ROLE {user}")


@pytest.fixture
def fake_grafana() -> Iterator[FakeGrafana]:
    with FakeGrafana(token="s3cret-token") as grafana:
        yield grafana
