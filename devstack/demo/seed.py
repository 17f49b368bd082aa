"""Register the demo's citizens, monitors, gateways and assignments in the database.

Idempotent: citizens are keyed by their (synthetic) CPR number and devices by address, and an
assignment is only created when the device slot has none, so a second run changes nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg

from devstack.demo.homes import DemoHome


def seed_homes(dsn: str, homes: list[DemoHome], *, history_days: int) -> dict[str, int]:
    """Upsert everything the homes need. Returns demo citizen key -> database citizen id."""
    # Assignments start before the oldest history reading so the backlog is attributed.
    valid_from = datetime.now(UTC) - timedelta(days=history_days + 30)
    ids: dict[str, int] = {}
    with psycopg.connect(dsn) as conn:
        for home in homes:
            conn.execute(
                "INSERT INTO gateways (gateway_id, description) VALUES (%s, %s) "
                "ON CONFLICT (gateway_id) DO NOTHING",
                (home.gateway_id, "homevitals demo home"),
            )
            device_row = conn.execute(
                "INSERT INTO devices (address, kind, manufacturer, model) "
                "VALUES (%s, 'blood_pressure', 'A&D Medical', 'UA-651BLE') "
                "ON CONFLICT (address) DO UPDATE SET address = EXCLUDED.address RETURNING id",
                (home.monitor_address,),
            ).fetchone()
            if device_row is None:  # pragma: no cover - RETURNING always yields the row
                raise RuntimeError("device upsert returned nothing")
            for citizen in home.citizens:
                row = conn.execute(
                    "INSERT INTO citizens (cpr, given_name, family_name, care_team) "
                    "VALUES (%s, %s, %s, %s) "
                    "ON CONFLICT (cpr) DO UPDATE SET care_team = EXCLUDED.care_team RETURNING id",
                    (citizen.cpr, citizen.given_name, citizen.family_name, citizen.care_team),
                ).fetchone()
                if row is None:  # pragma: no cover - RETURNING always yields the row
                    raise RuntimeError("citizen upsert returned nothing")
                ids[citizen.key] = row[0]
                conn.execute(
                    "INSERT INTO device_assignments (device_id, user_slot, citizen_id, valid, created_by) "
                    "SELECT %s, %s, %s, tstzrange(%s, NULL), 'homevitals-demo' "
                    "WHERE NOT EXISTS (SELECT 1 FROM device_assignments "
                    "                  WHERE device_id = %s AND user_slot = %s)",
                    (device_row[0], citizen.user_slot, row[0], valid_from, device_row[0], citizen.user_slot),
                )
    return ids
