"""Test harness: real PostgreSQL with TimescaleDB and real Mosquitto, started here.

Session-scoped fixtures start a throwaway cluster and broker on free ports and tear them
down at the end; nothing is left running. Each test that needs a database gets a fresh one,
cloned from a migrated template, so tests never see each other's rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.services.mosquitto import LocalMosquitto
from devstack.services.postgres import LocalPostgres
from tests.support.database import TEMPLATE_DB, fresh_database

INTEGRATION_FIXTURES = {
    "postgres_server", "migrated_template", "db_dsn", "mosquitto", "private_mosquitto",
    "private_postgres",
}
REPO_ROOT = Path(__file__).resolve().parent.parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test is unit or integration: explicit markers win, else the fixtures decide."""
    for item in items:
        if item.get_closest_marker("unit") or item.get_closest_marker("integration"):
            continue
        fixtures = set(getattr(item, "fixturenames", ()))
        item.add_marker(pytest.mark.integration if fixtures & INTEGRATION_FIXTURES else pytest.mark.unit)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[LocalPostgres]:
    """A throwaway PostgreSQL cluster with TimescaleDB preloaded."""
    with LocalPostgres() as server:
        yield server


@pytest.fixture(scope="session")
def migrated_template(postgres_server: LocalPostgres) -> str:
    """A database migrated to head, used as the template of each test's database."""
    from database.migrate import migrate

    postgres_server.execute("postgres", f"CREATE DATABASE {TEMPLATE_DB}")
    dsn = postgres_server.dsn_for(TEMPLATE_DB)
    migrate(dsn)
    # CREATE DATABASE ... TEMPLATE fails while anyone is connected to the template, and
    # TimescaleDB's background worker connects to every database once a minute.
    postgres_server.execute("postgres", f"ALTER DATABASE {TEMPLATE_DB} WITH ALLOW_CONNECTIONS false")
    postgres_server.execute(
        "postgres",
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        f"WHERE datname = '{TEMPLATE_DB}' AND pid <> pg_backend_pid()",
    )
    return dsn


@pytest.fixture
def db_dsn(postgres_server: LocalPostgres, migrated_template: str) -> Iterator[str]:
    """A fresh, migrated database for one test (superuser DSN)."""
    with fresh_database(postgres_server) as dsn:
        yield dsn


@pytest.fixture(scope="session")
def mosquitto() -> Iterator[LocalMosquitto]:
    """A throwaway broker shared by the session; tests use their own topics or gateway ids."""
    with LocalMosquitto() as broker:
        yield broker


@pytest.fixture
def private_mosquitto() -> Iterator[LocalMosquitto]:
    """A broker for one test, which it may stop and start (broker-down tests)."""
    with LocalMosquitto() as broker:
        yield broker


@pytest.fixture
def private_postgres() -> Iterator[LocalPostgres]:
    """A cluster for one test, which it may restart (database-down tests); migrated."""
    from database.migrate import migrate

    with LocalPostgres() as server:
        migrate(server.dsn)
        yield server
