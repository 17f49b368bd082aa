"""A care team's day for the web tests: a red citizen, a calm one, one who never measured,
another team's citizen, and a spare device with readings nobody was assigned."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "api"))

from api_support import insert_reading

from tests.support.factories import (
    NORD,
    SYD,
    insert_assignment,
    insert_citizen,
    insert_device,
    insert_gateway,
)

COPENHAGEN = ZoneInfo("Europe/Copenhagen")


@dataclass
class WebSeed:
    anna: int  # red: last readings far above her thresholds, an open alert
    bo: int  # calm
    dora: int  # never measured
    carl: int  # team-syd
    alert_anna: int
    spare_device: int
    unassigned: int


def seed_day(dsn: str) -> WebSeed:
    now = datetime.now(UTC).replace(microsecond=0)
    with psycopg.connect(dsn, autocommit=True) as conn:
        anna = insert_citizen(conn, "Anna", "Andersen", NORD, cpr="0101501234")
        bo = insert_citizen(conn, "Bo", "Berg", NORD)
        dora = insert_citizen(conn, "Dora", "Dahl", NORD)
        carl = insert_citizen(conn, "Carl", "Christensen", SYD)
        insert_gateway(conn, "gw-0001", state="online", last_seen=now, version="0.1.0", outbox_depth=0)
        insert_gateway(conn, "gw-0002", state="offline", last_seen=now - timedelta(days=2), version="0.1.0",
                       outbox_depth=12)
        device_anna = insert_device(conn, "A4:C1:38:00:00:01", "gw-0001", battery=15)
        device_bo = insert_device(conn, "A4:C1:38:00:00:02", "gw-0002", battery=80)
        device_carl = insert_device(conn, "A4:C1:38:00:00:03", "gw-0002", battery=80)
        spare = insert_device(conn, "A4:C1:38:00:00:09", "gw-0001", battery=90)
        start = now - timedelta(days=30)
        a_anna = insert_assignment(conn, device_anna, anna, start=start)
        a_bo = insert_assignment(conn, device_bo, bo, start=start)
        a_carl = insert_assignment(conn, device_carl, carl, start=start)
        today = now.astimezone(COPENHAGEN).date()
        for day in range(6, 0, -1):
            at = now - timedelta(days=day)
            # Anna measures at 08:00 her time: inside the ESH morning session whenever the
            # tests run, so her home-BP report always has a mean to show.
            morning = datetime.combine(today - timedelta(days=day), time(8), tzinfo=COPENHAGEN)
            insert_reading(conn, device_id=device_bo, citizen_id=bo, assignment_id=a_bo, measured_at=at,
                           systolic=124, diastolic=78)
            insert_reading(conn, device_id=device_anna, citizen_id=anna, assignment_id=a_anna,
                           measured_at=morning.astimezone(UTC), systolic=150 + day, diastolic=92, pulse=71)
            insert_reading(conn, device_id=device_carl, citizen_id=carl, assignment_id=a_carl,
                           measured_at=at, systolic=130, diastolic=80)
        insert_reading(conn, device_id=device_anna, citizen_id=anna, assignment_id=a_anna,
                       measured_at=now - timedelta(hours=2), systolic=172, diastolic=104, pulse=88)
        unassigned = 3
        for hour in range(unassigned):
            insert_reading(conn, device_id=spare, measured_at=now - timedelta(days=1, hours=hour),
                           systolic=118, diastolic=76)
        row = conn.execute(
            "INSERT INTO alerts (citizen_id, metric, level, state, value, message, measured_at) "
            "VALUES (%s, 'systolic', 'alert', 'open', 172, 'systolisk 172 over 160', now()) RETURNING id",
            (anna,),
        ).fetchone()
        assert row
    return WebSeed(anna, bo, dora, carl, int(row[0]), spare, unassigned)


def dev_users(seeded: WebSeed) -> str:
    return json.dumps(
        [
            {"sub": "nurse.nord", "role": "caregiver", "team": NORD, "name": "Sygeplejerske Nord"},
            {"sub": "nurse.syd", "role": "caregiver", "team": SYD, "name": "Sygeplejerske Syd"},
            {"sub": "anna.andersen", "role": "citizen", "citizen": seeded.anna, "name": "Anna Andersen"},
            {"sub": "dr.hansen", "role": "clinician", "name": "Læge Hansen"},
            {"sub": "admin.it", "role": "admin", "name": "IT-administrator"},
        ]
    )
