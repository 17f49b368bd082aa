"""A small, fully known world for the panel-SQL tests.

Times are placed at fixed *local* clock times on previous days in each citizen's timezone,
so sessions (morning/evening), calendar days and the 7-day window are certain whatever
time the test runs. ``Seeded`` carries the ids and the instants the expectations need.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import psycopg

from tests.support.factories import insert_assignment, insert_citizen, insert_device, insert_gateway

CPH = "Europe/Copenhagen"
REYKJAVIK = "Atlantic/Reykjavik"

# Direct identifiers that must never reach Grafana.
IDENTIFIERS = {
    "karen": ("010150-1234", "Hansen", date(1950, 1, 1)),
    "jens": ("020245-4321", "Jensen", date(1945, 2, 2)),
    "anna": ("030360-1111", "Bergsdottir", date(1960, 3, 3)),
    "mette": ("040470-2222", "Madsen", date(1970, 4, 4)),
    "ole": ("050530-3333", "Olsen", date(1930, 5, 5)),
}


@dataclass
class Seeded:
    now: datetime
    citizens: dict[str, int] = field(default_factory=dict)
    devices: dict[str, int] = field(default_factory=dict)
    times: dict[str, datetime] = field(default_factory=dict)
    alerts: dict[str, int] = field(default_factory=dict)
    teams: tuple[str, ...] = ("team-nord", "team-syd")


def local(now: datetime, tz: str, days_ago: int, hh: int, mm: int = 0) -> datetime:
    """``hh:mm`` local time, ``days_ago`` calendar days before today in ``tz``, as UTC."""
    zone = ZoneInfo(tz)
    today = now.astimezone(zone).date()
    return datetime.combine(today - timedelta(days=days_ago), time(hh, mm), tzinfo=zone).astimezone(UTC)


def _status(movement: bool = False, irregular: bool = False) -> str:
    return json.dumps({
        "body_movement": movement, "cuff_fit_loose": False, "irregular_pulse": irregular,
        "pulse_rate_range": "in_range", "improper_position": False,
    })


def seed(dsn: str) -> Seeded:
    now = datetime.now(UTC)
    s = Seeded(now=now)
    with psycopg.connect(dsn, autocommit=True) as conn:
        def citizen(key: str, given: str, team: str, tz: str = CPH, active: bool = True) -> int:
            cpr, family, born = IDENTIFIERS[key]
            s.citizens[key] = insert_citizen(conn, given, family, team, cpr=cpr, birth_date=born, timezone=tz,
                                             active=active)
            return s.citizens[key]

        karen = citizen("karen", "Karen", "team-nord")
        jens = citizen("jens", "Jens", "team-nord")
        anna = citizen("anna", "Anna", "team-syd", REYKJAVIK)
        citizen("mette", "Mette", "team-syd")
        ole = citizen("ole", "Ole", "team-nord", active=False)

        # Jens has his own systolic limits: 120 is a warning for him, not for others.
        conn.execute(
            "INSERT INTO thresholds (citizen_id, metric, alert_low, warn_low, warn_high, alert_high) "
            "VALUES (%s, 'systolic', 90, 100, 115, 140)", (jens,))

        insert_gateway(conn, "gw-0001", state="online", last_seen=now - timedelta(minutes=1), outbox_depth=0,
                       version="1.4.0", last_batch_seq=41)
        insert_gateway(conn, "gw-0002", state="offline", last_seen=now - timedelta(hours=3), outbox_depth=12,
                       version="1.3.2", last_batch_seq=9)
        insert_gateway(conn, "gw-0003", state="unknown", last_seen=now - timedelta(minutes=9), last_batch_seq=3)
        s.times["gw-0001"] = now - timedelta(minutes=1)
        s.times["gw-0002"] = now - timedelta(hours=3)

        def device(key: str, address: str, model: str, battery: int | None, gateway: str) -> int:
            s.devices[key] = insert_device(
                conn, address, gateway, battery=battery, battery_at=now - timedelta(hours=1), model=model,
                serial=None, firmware=None, last_seen=now - timedelta(minutes=30))
            return s.devices[key]

        dev_a = device("a", "A4:C1:38:00:00:0A", "UA-651BLE", 15, "gw-0001")
        dev_b = device("b", "A4:C1:38:00:00:0B", "HEM-7600T", 80, "gw-0002")
        dev_c = device("c", "A4:C1:38:00:00:0C", "BM54", 55, "gw-0003")
        dev_d = device("d", "A4:C1:38:00:00:0D", "UA-651BLE", None, "gw-0001")
        dev_e = device("e", "A4:C1:38:00:00:0E", "UA-767", 5, "gw-0001")  # Karen's old one

        def assign(dev: int, who: int, start: datetime, end: datetime | None = None) -> int:
            return insert_assignment(conn, dev, who, start=start, end=end)

        month_ago = now - timedelta(days=30)
        assign(dev_e, karen, now - timedelta(days=60), month_ago)
        assign(dev_a, karen, month_ago)
        assign(dev_b, jens, month_ago)
        assign(dev_d, anna, month_ago)
        assign(dev_e, ole, month_ago)  # Ole is inactive: never on the care dashboards

        def reading(key: str, who: int | None, dev: int, gateway: str, at: datetime, sys: float,
                    dia: float, pulse: float, *, received: datetime | None = None,
                    implausible: bool = False, movement: bool = False, irregular: bool = False,
                    time_source: str = "device_corrected") -> None:
            s.times[key] = at
            values = {"systolic": sys, "diastolic": dia, "mean_arterial_pressure": None, "pulse_rate": pulse}
            conn.execute(
                "INSERT INTO readings (measured_at, reading_id, kind, device_id, user_slot, citizen_id, "
                "gateway_id, batch_seq, device_time, gateway_time, time_source, received_at, unit, "
                "systolic, diastolic, pulse_rate, \"values\", status, implausible, implausible_reasons, "
                "raw_uuid, raw) VALUES (%s, %s, 'blood_pressure', %s, 1, %s, %s, 1, NULL, %s, %s, %s, "
                "'mmHg', %s, %s, %s, %s, %s, %s, %s, '2a35', '\\x00')",
                (at, uuid.uuid4(), dev, who, gateway, at + timedelta(seconds=4), time_source,
                 received or at + timedelta(minutes=2), sys, dia, pulse, json.dumps(values),
                 _status(movement, irregular), implausible,
                 ["systolic_out_of_range"] if implausible else []))

        reading("k1", karen, dev_a, "gw-0001", local(now, CPH, 5, 8), 128, 82, 64)
        reading("k2", karen, dev_a, "gw-0001", local(now, CPH, 5, 20), 132, 84, 66, time_source="gateway")
        reading("k3", karen, dev_a, "gw-0001", local(now, CPH, 2, 7, 30), 150, 95, 70,
                movement=True, irregular=True)
        # Delivered late, from the gateway's outbox: received two hours ago.
        reading("k4", karen, dev_a, "gw-0001", local(now, CPH, 1, 21), 165, 92, 72,
                received=now - timedelta(hours=2))
        reading("k5", karen, dev_a, "gw-0001", local(now, CPH, 1, 22), 400, 20, 300, implausible=True,
                received=now - timedelta(hours=1))
        reading("j1", jens, dev_b, "gw-0002", local(now, CPH, 8, 9), 130, 80, 60)
        reading("j2", jens, dev_b, "gw-0002", local(now, CPH, 4, 10), 120, 78, 58)
        # Anna lives in Reykjavik: 15:00 there is no session, though it is 16-17 h in Denmark.
        reading("a1", anna, dev_d, "gw-0001", local(now, REYKJAVIK, 3, 4, 30), 118, 76, 60)
        reading("a2", anna, dev_d, "gw-0001", local(now, REYKJAVIK, 3, 15), 122, 79, 62)
        reading("u1", None, dev_c, "gw-0003", now - timedelta(minutes=10), 121, 80, 61,
                received=now - timedelta(minutes=9))

        def alert(who: int, metric: str, level: str, state: str, opened: datetime, value: float | None,
                  alert_type: str = "threshold") -> int:
            acknowledged = opened + timedelta(hours=1) if state != "open" else None
            resolved = opened + timedelta(hours=2) if state == "resolved" else None
            row = conn.execute(
                "INSERT INTO alerts (citizen_id, alert_type, metric, level, state, value, message, opened_at, "
                "acknowledged_at, acknowledged_by, resolved_at, resolved_by) "
                "VALUES (%s, %s, %s, %s, %s, %s, 'msg', %s, %s, %s, %s, %s) RETURNING id",
                (who, alert_type, metric, level, state, value, opened, acknowledged,
                 "nurse" if acknowledged else None, resolved, "nurse" if resolved else None)).fetchone()
            assert row is not None
            return int(row[0])

        s.times["alert_k_sys"] = s.times["k4"] + timedelta(minutes=1)
        s.times["alert_k_dia"] = s.times["k3"] + timedelta(minutes=1)
        s.times["alert_j_missing"] = now - timedelta(hours=5)
        s.alerts["k_sys"] = alert(karen, "systolic", "alert", "open", s.times["alert_k_sys"], 165)
        s.alerts["k_dia"] = alert(karen, "diastolic", "warning", "acknowledged", s.times["alert_k_dia"], 95)
        alert(karen, "systolic", "warning", "resolved", now - timedelta(days=20), 140)
        s.alerts["j_missing"] = alert(jens, "blood_pressure", "warning", "open", s.times["alert_j_missing"], None,
                                      "missing_measurements")

        s.times["gap"] = now - timedelta(hours=2)
        conn.execute(
            # gw-0002 missed batches 10-12, then batch 11 arrived late (another worker): 2 still missing.
            "INSERT INTO batch_gaps (gateway_id, detected_at, expected_seq, received_seq, missing, filled) "
            "VALUES ('gw-0002', %s, 10, 13, 3, 1), ('gw-0001', %s, 5, 6, 1, 0)",
            (s.times["gap"], now - timedelta(days=40)))

        s.times["dl1"] = now - timedelta(minutes=30)
        s.times["dl2"] = now - timedelta(minutes=20)
        s.times["dl3"] = now - timedelta(minutes=10)
        conn.execute(
            "INSERT INTO dead_letters (received_at, topic, gateway_id, reason, detail, payload) VALUES "
            "(%s, 'homevitals/v1/gateways/gw-0001/readings', 'gw-0001', 'invalid_json', 'not JSON', '\\x7b7b'), "
            "(%s, 'homevitals/v1/gateways/gw-0001/readings', 'gw-0001', 'invalid_json', 'not JSON', '\\x7b'), "
            "(%s, 'homevitals/v1/gateways/gw-0002/readings', 'gw-0002', 'schema_violation', 'bad kind', "
            "'\\x7b7d'), "
            "(%s, 'homevitals/v1/gateways/gw-0002/readings', 'gw-0002', 'invalid_json', 'old', '\\x00')",
            (s.times["dl1"], s.times["dl2"], s.times["dl3"], now - timedelta(days=3)))
    return s
