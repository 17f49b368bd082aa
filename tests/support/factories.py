"""Citizens, devices, assignments and gateways in a test database: one insert function each.

Each takes an open psycopg connection and returns the new row's key. Arguments left out
take the database's defaults (or, for a device, the identity of the contract example's
A&D UA-651BLE monitor), so a test names only what it is about.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import psycopg

NORD, SYD = "team-nord", "team-syd"
ASSIGNED_FROM = datetime(2026, 1, 1, tzinfo=UTC)
BIRTH_DATE = date(1950, 1, 1)
A_AND_D_MONITOR: dict[str, Any] = {
    "kind": "blood_pressure", "serial": "5081234", "manufacturer": "A&D Medical", "model": "UA-651BLE",
    "firmware": "1.2",
}


def _insert(conn: psycopg.Connection[Any], table: str, values: dict[str, Any], key: str = "id") -> Any:
    """``INSERT INTO table (...) VALUES (...) RETURNING key`` with the columns that are not None."""
    columns = {column: value for column, value in values.items() if value is not None}
    names = ", ".join(columns)
    placeholders = ", ".join(["%s"] * len(columns))
    row = conn.execute(
        f"INSERT INTO {table} ({names}) VALUES ({placeholders}) RETURNING {key}",
        tuple(columns.values()),
    ).fetchone()
    assert row is not None
    return row[0]


def insert_citizen(
    conn: psycopg.Connection[Any],
    given: str = "Karen",
    family: str = "Hansen",
    team: str = NORD,
    *,
    cpr: str | None = None,
    birth_date: date | None = BIRTH_DATE,
    timezone: str | None = None,
    active: bool | None = None,
) -> int:
    """A citizen; ``timezone`` and ``active`` default to the schema's (Europe/Copenhagen, true)."""
    return int(_insert(conn, "citizens", {
        "cpr": cpr, "given_name": given, "family_name": family, "birth_date": birth_date, "care_team": team,
        "timezone": timezone, "active": active,
    }))


def insert_device(
    conn: psycopg.Connection[Any],
    address: str,
    gateway_id: str | None = None,
    *,
    battery: int | None = None,
    battery_at: datetime | None = None,
    **identity: Any,
) -> int:
    """A device (an A&D UA-651BLE unless ``identity`` says otherwise: kind, serial, manufacturer,
    model, firmware). ``battery`` is as of ``battery_at`` (default now)."""
    values = {**A_AND_D_MONITOR, **identity}
    if battery is not None:
        values.update(battery_level=battery, battery_at=battery_at or datetime.now(UTC))
    return int(_insert(conn, "devices", {"address": address, "last_gateway_id": gateway_id, **values}))


def insert_assignment(
    conn: psycopg.Connection[Any],
    device_id: int,
    citizen_id: int,
    *,
    slot: int = 1,
    start: datetime = ASSIGNED_FROM,
    end: datetime | None = None,
) -> int:
    """The citizen owns the device's user ``slot`` from ``start`` until ``end`` (open when None)."""
    row = conn.execute(
        "INSERT INTO device_assignments (device_id, user_slot, citizen_id, valid) "
        "VALUES (%s, %s, %s, tstzrange(%s, %s)) RETURNING id",
        (device_id, slot, citizen_id, start, end),
    ).fetchone()
    assert row is not None
    return int(row[0])


def insert_gateway(
    conn: psycopg.Connection[Any],
    gateway_id: str,
    *,
    state: str | None = None,
    last_seen: datetime | None = None,
    **columns: Any,
) -> str:
    """A gateway (state 'unknown', never seen, unless told); ``columns``: version, outbox_depth, …"""
    return str(_insert(conn, "gateways", {
        "gateway_id": gateway_id, "state": state, "last_seen": last_seen, **columns,
    }, key="gateway_id"))
