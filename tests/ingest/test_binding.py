"""Device binding and quarantine in the writer's transaction, on a real TimescaleDB.

Messages go through the real validation and the real :class:`BatchWriter`, one transaction
per call, exactly as a worker commits them; counts come from the database.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from homevitals.contract import readings_topic, status_topic
from ingest.envelope import Envelope
from ingest.validation import validate_message
from ingest.writer import BatchWriter, WriteResult
from tests.ingest.helpers import batch, encode, reading
from tests.support.factories import insert_assignment, insert_citizen, insert_device

HOME_A, HOSTILE = "gw-home-a", "gw-hostile"
MONITOR = "A4:C1:38:00:AA:01"
NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def writer(db_dsn: str) -> Any:
    conn = psycopg.connect(db_dsn, autocommit=True)
    yield BatchWriter(conn)
    conn.close()


def write(writer: BatchWriter, gateway_id: str, readings: list[dict[str, Any]], seq: int = 1) -> WriteResult:
    topic = readings_topic(gateway_id)
    payload = encode(batch(gateway_id, readings, batch_seq=seq))
    outcome = validate_message(topic, payload, now=datetime.now(UTC), future_tolerance=timedelta(minutes=5),
                               max_payload_bytes=1 << 20)
    return writer.write([Envelope(topic, payload, outcome)])


def status(writer: BatchWriter, gateway_id: str, devices: list[dict[str, Any]]) -> WriteResult:
    topic = status_topic(gateway_id)
    payload = json.dumps({"state": "online", "sent_at": NOW.isoformat().replace("+00:00", "Z"),
                          "devices": devices}).encode()
    outcome = validate_message(topic, payload, now=datetime.now(UTC), future_tolerance=timedelta(minutes=5),
                               max_payload_bytes=1 << 20)
    return writer.write([Envelope(topic, payload, outcome)])


def rows(dsn: str, query: str, *args: object) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(query, args).fetchall()


def citizen_with_monitor(dsn: str) -> int:
    """A citizen whose monitor (user slot 1) is assigned from a week ago; the monitor is new."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        citizen = insert_citizen(conn)
        insert_assignment(conn, insert_device(conn, MONITOR), citizen, start=datetime.now(UTC) - timedelta(days=7))
    return citizen


def test_the_first_gateway_binds_the_device_and_a_hostile_one_is_quarantined(writer, db_dsn):
    citizen = citizen_with_monitor(db_dsn)
    own = write(writer, HOME_A, [reading(address=MONITOR, systolic=200, diastolic=95, battery=80)])
    assert (own.stored, own.unassigned, sum(own.quarantined.values())) == (1, 0, 0)
    assert rows(db_dsn, "SELECT bound_gateway_id, bound_by FROM devices WHERE address = %s", MONITOR) == [
        (HOME_A, "ingest:reading")
    ]
    alerts_before = rows(db_dsn, "SELECT count(*) FROM alerts WHERE citizen_id = %s", citizen)[0][0]
    assert alerts_before >= 1  # 200/95 at home opens an alert: the control for what follows

    hostile = [reading(address=MONITOR, systolic=240, diastolic=130, battery=5) for _ in range(3)]
    result = write(writer, HOSTILE, hostile)

    assert result.stored == 3 and dict(result.quarantined) == {"device_bound_to_other_gateway": 3}
    assert result.alerts_opened == {} and result.unassigned == 0
    stored = rows(
        db_dsn,
        "SELECT citizen_id, assignment_id, quarantine_reason FROM readings WHERE gateway_id = %s", HOSTILE,
    )
    assert stored == [(None, None, "device_bound_to_other_gateway")] * 3
    assert rows(db_dsn, "SELECT count(*) FROM alerts WHERE citizen_id = %s", citizen)[0][0] == alerts_before
    assert rows(db_dsn, "SELECT count(*) FROM readings WHERE citizen_id = %s", citizen) == [(1,)]
    # What the hostile gateway said about the monitor is not believed either.
    assert rows(
        db_dsn, "SELECT bound_gateway_id, last_gateway_id, battery_level FROM devices WHERE address = %s", MONITOR
    ) == [(HOME_A, HOME_A, 80)]
    # A new assignment covering them does not pick quarantined readings up.
    assigned = rows(db_dsn, "SELECT assign_unassigned_readings(id) FROM device_assignments")
    assert assigned == [(0,)]


def test_a_status_binds_what_the_gateway_paired_and_cannot_take_a_bound_device(writer, db_dsn):
    paired = "A4:C1:38:00:AA:02"
    status(writer, HOME_A, [{"address": MONITOR, "battery": 70}])
    status(writer, HOSTILE, [{"address": MONITOR, "battery": 3}, {"address": paired, "battery": 90}])
    assert rows(db_dsn, "SELECT address, bound_gateway_id, bound_by, battery_level, last_gateway_id "
                        "FROM devices ORDER BY address") == [
        (MONITOR, HOME_A, "ingest:status", 70, HOME_A),
        (paired, HOSTILE, "ingest:status", 90, HOSTILE),
    ]


def test_what_a_revoked_gateway_still_sends_is_quarantined(writer, db_dsn):
    citizen = citizen_with_monitor(db_dsn)
    write(writer, HOME_A, [reading(address=MONITOR)])
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        conn.execute("UPDATE gateways SET revoked_at = now() WHERE gateway_id = %s", (HOME_A,))
    in_flight = [reading(address=MONITOR, systolic=210) for _ in range(2)]
    new_device = [reading(address="A4:C1:38:00:AA:03")]

    result = write(writer, HOME_A, in_flight + new_device, seq=2)

    assert dict(result.quarantined) == {"gateway_revoked": 3} and result.alerts_opened == {}
    assert rows(db_dsn, "SELECT count(*) FROM readings WHERE citizen_id = %s", citizen) == [(1,)]
    # A revoked gateway binds nothing.
    assert rows(db_dsn, "SELECT bound_gateway_id FROM devices WHERE address = 'A4:C1:38:00:AA:03'") == [(None,)]
