"""Write strategies compared on the same batches, database only (``homevitals bench writer``).

:class:`ExecutemanyStrategy` is the baseline: the same :class:`~ingest.writer.BatchWriter`
(ledger, attribution, gateways, gaps, alerts, conflicts), with the readings and devices
written by pipelined ``executemany`` of one statement per row instead of a COPY into staging.
Its device update is production's own (:data:`~ingest.write_strategy.READING_DEVICE_UPDATE`),
so the newer battery wins in both.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql

from benchmarks.ingest.ceiling import prepared_envelopes
from benchmarks.ingest.fleet import Fleet, seed
from benchmarks.procstat import cpu_seconds
from benchmarks.services import Services
from database.migrate import downgrade
from ingest import binding
from ingest.envelope import Envelope
from ingest.validation import PreparedReading
from ingest.write_strategy import (
    READING_DEVICE_UPDATE,
    STORED_RETURNING,
    StagingCopyStrategy,
    StoredRow,
    WriteStrategy,
    stored_row,
)
from ingest.writer import BatchWriter

_DEVICE_VALUES = sql.SQL("""
INSERT INTO devices AS d (address, kind, serial, manufacturer, model, firmware, battery_level, battery_at,
                          first_seen, last_seen, last_gateway_id)
VALUES (%s, %s, %s, %s, %s, %s, %s, CASE WHEN %s::smallint IS NOT NULL THEN least(%s::timestamptz, now()) END,
        least(%s::timestamptz, now()), least(%s::timestamptz, now()), %s)
""")
_INSERT_NEW_DEVICE = _DEVICE_VALUES + sql.SQL("ON CONFLICT (address) DO NOTHING")
# Only the device's own gateway updates it, as in production (ingest/binding.py).
_OWN_GATEWAY = sql.SQL(" WHERE {}").format(binding.UPSERT_SPEAKS_FOR_DEVICE)
_UPSERT_DEVICE = _DEVICE_VALUES + READING_DEVICE_UPDATE + _OWN_GATEWAY
_BIND_DEVICE = binding.bind_devices(binding.BoundBy.READING)

_INSERT_READING = sql.SQL("""
WITH fresh AS (
  INSERT INTO reading_ids (reading_id, measured_at) VALUES (%(reading_id)s, %(measured_at)s)
  ON CONFLICT (reading_id) DO NOTHING RETURNING reading_id
)
INSERT INTO readings (measured_at, reading_id, kind, device_id, user_slot, citizen_id, assignment_id,
                      gateway_id, batch_seq, device_time, gateway_time, time_source, unit, original_unit,
                      systolic, diastolic, mean_arterial_pressure, pulse_rate, value, "values", status,
                      invalid_values, implausible,
                      implausible_reasons, clock_in_future, raw_uuid, raw, quarantine_reason)
SELECT %(measured_at)s, f.reading_id, %(kind)s, dev.id, %(user_slot)s, a.citizen_id, a.id, %(gateway_id)s,
       %(batch_seq)s, %(device_time)s, %(gateway_time)s, %(time_source)s, %(unit)s, %(original_unit)s,
       %(systolic)s, %(diastolic)s, %(mean_arterial_pressure)s, %(pulse_rate)s, %(value)s,
       %(values_json)s::jsonb, %(status_json)s::jsonb, coalesce(%(invalid_values)s, '{{}}'::text[]),
       %(implausible)s,
       coalesce(%(implausible_reasons)s, '{{}}'::text[]), %(clock_in_future)s,
       %(raw_uuid)s, %(raw)s, q.reason
FROM fresh f
JOIN devices dev ON dev.address = %(address)s
{quarantine}
LEFT JOIN device_assignments a
  ON a.device_id = dev.id AND a.user_slot = coalesce(%(user_slot)s::smallint, 1)
 AND a.valid @> %(measured_at)s::timestamptz AND q.reason IS NULL
RETURNING {returning}
""").format(returning=STORED_RETURNING,
            quarantine=binding.quarantine_lateral(sql.SQL("%(gateway_id)s::text"), "dev"))

_RECORD_CONFLICT = """
INSERT INTO reading_conflicts (reading_id, gateway_id, batch_seq, stored, arrived)
SELECT l.reading_id, %(gateway_id)s, %(batch_seq)s,
       jsonb_build_object('measured_at', r.measured_at, 'values', r."values", 'status', r.status,
                          'raw', encode(r.raw, 'hex'), 'raw_uuid', r.raw_uuid),
       jsonb_build_object('measured_at', %(measured_at)s::timestamptz, 'values', %(values_json)s::jsonb,
                          'status', %(status_json)s::jsonb, 'raw', encode(%(raw)s::bytea, 'hex'),
                          'raw_uuid', %(raw_uuid)s::text)
FROM reading_ids l
JOIN readings r ON r.measured_at = l.measured_at AND r.reading_id = l.reading_id
WHERE l.reading_id = %(reading_id)s
  AND (r."values" IS DISTINCT FROM %(values_json)s::jsonb
       OR r.status IS DISTINCT FROM %(status_json)s::jsonb
       OR r.raw IS DISTINCT FROM %(raw)s::bytea
       OR r.measured_at IS DISTINCT FROM %(measured_at)s::timestamptz)
"""


def _latest_per_device(rows: Sequence[PreparedReading]) -> list[PreparedReading]:
    latest: dict[str, PreparedReading] = {}
    for r in rows:
        if r.address not in latest or r.gateway_time > latest[r.address].gateway_time:
            latest[r.address] = r
    return [latest[address] for address in sorted(latest)]


def _device_params(r: PreparedReading) -> tuple[Any, ...]:
    return (
        r.address,
        r.kind,
        r.serial,
        r.manufacturer,
        r.model,
        r.firmware,
        r.battery_level,
        r.battery_level,
        r.gateway_time,
        r.gateway_time,
        r.gateway_time,
        r.gateway_id,
    )


class ExecutemanyStrategy:
    """One statement per reading (and per device), pipelined by ``executemany``."""

    def prepare(self, conn: psycopg.Connection[Any]) -> None:
        pass  # nothing to create: every statement carries its own values

    def insert_readings(
        self, conn: psycopg.Connection[Any], rows: Sequence[PreparedReading]
    ) -> list[StoredRow]:
        with conn.cursor(row_factory=stored_row) as cur:
            latest = _latest_per_device(rows)
            cur.executemany(_INSERT_NEW_DEVICE, [_device_params(r) for r in latest])
            cur.executemany(_BIND_DEVICE, [(r.gateway_id, [r.address]) for r in latest])
            cur.executemany(
                _INSERT_READING,
                [r._asdict() for r in sorted(rows, key=lambda r: r.reading_id)],
                returning=True,
            )
            stored: list[StoredRow] = []
            while True:
                stored += cur.fetchall()
                if not cur.nextset():
                    break
            return stored

    def record_conflicts(
        self, conn: psycopg.Connection[Any], rows: Sequence[PreparedReading], repeated: Sequence[UUID]
    ) -> int:
        wanted = set(repeated)
        with conn.cursor() as cur:
            cur.executemany(_RECORD_CONFLICT, [r._asdict() for r in rows if r.reading_id in wanted])
            return max(0, cur.rowcount)

    def touch_devices(self, conn: psycopg.Connection[Any], rows: Sequence[PreparedReading]) -> None:
        with conn.cursor() as cur:
            cur.executemany(_UPSERT_DEVICE, [_device_params(r) for r in _latest_per_device(rows)])


@dataclass
class WriterResult:
    method: str
    readings: int
    seconds: float
    postgres_cpu_s: float = 0.0  # the connection's backend process
    python_cpu_s: float = 0.0

    @property
    def rate(self) -> float:
        return self.readings / self.seconds


STRATEGIES: dict[str, type[WriteStrategy]] = {
    "copy+ledger (ingest)": StagingCopyStrategy,
    "executemany+ledger": ExecutemanyStrategy,
}


def batches_of(envelopes: list[Envelope], batch_readings: int) -> list[list[Envelope]]:
    """Consecutive envelopes, about ``batch_readings`` readings per transaction."""
    batches: list[list[Envelope]] = [[]]
    weight = 0
    for envelope in envelopes:
        if weight >= batch_readings:
            batches.append([])
            weight = 0
        batches[-1].append(envelope)
        weight += envelope.reading_count
    return batches


# Before migration 0010: the production strategy on the schema of 0009, where the readings'
# three foreign keys are checked per row (the baseline of 0010's per-batch guarantee).
WITHOUT_READING_FKS = "copy+ledger, readings' 3 foreign keys per row (schema 0009, before)"
# The same statements with 0010's per-row trigger left on (what any other writer pays).
PARENTS_PER_ROW = "copy+ledger, parents checked per row by 0010's trigger"


def compare_writers(
    svc: Services,
    fleet: Fleet,
    *,
    readings: int,
    per_message: int,
    batch_readings: int = 500,
    without_fks: bool = False,
) -> list[WriterResult]:
    envelopes = prepared_envelopes(fleet, readings, per_message)
    batches = batches_of(envelopes, batch_readings)
    expected = sum(e.reading_count for e in envelopes)
    results = []
    contenders = dict(STRATEGIES)
    if without_fks:
        contenders[WITHOUT_READING_FKS] = StagingCopyStrategy
        contenders[PARENTS_PER_ROW] = StagingCopyStrategy
    for method, strategy in contenders.items():
        name = "bench_writer"
        dsn = svc.fresh_database(name)
        seed(dsn, fleet)
        try:
            with psycopg.connect(dsn, autocommit=True) as conn:
                if method == WITHOUT_READING_FKS:
                    downgrade(dsn, "0009")
                writer = BatchWriter(conn, strategy=strategy())
                if method == PARENTS_PER_ROW:
                    conn.execute("RESET homevitals.reading_parents")
                backend = conn.info.backend_pid
                backend_cpu, python_cpu = cpu_seconds(backend), time.process_time()
                started = time.perf_counter()
                stored = sum(writer.write(batch).stored for batch in batches)
                seconds = time.perf_counter() - started
                backend_cpu = cpu_seconds(backend) - backend_cpu
                python_cpu = time.process_time() - python_cpu
            if stored != expected:
                raise RuntimeError(f"{method}: stored {stored}, expected {expected}")
            results.append(WriterResult(method, stored, seconds, backend_cpu, python_cpu))
        finally:
            svc.drop_database(name)
    return results
