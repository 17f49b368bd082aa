"""The ceiling: the same rows, prepared beforehand, COPYed straight into ``readings``."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import psycopg

from benchmarks.ingest.fleet import PLACEHOLDER, Fleet, generate_messages, seed, utc_stamp
from benchmarks.ingest.run import RunResult, db_counts
from benchmarks.services import Services
from ingest.envelope import Envelope
from ingest.validation import ValidBatch, validate_message


def prepared_envelopes(fleet: Fleet, readings: int, per_message: int) -> list[Envelope]:
    now = datetime.now(UTC)
    envelopes = []
    for topic, template in generate_messages(
        fleet, range(fleet.gateways), readings // fleet.gateways, per_message, seed=per_message
    ):
        payload = template.replace(PLACEHOLDER, utc_stamp())
        outcome = validate_message(
            topic, payload, now=now, future_tolerance=timedelta(minutes=5), max_payload_bytes=1 << 20
        )
        envelopes.append(Envelope(topic, payload, outcome))
    return envelopes


_COPY_READINGS = """
COPY readings (measured_at, reading_id, kind, device_id, user_slot, citizen_id, gateway_id, batch_seq,
               device_time, gateway_time, time_source, unit, systolic, diastolic, mean_arterial_pressure,
               pulse_rate, "values",
               status, raw_uuid, raw) FROM STDIN
"""


def run_copy_ceiling(svc: Services, fleet: Fleet, readings: int, per_message: int) -> RunResult:
    name = f"bench_copy_{per_message}"
    dsn = svc.fresh_database(name)
    seed(dsn, fleet)
    envelopes = prepared_envelopes(fleet, readings, per_message)
    rows = [r for e in envelopes if isinstance(e.outcome, ValidBatch) for r in e.outcome.readings]
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            ids = {
                address: (device_id, citizen_id)
                for address, device_id, citizen_id in conn.execute(
                    "SELECT d.address, d.id, a.citizen_id FROM devices d "
                    "JOIN device_assignments a ON a.device_id = d.id"
                )
            }
            started = time.perf_counter()
            with conn.transaction(), conn.cursor() as cur, cur.copy(_COPY_READINGS) as copy:
                for r in rows:
                    device_id, citizen_id = ids[r.address]
                    copy.write_row(
                        (
                            r.measured_at,
                            r.reading_id,
                            r.kind,
                            device_id,
                            r.user_slot,
                            citizen_id,
                            r.gateway_id,
                            r.batch_seq,
                            r.device_time,
                            r.gateway_time,
                            r.time_source,
                            r.unit,
                            r.systolic,
                            r.diastolic,
                            r.mean_arterial_pressure,
                            r.pulse_rate,
                            r.values_json,
                            r.status_json,
                            r.raw_uuid,
                            r.raw,
                        )
                    )
            seconds = time.perf_counter() - started
        stored, distinct, _ledger, _first, _last = db_counts(dsn)
        return RunResult(
            "copy",
            per_message,
            len(rows),
            stored,
            distinct,
            seconds,
            len(rows) / seconds,
            note="COPY into readings, one transaction, rows prepared beforehand",
        )
    finally:
        svc.drop_database(name)
