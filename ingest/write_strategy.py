"""How a batch's readings reach the database, inside :class:`~ingest.writer.BatchWriter`'s
transaction: the :class:`WriteStrategy` protocol and the production :class:`StagingCopyStrategy`.

The writer owns the order of the steps and everything around the readings (gateways, gaps,
alerts, statuses, dead letters); a strategy owns only the statements that put the rows in.
Every strategy must give the same answers: the same ledger (idempotency), the same attribution,
the same device rules (:data:`READING_DEVICE_UPDATE`, newer battery wins). The benchmarks
compare other strategies with this one on the same batches (benchmarks/ingest/).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final, NamedTuple, Protocol
from uuid import UUID

import psycopg
from psycopg import sql
from psycopg.rows import args_row

from ingest import binding
from ingest.validation import PreparedReading


class StoredRow(NamedTuple):
    """A reading the batch stored (new to the ledger), as the alert rules and metrics need it."""

    reading_id: UUID
    citizen_id: int | None
    kind: str
    measured_at: datetime
    gateway_time: datetime
    implausible: bool
    clock_in_future: bool
    systolic: float | None
    diastolic: float | None
    pulse_rate: float | None
    value: float | None
    # Not None: stored, never attributed nor alerted (ingest/binding.py). Last, with a default,
    # so rows made without it (the scale bench's seed) still read as attributed readings.
    quarantine_reason: str | None = None


# The RETURNING list of every strategy's readings insert, in StoredRow's order.
STORED_RETURNING: Final = sql.SQL(", ").join(sql.Identifier(name) for name in StoredRow._fields)
stored_row = args_row(StoredRow)


class WriteStrategy(Protocol):
    """The statements that put one batch's readings in, run inside the writer's transaction."""

    def prepare(self, conn: psycopg.Connection[Any]) -> None:
        """Once per connection, before the first batch (outside any transaction)."""

    def insert_readings(
        self, conn: psycopg.Connection[Any], rows: Sequence[PreparedReading]
    ) -> list[StoredRow]:
        """Create the devices seen for the first time, then insert the readings whose id the
        ``reading_ids`` ledger did not know, attributed; return those (the others are duplicates)."""

    def record_conflicts(
        self, conn: psycopg.Connection[Any], rows: Sequence[PreparedReading], repeated: Sequence[UUID]
    ) -> int:
        """Keep in ``reading_conflicts`` each repeated id whose content differs from the stored
        row (docs/contract.md "Conflicting re-sends"); return how many."""

    def touch_devices(self, conn: psycopg.Connection[Any], rows: Sequence[PreparedReading]) -> None:
        """Last seen, battery, model, serial, firmware of the batch's devices."""


STAGING_TABLE: Final = "ingest_staging"

# Column types of the staging table, in PreparedReading's field order.
_STAGING_TYPES: Final[dict[str, str]] = {
    "reading_id": "uuid",
    "measured_at": "timestamptz",
    "kind": "text",
    "address": "text",
    "user_slot": "smallint",
    "gateway_id": "text",
    "batch_seq": "bigint",
    "device_time": "timestamp",
    "gateway_time": "timestamptz",
    "time_source": "text",
    "unit": "text",
    "original_unit": "text",
    "systolic": "real",
    "diastolic": "real",
    "mean_arterial_pressure": "real",
    "pulse_rate": "real",
    "value": "double precision",
    "values_json": "text",  # cast to jsonb on the way into readings
    "status_json": "text",
    "invalid_values": "text[]",
    "implausible": "boolean",
    "implausible_reasons": "text[]",
    "clock_in_future": "boolean",
    "raw_uuid": "text",
    "raw": "bytea",
    "serial": "text",
    "manufacturer": "text",
    "model": "text",
    "firmware": "text",
    "battery_level": "smallint",
}
if tuple(_STAGING_TYPES) != PreparedReading._fields:  # pragma: no cover - a layout slip fails at import
    raise RuntimeError("staging columns and PreparedReading fields differ")

# ON COMMIT DELETE ROWS: every transaction starts with an empty staging table, and a rolled
# back batch leaves nothing behind.
_CREATE_STAGING = sql.SQL("CREATE TEMP TABLE IF NOT EXISTS {} ({}) ON COMMIT DELETE ROWS").format(
    sql.Identifier(STAGING_TABLE),
    sql.SQL(", ").join(
        sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(kind)) for name, kind in _STAGING_TYPES.items()
    ),
)
# Binary COPY: about twice as fast as text here (docs/benchmarks.md).
_STAGING_TYPE_NAMES: Final = list(_STAGING_TYPES.values())
_COPY_STAGING = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
    sql.Identifier(STAGING_TABLE), sql.SQL(", ").join(sql.Identifier(name) for name in _STAGING_TYPES)
)

# A battery level replaces the stored one only when it was read later (status and readings
# arrive out of order across workers). Shared by every device upsert (readings and status reports).
NEWER_BATTERY_WINS = sql.SQL("""battery_level = CASE WHEN excluded.battery_level IS NOT NULL
                        AND (d.battery_at IS NULL OR excluded.battery_at >= d.battery_at)
                       THEN excluded.battery_level ELSE d.battery_level END,
  battery_at = CASE WHEN excluded.battery_level IS NOT NULL
                     AND (d.battery_at IS NULL OR excluded.battery_at >= d.battery_at)
                    THEN excluded.battery_at ELSE d.battery_at END""")

# How a reading updates its device row (``d``) from the newest reading of the batch
# (``excluded``): every strategy's device upsert ends with it.
READING_DEVICE_UPDATE = sql.SQL("""ON CONFLICT (address) DO UPDATE SET
  kind = coalesce(d.kind, excluded.kind),
  serial = coalesce(excluded.serial, d.serial),
  manufacturer = coalesce(excluded.manufacturer, d.manufacturer),
  model = coalesce(excluded.model, d.model),
  firmware = coalesce(excluded.firmware, d.firmware),
  {newer_battery},
  first_seen = least(d.first_seen, excluded.first_seen),
  last_seen = greatest(d.last_seen, excluded.last_seen),
  last_gateway_id = CASE WHEN excluded.last_seen >= d.last_seen
                         THEN excluded.last_gateway_id ELSE d.last_gateway_id END""").format(
    newer_battery=NEWER_BATTERY_WINS
)

# First/last seen follow the gateway's clock (when the bytes arrived), never beyond the hub's.
_UPSERT_READING_DEVICES = sql.SQL("""
INSERT INTO devices AS d (address, kind, serial, manufacturer, model, firmware, battery_level, battery_at,
                          first_seen, last_seen, last_gateway_id)
SELECT DISTINCT ON (address) address, kind, serial, manufacturer, model, firmware, battery_level,
       CASE WHEN battery_level IS NOT NULL THEN least(gateway_time, now()) END,
       least(gateway_time, now()), least(gateway_time, now()), gateway_id
FROM {staging}
WHERE {own_gateway}
ORDER BY address, gateway_time DESC
{update}
""").format(
    staging=sql.Identifier(STAGING_TABLE),
    update=READING_DEVICE_UPDATE,
    own_gateway=binding.speaks_for_device(STAGING_TABLE),
)

# NOT EXISTS first, as for gateways (ingest/writer.py, _INSERT_NEW_GATEWAYS): ON CONFLICT alone
# waits for the other writer's transaction on every device it has touched.
_INSERT_NEW_DEVICES = sql.SQL("""
INSERT INTO devices (address, kind, serial, manufacturer, model, firmware, battery_level, battery_at,
                     first_seen, last_seen, last_gateway_id)
SELECT DISTINCT ON (address) address, kind, serial, manufacturer, model, firmware, battery_level,
       CASE WHEN battery_level IS NOT NULL THEN least(gateway_time, now()) END,
       least(gateway_time, now()), least(gateway_time, now()), gateway_id
FROM {staging} s
WHERE NOT EXISTS (SELECT 1 FROM devices known WHERE known.address = s.address)
ORDER BY address, gateway_time DESC
ON CONFLICT (address) DO NOTHING
""").format(staging=sql.Identifier(STAGING_TABLE))

# The heart of idempotency: only ids the ledger did not know reach the hypertable. Sorted
# ledger inserts keep two workers racing on the same ids from deadlocking. Attribution: the
# assignment of this device and user slot (no user id = slot 1) covering measured_at; the
# exclusion constraint guarantees there is at most one.
_INSERT_READINGS = sql.SQL("""
WITH fresh AS (
  INSERT INTO reading_ids (reading_id, measured_at)
  SELECT reading_id, measured_at FROM {staging} ORDER BY reading_id
  ON CONFLICT (reading_id) DO NOTHING
  RETURNING reading_id
)
INSERT INTO readings (measured_at, reading_id, kind, device_id, user_slot, citizen_id, assignment_id,
                      gateway_id, batch_seq, device_time, gateway_time, time_source, unit, original_unit,
                      systolic, diastolic, mean_arterial_pressure, pulse_rate, value, "values", status,
                      invalid_values, implausible, implausible_reasons, clock_in_future, raw_uuid, raw,
                      quarantine_reason)
SELECT s.measured_at, s.reading_id, s.kind, dev.id, s.user_slot, a.citizen_id, a.id,
       s.gateway_id, s.batch_seq, s.device_time, s.gateway_time, s.time_source, s.unit, s.original_unit,
       s.systolic, s.diastolic, s.mean_arterial_pressure, s.pulse_rate, s.value, s.values_json::jsonb,
       s.status_json::jsonb, coalesce(s.invalid_values, ARRAY[]::text[]), s.implausible,
       coalesce(s.implausible_reasons, ARRAY[]::text[]), s.clock_in_future,
       s.raw_uuid, s.raw, q.reason
FROM {staging} s
JOIN fresh f ON f.reading_id = s.reading_id
JOIN devices dev ON dev.address = s.address
{quarantine}
LEFT JOIN device_assignments a
  ON a.device_id = dev.id AND a.user_slot = coalesce(s.user_slot, 1) AND a.valid @> s.measured_at
     AND q.reason IS NULL
RETURNING {returning}
""").format(
    staging=sql.Identifier(STAGING_TABLE),
    returning=STORED_RETURNING,
    quarantine=binding.quarantine_lateral(sql.SQL("s.gateway_id"), "dev"),
)
_BIND_NEW_DEVICES = binding.bind_new_devices(STAGING_TABLE)

# A duplicate id whose content differs from the stored row is a conflict (docs/contract.md
# "Conflicting re-sends"): the first stored version stays, the newcomer is kept here. Runs
# only when a batch held duplicates; the ledger's measured_at reaches the hypertable by its
# unique index.
_RECORD_CONFLICTS = sql.SQL("""
INSERT INTO reading_conflicts (reading_id, gateway_id, batch_seq, stored, arrived)
SELECT s.reading_id, s.gateway_id, s.batch_seq,
       jsonb_build_object('measured_at', r.measured_at, 'values', r."values", 'status', r.status,
                          'raw', encode(r.raw, 'hex'), 'raw_uuid', r.raw_uuid),
       jsonb_build_object('measured_at', s.measured_at, 'values', s.values_json::jsonb,
                          'status', s.status_json::jsonb, 'raw', encode(s.raw, 'hex'),
                          'raw_uuid', s.raw_uuid)
FROM {staging} s
JOIN reading_ids l ON l.reading_id = s.reading_id
JOIN readings r ON r.measured_at = l.measured_at AND r.reading_id = l.reading_id
WHERE s.reading_id = ANY(%s)
  AND (r."values" IS DISTINCT FROM s.values_json::jsonb
       OR r.status IS DISTINCT FROM s.status_json::jsonb
       OR r.raw IS DISTINCT FROM s.raw OR r.measured_at IS DISTINCT FROM s.measured_at)
""").format(staging=sql.Identifier(STAGING_TABLE))


# Migration 0010: readings' parents are checked per row by a trigger for every writer but
# this one. :data:`_INSERT_READINGS` guarantees them per batch instead: device_id comes from an
# inner join on devices, citizen_id and assignment_id from a join on device_assignments (whose
# own foreign key keeps the citizen), all in one snapshot; a concurrent delete of a parent
# waits for this transaction (the SHARE barrier on readings) and then sees its readings.
PARENTS_SETTING: Final = "homevitals.reading_parents"
PARENTS_BATCHED: Final = "batched"
_PARENTS_PER_BATCH = "SELECT set_config(%s, %s, false)"


class StagingCopyStrategy:
    """Production: binary COPY into a temporary staging table, then set-based SQL
    (docs/benchmarks.md compares it with the alternatives)."""

    def prepare(self, conn: psycopg.Connection[Any]) -> None:
        conn.execute(_CREATE_STAGING)
        # Session-wide, outside any transaction: every readings insert on this connection is
        # _INSERT_READINGS. Lost (RESET ALL, a new connection): the row trigger checks again.
        conn.execute(_PARENTS_PER_BATCH, (PARENTS_SETTING, PARENTS_BATCHED))

    def insert_readings(
        self, conn: psycopg.Connection[Any], rows: Sequence[PreparedReading]
    ) -> list[StoredRow]:
        with conn.cursor(row_factory=stored_row) as cur:
            with cur.copy(_COPY_STAGING) as copy:
                copy.set_types(_STAGING_TYPE_NAMES)
                for row in rows:
                    copy.write_row(row)
            cur.execute(_INSERT_NEW_DEVICES)
            cur.execute(_BIND_NEW_DEVICES)
            return cur.execute(_INSERT_READINGS).fetchall()

    def record_conflicts(
        self,
        conn: psycopg.Connection[Any],
        rows: Sequence[PreparedReading],  # noqa: ARG002 - they are in staging
        repeated: Sequence[UUID],
    ) -> int:
        return conn.execute(_RECORD_CONFLICTS, (list(repeated),)).rowcount

    def touch_devices(
        self,
        conn: psycopg.Connection[Any],
        rows: Sequence[PreparedReading],  # noqa: ARG002 - they are in staging
    ) -> None:
        conn.execute(_UPSERT_READING_DEVICES)
