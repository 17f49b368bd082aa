"""The benchmark's gateways, devices and citizens, and its deterministic contract messages."""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg

from homevitals.contract import readings_topic

# Stamped into each message at send time (same length as every real UTC timestamp below).
PLACEHOLDER = b"2000-01-01T00:00:00.000000Z"
_NAMESPACE = uuid.UUID("3f4b8c52-0d3a-4a8e-9b1e-6a7f0c2d1e55")


def utc_stamp() -> bytes:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ").encode()


@dataclass(frozen=True)
class Fleet:
    """G gateways with D devices each; every device is assigned to its own citizen."""

    gateways: int
    devices_per_gateway: int = 4
    prefix: str = "gw-bench"

    def gateway_id(self, g: int) -> str:
        return f"{self.prefix}-{g:04d}"

    def address(self, g: int, d: int) -> str:
        n = g * self.devices_per_gateway + d
        return "02:00:" + ":".join(f"{(n >> shift) & 0xFF:02X}" for shift in (24, 16, 8, 0))


def generate_messages(
    fleet: Fleet, gateway_ids: range, readings_per_gateway: int, per_message: int, seed: int
) -> list[tuple[str, bytes]]:
    """Deterministic contract-v1 messages (topic, payload with placeholders) for some gateways.

    The same arguments give the same bytes, so every contender gets the same messages.
    """
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    base = datetime(2026, 1, 5, tzinfo=UTC)
    messages: list[tuple[str, bytes]] = []
    placeholder = PLACEHOLDER.decode()
    for g in gateway_ids:
        gateway_id = fleet.gateway_id(g)
        for seq, first in enumerate(range(0, readings_per_gateway, per_message)):
            readings = []
            for i in range(first, min(first + per_message, readings_per_gateway)):
                d = i % fleet.devices_per_gateway
                systolic = rng.randint(95, 175)
                diastolic = rng.randint(55, min(systolic - 10, 110))
                measured = base + timedelta(minutes=g * 7, seconds=i * 61)
                readings.append(
                    {
                        "reading_id": str(uuid.uuid5(_NAMESPACE, f"{seed}/{g}/{i}")),
                        "kind": "blood_pressure",
                        "device": {
                            "address": fleet.address(g, d),
                            "serial": f"50{g:04d}{d}",
                            "manufacturer": "A&D Medical",
                            "model": "UA-651BLE",
                            "firmware": "1.2",
                        },
                        "user_id": 1,
                        "device_time": measured.strftime("%Y-%m-%dT%H:%M:%S"),
                        "gateway_time": placeholder,
                        "measured_at": measured.strftime("%Y-%m-%dT%H:%M:%SZ"),
                        "time_source": "device",
                        "unit": "mmHg",
                        "values": {
                            "systolic": systolic,
                            "diastolic": diastolic,
                            "mean_arterial_pressure": (systolic + 2 * diastolic) // 3,
                            "pulse_rate": rng.randint(50, 95),
                        },
                        "status": {
                            "body_movement": False,
                            "cuff_fit_loose": False,
                            "irregular_pulse": False,
                            "pulse_rate_range": "in_range",
                            "improper_position": False,
                        },
                        "invalid_values": [],
                        "battery_level": 80,
                        "raw": {"uuid": "2a35", "hex": f"1e{systolic:02x}00{diastolic:02x}00"},
                    }
                )
            payload = {
                "schema": "homevitals.readings.v1",
                "gateway_id": gateway_id,
                "batch_seq": seq,
                "sent_at": placeholder,
                "readings": readings,
            }
            messages.append((readings_topic(gateway_id), json.dumps(payload, separators=(",", ":")).encode()))
    return messages


def seed(dsn: str, fleet: Fleet) -> None:
    """Gateways, devices, and one citizen per device with an open assignment."""
    with psycopg.connect(dsn, autocommit=True) as conn, conn.transaction():
        for g in range(fleet.gateways):
            conn.execute("INSERT INTO gateways (gateway_id) VALUES (%s)", (fleet.gateway_id(g),))
        with conn.cursor() as cur:
            for g in range(fleet.gateways):
                for d in range(fleet.devices_per_gateway):
                    citizen = cur.execute(
                        "INSERT INTO citizens (given_name, family_name, care_team) "
                        "VALUES ('Bench', %s, 'bench') RETURNING id",
                        (f"{g}-{d}",),
                    ).fetchone()
                    device = cur.execute(
                        "INSERT INTO devices (address, kind, model) "
                        "VALUES (%s, 'blood_pressure', 'UA-651BLE') "
                        "RETURNING id",
                        (fleet.address(g, d),),
                    ).fetchone()
                    if citizen is None or device is None:  # pragma: no cover - RETURNING always returns
                        raise RuntimeError("seeding failed")
                    cur.execute(
                        "INSERT INTO device_assignments (device_id, user_slot, citizen_id, valid) "
                        "VALUES (%s, 1, %s, tstzrange('2025-01-01', NULL))",
                        (device[0], citizen[0]),
                    )
