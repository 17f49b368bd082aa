"""Per-test databases cloned from the harness's migrated template, and row counts.

The session fixtures in tests/conftest.py start the cluster and migrate the template; these
functions are what every conftest and test does with them.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg

from devstack.services.postgres import LocalPostgres
from tests.support.waiting import wait_until

TEMPLATE_DB = "homevitals_template"
_names = itertools.count()


def unique_database_name(prefix: str = "t") -> str:
    """A database name no other test of this run (or of another pytest process) uses."""
    return f"{prefix}_{os.getpid()}_{next(_names)}"


def create_database(server: LocalPostgres, name: str) -> str:
    """A fresh database cloned from the migrated template; its superuser DSN."""
    server.execute("postgres", f"CREATE DATABASE {name} TEMPLATE {TEMPLATE_DB}")
    return server.dsn_for(name)


def drop_database(server: LocalPostgres, name: str) -> None:
    """Drop a test database even while something is still connected to it."""
    server.execute("postgres", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@contextmanager
def fresh_database(server: LocalPostgres, prefix: str = "t") -> Iterator[str]:
    """A database for one test, dropped afterwards; yields its superuser DSN."""
    name = unique_database_name(prefix)
    dsn = create_database(server, name)
    try:
        yield dsn
    finally:
        drop_database(server, name)


def count(dsn: str, sql: str, *params: Any) -> int:
    """The single integer ``sql`` selects (``SELECT count(*) FROM …``)."""
    with psycopg.connect(dsn, connect_timeout=5) as conn:
        row = conn.execute(sql, params).fetchone()
    assert row is not None, f"{sql} returned no row"
    return int(row[0])


def wait_for_count(dsn: str, sql: str, expected: int, timeout: float = 30) -> None:
    """Poll ``count(dsn, sql)`` until it reaches at least ``expected``."""
    wait_until(
        lambda: count(dsn, sql) >= expected,
        timeout,
        lambda: f"{sql} to reach {expected} (is {count(dsn, sql)})",
    )
