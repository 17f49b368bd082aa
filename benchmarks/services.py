"""The services a benchmark runs against: given ones, or throwaway ones started here."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg

from database.migrate import migrate
from devstack.services.mosquitto import LocalMosquitto
from devstack.services.postgres import LocalPostgres


@dataclass
class Services:
    admin_dsn: str  # a database we can CREATE DATABASE from
    mqtt_host: str
    mqtt_port: int
    postgres: LocalPostgres | None
    mosquitto: LocalMosquitto | None

    def fresh_database(self, name: str) -> str:
        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {name}")
        dsn = self.admin_dsn.rsplit("/", 1)[0] + "/" + name
        migrate(dsn)
        return dsn

    def drop_database(self, name: str) -> None:
        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@contextlib.contextmanager
def services(
    admin_dsn: str | None, mqtt_host: str | None, mqtt_port: int | None, durable: bool
) -> Iterator[Services]:
    with contextlib.ExitStack() as stack:
        postgres = None
        mosquitto = None
        if admin_dsn is None:
            postgres = stack.enter_context(LocalPostgres(durable=durable))
            admin_dsn = postgres.dsn_for("postgres")
        if mqtt_port is None:
            mosquitto = stack.enter_context(LocalMosquitto())
            mqtt_host, mqtt_port = "127.0.0.1", mosquitto.port
        yield Services(admin_dsn, mqtt_host or "127.0.0.1", mqtt_port, postgres, mosquitto)
