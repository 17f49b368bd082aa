"""Every write strategy gives the writer the same answers: the benchmark's executemany
baseline and production's staging COPY, on the same batches against a real TimescaleDB."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from benchmarks.ingest.writers import ExecutemanyStrategy
from homevitals.contract import readings_topic, utc_text
from ingest.envelope import Envelope
from ingest.validation import validate_message
from ingest.write_strategy import StagingCopyStrategy, WriteStrategy
from ingest.writer import BatchWriter
from tests.ingest.helpers import batch, encode, reading
from tests.support.factories import insert_assignment, insert_citizen, insert_device

NOW = datetime.now(UTC).replace(microsecond=0)
ASSIGNED = "02:5E:00:00:00:01"
UNKNOWN = "02:5E:00:00:00:02"
GATEWAY = "gw-strategy"


def _envelope(message: dict) -> Envelope:
    topic, payload = readings_topic(message["gateway_id"]), encode(message)
    outcome = validate_message(
        topic, payload, now=datetime.now(UTC), future_tolerance=timedelta(minutes=5), max_payload_bytes=1 << 20
    )
    return Envelope(topic, payload, outcome)


def _seed(conn: psycopg.Connection) -> int:
    citizen = insert_citizen(conn, "Karen", "Strategy")
    insert_assignment(conn, insert_device(conn, ASSIGNED), citizen, start=NOW - timedelta(days=30))
    return citizen


@pytest.mark.parametrize("strategy", [StagingCopyStrategy, ExecutemanyStrategy], ids=["staging-copy", "executemany"])
def test_each_strategy_stores_attributes_dedupes_and_keeps_the_newer_battery(db_dsn, strategy: type[WriteStrategy]):
    high = reading(address=ASSIGNED, systolic=171, diastolic=80, battery=70, measured_at=NOW - timedelta(hours=2))
    stray = reading(address=UNKNOWN, systolic=120, diastolic=80, battery=50, measured_at=NOW - timedelta(hours=2))
    # Read an hour before `high` reached the gateway, but delivered after it: its battery is older.
    older = reading(address=ASSIGNED, systolic=125, diastolic=80, battery=40, measured_at=NOW - timedelta(hours=3))
    older["gateway_time"] = utc_text(datetime.now(UTC) - timedelta(hours=1))
    changed = dict(stray, values=dict(stray["values"], systolic=181))  # same id, other content

    with psycopg.connect(db_dsn, autocommit=True) as conn:
        citizen = _seed(conn)
        writer = BatchWriter(conn, strategy=strategy())
        first = writer.write([_envelope(batch(GATEWAY, [high, stray], batch_seq=1))])
        second = writer.write([_envelope(batch(GATEWAY, [changed, older], batch_seq=2))])
        rows = conn.execute("SELECT reading_id::text, citizen_id, systolic FROM readings ORDER BY systolic").fetchall()
        devices = dict(conn.execute("SELECT address, battery_level FROM devices").fetchall())
        conflicts = conn.execute("SELECT reading_id::text, (arrived->'values'->>'systolic')::float FROM reading_conflicts").fetchall()
        alerts = conn.execute("SELECT citizen_id, metric, level, reading_id::text FROM alerts").fetchall()
        ledger = conn.execute("SELECT count(*) FROM reading_ids").fetchone()[0]

    assert (first.readings, first.stored, first.duplicates, first.unassigned) == (2, 2, 0, 1)
    assert (second.readings, second.stored, second.duplicates, second.conflicts) == (2, 1, 1, 1)
    assert rows == [
        (stray["reading_id"], None, 120),
        (older["reading_id"], citizen, 125),
        (high["reading_id"], citizen, 171),
    ]
    assert ledger == 3
    assert conflicts == [(stray["reading_id"], 181.0)]
    assert devices == {ASSIGNED: 70, UNKNOWN: 50}  # the battery read later wins, whatever arrives last
    assert alerts == [(citizen, "systolic", "alert", high["reading_id"])]


@pytest.mark.parametrize("strategy", [StagingCopyStrategy, ExecutemanyStrategy], ids=["staging-copy", "executemany"])
def test_each_strategy_quarantines_a_reading_through_another_gateway(db_dsn, strategy: type[WriteStrategy]):
    own = reading(address=ASSIGNED, systolic=120, diastolic=80, battery=70, measured_at=NOW - timedelta(hours=2))
    hostile = reading(address=ASSIGNED, systolic=230, diastolic=120, battery=3, measured_at=NOW - timedelta(hours=1))
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        citizen = _seed(conn)
        writer = BatchWriter(conn, strategy=strategy())
        writer.write([_envelope(batch(GATEWAY, [own], batch_seq=1))])  # binds the device to GATEWAY
        result = writer.write([_envelope(batch("gw-hostile", [hostile], batch_seq=1))])
        rows = conn.execute("SELECT gateway_id, citizen_id, quarantine_reason FROM readings ORDER BY gateway_id").fetchall()
        device = conn.execute("SELECT bound_gateway_id, last_gateway_id, battery_level FROM devices").fetchall()
        alerts = conn.execute("SELECT count(*) FROM alerts").fetchone()[0]
    assert dict(result.quarantined) == {"device_bound_to_other_gateway": 1} and result.alerts_opened == {}
    assert rows == [("gw-hostile", None, "device_bound_to_other_gateway"), (GATEWAY, citizen, None)]
    # What the hostile gateway says about the device (battery 3, itself as last gateway) is not believed.
    assert [(bound, last != "gw-hostile", battery) for bound, last, battery in device] == [(GATEWAY, True, 70)]
    assert alerts == 0
