"""Ingest's write path on the seeded database: validation, attribution, alerts, summaries.

Contract-v1 messages for the seeded homes' monitors (new readings, timed in the last hour)
are validated by ingest's own validator and written by its own ``BatchWriter``, in
transactions of 500 readings as the worker groups them (``INGEST_BATCH_MAX_READINGS``):
as messages of 20 readings, and as one reading per message. No MQTT here: the broker and
paho's share is measured by ``homevitals bench ingest``; this isolates what the size of
the database does to the write. Every reading is counted in the database afterwards.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

import psycopg
from psycopg import sql

from benchmarks.scale import dataset as ds
from homevitals.contract import readings_topic
from ingest import summaries
from ingest.envelope import Envelope
from ingest.validation import validate_message
from ingest.write_strategy import STORED_RETURNING
from ingest.writer import BatchWriter

TRANSACTION_READINGS: Final = 500
_NAMESPACE: Final = uuid.UUID("0f6f7d8e-3c4b-4a59-8e6f-5d4c3b2a1908")


@dataclass
class IngestRun:
    label: str
    per_message: int
    readings: int
    stored: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.stored / self.seconds if self.seconds else 0.0


def _messages(citizens: int, readings: int, per_message: int, tag: str) -> list[tuple[str, bytes]]:
    now = datetime.now(UTC)
    messages: list[tuple[str, bytes]] = []
    for first in range(0, readings, per_message):
        batch = []
        index = 1 + (first // per_message) % citizens
        for n in range(first, min(first + per_message, readings)):
            at = now - timedelta(minutes=59) + timedelta(milliseconds=n * 7)
            systolic = 110 + n % 60
            batch.append(
                {
                    "reading_id": str(uuid.uuid5(_NAMESPACE, f"{tag}/{n}")),
                    "kind": "blood_pressure",
                    "device": {
                        "address": ds.bp_address(index),
                        "manufacturer": "A&D Medical",
                        "model": "UA-651BLE",
                    },
                    "user_id": 1,
                    "device_time": at.astimezone(ds.ZONE).strftime("%Y-%m-%dT%H:%M:%S"),
                    "gateway_time": now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                    "measured_at": at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                    "time_source": "device",
                    "unit": "mmHg",
                    "values": {
                        "systolic": systolic,
                        "diastolic": 70 + n % 25,
                        "mean_arterial_pressure": 90,
                        "pulse_rate": 60 + n % 30,
                    },
                    "status": json.loads(ds.BP_STATUS),
                    "invalid_values": [],
                    "raw": {"uuid": "2a35", "hex": f"04{systolic:02x}00"},
                }
            )
        gateway = ds.gateway_id(index)
        payload = {
            "schema": "homevitals.readings.v1",
            "gateway_id": gateway,
            "batch_seq": 10_000_000 + first,
            "sent_at": now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "readings": batch,
        }
        messages.append((readings_topic(gateway), json.dumps(payload).encode()))
    return messages


def run(dsn: str, label: str, citizens: int, readings: int, per_message: int) -> IngestRun:
    tag = f"{label}-{per_message}-{uuid.uuid4().hex[:6]}"
    messages = _messages(citizens, readings, per_message, tag)
    per_transaction = max(1, TRANSACTION_READINGS // per_message)
    with psycopg.connect(dsn, autocommit=True) as conn:
        before = conn.execute("SELECT count(*) FROM readings").fetchone()
        summaries.take_over(conn)  # what every batch after a connection's first one sees
        writer = BatchWriter(conn)
        started = time.perf_counter()
        for first in range(0, len(messages), per_transaction):
            envelopes = []
            for topic, payload in messages[first : first + per_transaction]:
                outcome = validate_message(
                    topic,
                    payload,
                    now=datetime.now(UTC),
                    future_tolerance=timedelta(minutes=5),
                    max_payload_bytes=1 << 20,
                )
                envelopes.append(Envelope(topic, payload, outcome))
            writer.write(envelopes)
        seconds = time.perf_counter() - started
        after = conn.execute("SELECT count(*) FROM readings").fetchone()
    stored = int(after[0] if after else 0) - int(before[0] if before else 0)
    return IngestRun(label, per_message, readings, stored, seconds)


# RETURNING the write path's own row (StoredRow), so it can't drift from what summaries take.
_TRIGGER_ROWS = sql.SQL("""
INSERT INTO readings (measured_at, reading_id, kind, device_id, user_slot, citizen_id, assignment_id,
                      gateway_id, gateway_time, time_source, unit, systolic, diastolic, pulse_rate,
                      "values", raw_uuid, raw)
SELECT now() - g * interval '1 second', gen_random_uuid(), 'blood_pressure', a.device_id, 1,
       a.citizen_id, a.id, 'gw-trigger-cost', now(), 'device', 'mmHg', 110 + g %% 60,
       70 + g %% 25, 60 + g %% 30, '{{}}', '2a35', '\\x04'
FROM generate_series(1, %(rows)s) AS g
JOIN device_assignments a ON a.id = (SELECT min(id) FROM device_assignments) + g %% 500
RETURNING {returning}
""").format(returning=STORED_RETURNING)


def summary_cost(dsn: str, rows: int = 5000) -> tuple[float, float, float]:
    """Microseconds per reading: INSERT alone, INSERT with the row trigger, INSERT then
    ingest's batch statement per 500 rows. Each in a rolled-back transaction."""
    results = []
    with psycopg.connect(dsn) as conn:
        for mode in ("none", "trigger", "batched"):
            conn.execute(
                "SELECT set_config('homevitals.summaries', %s, false)",
                ("trigger" if mode == "trigger" else "batched",),
            )
            started = time.perf_counter()
            stored = conn.execute(_TRIGGER_ROWS, {"rows": rows}).fetchall()
            if mode == "batched":
                for first in range(0, len(stored), TRANSACTION_READINGS):
                    summaries.record(conn, stored[first : first + TRANSACTION_READINGS])
            results.append((time.perf_counter() - started) / rows * 1e6)
            conn.rollback()
    return results[0], results[1], results[2]
