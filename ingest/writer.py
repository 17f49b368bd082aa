"""The idempotent, batched write: one transaction per batch of messages (docs/ingest.md).

In one transaction:
1. create the gateways and devices seen for the first time (without locking existing rows);
2. through the write strategy (ingest/write_strategy.py; production: COPY the readings into a
   temporary staging table), insert their ids into the ``reading_ids`` ledger ``ON CONFLICT
   DO NOTHING RETURNING``, and insert into ``readings`` only the ids that came back,
   attributed through the assignment covering ``measured_at``;
3. update the devices (last seen, battery, model, serial, firmware) and the gateways (last
   seen, ``batch_seq`` high-water mark, gaps);
4. open threshold alerts for the new readings, at most one unresolved per citizen, metric
   and level (the partial unique index decides);
5. add the new readings to the summary tables (ingest/summaries.py);
6. apply retained status reports, and store dead letters.

A reading id that arrives again (redelivery, another gateway, a corrected clock) finds its
ledger row and is counted as a duplicate. Nothing here acknowledges anything: the caller
acks after :meth:`BatchWriter.write` returns, i.e. after COMMIT.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql

from database.alerts import AlertLevel, AlertType
from ingest import binding, summaries
from ingest.alerts import AlertRule, StoredReading, batch_rules
from ingest.envelope import Envelope
from ingest.errors import (
    BatchRejected,
    DatabaseMisconfigured,
    DatabaseUnavailable,
    IngestError,
    TransactionConflict,
)
from ingest.packing import packed as _packed
from ingest.validation import PreparedReading, Rejection, StatusReport, ValidBatch
from ingest.write_strategy import NEWER_BATTERY_WINS, StagingCopyStrategy, StoredRow, WriteStrategy

# Sorted, so that concurrent workers lock gateway rows in the same order (no deadlocks).
_UPSERT_READING_GATEWAYS = """
INSERT INTO gateways AS g (gateway_id, first_seen, last_seen)
SELECT gid, now(), now() FROM unnest(string_to_array(%s, chr(31))) AS t(gid) ORDER BY gid
ON CONFLICT (gateway_id) DO UPDATE SET last_seen = now()
RETURNING gateway_id, last_batch_seq
"""

# Before the heavy insert: create what is new, without locking or waiting for what exists.
# The NOT EXISTS matters: ON CONFLICT alone checks each existing row through the unique index
# and waits for any transaction that has updated it, i.e. for the other writer's whole batch
# (it updates last_seen of the same gateways); at one reading per message every batch holds
# nearly every gateway, so the two writers ran one after the other (NOTES-ingestpg.md).
# ON CONFLICT stays for two writers creating the same new gateway at once.
_INSERT_NEW_GATEWAYS = """
INSERT INTO gateways (gateway_id, first_seen, last_seen)
SELECT gid, now(), now() FROM unnest(string_to_array(%s, chr(31))) AS t(gid)
WHERE NOT EXISTS (SELECT 1 FROM gateways known WHERE known.gateway_id = t.gid)
ORDER BY gid
ON CONFLICT (gateway_id) DO NOTHING
"""

# Lock the batch's gateways in sorted order (concurrent workers never deadlock) and read their
# current high-water mark; READ COMMITTED's FOR UPDATE returns the newest committed version.
# A lock, not an update: each gateway row then gets one new version per batch, from
# _TOUCH_GATEWAYS, instead of two (last_seen, then last_batch_seq).
_LOCK_READING_GATEWAYS = """
SELECT gateway_id, last_batch_seq FROM gateways
WHERE gateway_id = ANY(string_to_array(%s, chr(31)))
ORDER BY gateway_id
FOR UPDATE
"""

# Rows already locked by _LOCK_READING_GATEWAYS. An empty mark (NULL) keeps the stored one.
_TOUCH_GATEWAYS = """
UPDATE gateways AS g SET last_seen = now(), last_batch_seq = coalesce(v.seq, g.last_batch_seq)
FROM unnest(string_to_array(%s, chr(31)), string_to_array(%s, chr(31), '')::bigint[]) AS v(gid, seq)
WHERE g.gateway_id = v.gid
"""

_INSERT_GAPS = """
INSERT INTO batch_gaps (gateway_id, expected_seq, received_seq, missing)
SELECT * FROM unnest(string_to_array(%s, chr(31)), string_to_array(%s, chr(31))::bigint[],
                     string_to_array(%s, chr(31))::bigint[], string_to_array(%s, chr(31))::bigint[])
"""

# A batch_seq at or below the gateway's high-water mark is either a redelivery or a batch
# that lost a race with a later one on another worker; the latter fills a recorded gap.
_FILL_GAPS = """
WITH late AS (
  SELECT v.gid, v.seq,
         (SELECT bg.id FROM batch_gaps bg
          WHERE bg.gateway_id = v.gid AND v.seq >= bg.expected_seq AND v.seq < bg.received_seq
            AND bg.filled < bg.missing
          ORDER BY bg.id DESC LIMIT 1) AS gap_id
  FROM unnest(string_to_array(%s, chr(31)), string_to_array(%s, chr(31))::bigint[]) AS v(gid, seq)
), fills AS (
  INSERT INTO batch_gap_fills (gateway_id, batch_seq, gap_id)
  SELECT gid, seq, gap_id FROM late WHERE gap_id IS NOT NULL ORDER BY gid, seq
  ON CONFLICT DO NOTHING
  RETURNING gap_id
)
UPDATE batch_gaps AS bg SET filled = bg.filled + f.n
FROM (SELECT gap_id, count(*) AS n FROM fills GROUP BY gap_id) AS f
WHERE bg.id = f.gap_id
RETURNING f.n
"""

_UPSERT_STATUS = """
INSERT INTO gateways AS g (gateway_id, first_seen, last_seen, state, version, uptime_s, outbox_depth,
                           outbox_full, status, status_at)
VALUES (%(gid)s::text, now(), CASE WHEN %(online)s::boolean THEN now() END, %(state)s::text,
        %(version)s::text, %(uptime)s::float8, %(depth)s::integer, coalesce(%(full)s::boolean, false),
        %(status)s::jsonb, least(coalesce(%(at)s::timestamptz, now()), now()))
ON CONFLICT (gateway_id) DO UPDATE SET
  state = excluded.state,
  version = coalesce(excluded.version, g.version),
  uptime_s = coalesce(excluded.uptime_s, g.uptime_s),
  outbox_depth = coalesce(excluded.outbox_depth, g.outbox_depth),
  outbox_full = coalesce(%(full)s::boolean, g.outbox_full),
  status = excluded.status,
  status_at = excluded.status_at,
  last_seen = CASE WHEN %(online)s::boolean THEN greatest(g.last_seen, excluded.last_seen)
                   ELSE g.last_seen END
WHERE g.status_at IS NULL OR excluded.status_at >= g.status_at
"""

_UPSERT_STATUS_DEVICE = sql.SQL("""
INSERT INTO devices AS d (address, model, battery_level, battery_at, first_seen, last_seen, last_gateway_id)
VALUES (%(address)s::text, %(model)s::text, %(battery)s::smallint,
        CASE WHEN %(battery)s::smallint IS NOT NULL THEN %(at)s::timestamptz END,
        least(coalesce(%(seen)s::timestamptz, %(at)s::timestamptz), now()),
        least(coalesce(%(seen)s::timestamptz, %(at)s::timestamptz), now()), %(gid)s::text)
ON CONFLICT (address) DO UPDATE SET
  model = coalesce(d.model, excluded.model),
  {newer_battery},
  last_seen = greatest(d.last_seen, least(%(seen)s::timestamptz, now())),
  last_gateway_id = CASE WHEN %(seen)s::timestamptz >= d.last_seen
                         THEN excluded.last_gateway_id ELSE d.last_gateway_id END
WHERE {own_gateway}
""").format(newer_battery=NEWER_BATTERY_WINS, own_gateway=binding.STATUS_SPEAKS_FOR_DEVICE)

_INSERT_DEAD_LETTER = """
INSERT INTO dead_letters (topic, gateway_id, reason, detail, payload, payload_bytes, payload_truncated)
VALUES (%s, %s, %s, %s, %s, %s, %s)
"""

@dataclass(slots=True)
class GapReport:
    gateway_id: str
    expected_seq: int
    received_seq: int

    @property
    def missing(self) -> int:
        return self.received_seq - self.expected_seq


@dataclass(slots=True)
class WriteResult:
    """What one committed batch did (the caller turns it into metrics)."""

    messages: int = 0
    readings: int = 0
    stored: int = 0
    duplicates: int = 0
    implausible: int = 0
    clock_in_future: int = 0
    unassigned: int = 0
    quarantined: Counter[str] = field(default_factory=Counter)
    statuses: int = 0
    dead_letters: Counter[str] = field(default_factory=Counter)
    conflicts: int = 0
    alerts_opened: Counter[tuple[AlertType, AlertLevel]] = field(default_factory=Counter)
    gaps: list[GapReport] = field(default_factory=list)
    late_filled: int = 0
    stored_gateway_times: list[datetime] = field(default_factory=list)


def detect_gaps(last_seq: int | None, seqs: list[int]) -> tuple[int | None, list[tuple[int, int]], list[int]]:
    """Walk a gateway's batch_seqs (any order) from its high-water mark ``last_seq``.

    Returns the new high-water mark, the gaps as (expected, received) pairs, and the
    sequence numbers at or below the mark (redeliveries or late arrivals).
    """
    gaps: list[tuple[int, int]] = []
    late: list[int] = []
    mark = last_seq
    for seq in sorted(set(seqs)):
        if mark is None or seq == mark + 1:
            mark = seq
        elif seq > mark + 1:
            gaps.append((mark + 1, seq))
            mark = seq
        else:
            late.append(seq)
    return mark, gaps, late


_UNAVAILABLE_CLASSES = frozenset({"08", "53", "55", "57", "58", "XX"})
_MISCONFIGURED_CLASSES = frozenset({"28", "3D", "3F", "42", "2B", "0A"})
_DATA_CLASSES = frozenset({"22", "23", "54"})


def classify_database_error(error: psycopg.Error) -> IngestError:
    """Map a driver error to what the caller should do about it (see the error classes)."""
    sqlstate = error.sqlstate
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    if sqlstate is None or isinstance(error, psycopg.InterfaceError):
        return DatabaseUnavailable(text)
    klass = sqlstate[:2]
    if klass == "40":
        return TransactionConflict(sqlstate, text)
    if klass in _DATA_CLASSES:
        return BatchRejected(sqlstate, text)
    if klass in _MISCONFIGURED_CLASSES:
        return DatabaseMisconfigured(sqlstate, text)
    if klass in _UNAVAILABLE_CLASSES:
        return DatabaseUnavailable(f"{sqlstate}: {text}")
    return DatabaseUnavailable(f"{sqlstate}: {text}")


class BatchWriter:
    """Writes batches on one connection (autocommit; each batch is an explicit transaction).

    ``strategy`` puts the readings in (production: :class:`StagingCopyStrategy`); the steps
    around it, and their order, are the writer's own (see :meth:`_write`).
    """

    # Run in each batch's transaction on the attributed, plausible readings it stored.
    alert_rules: tuple[AlertRule, ...] = batch_rules()

    def __init__(
        self,
        conn: psycopg.Connection[Any],
        *,
        max_dead_letter_bytes: int = 1024 * 1024,
        strategy: WriteStrategy | None = None,
    ) -> None:
        self.conn = conn
        self.max_dead_letter_bytes = max_dead_letter_bytes
        self.strategy: WriteStrategy = strategy if strategy is not None else StagingCopyStrategy()
        try:
            self.strategy.prepare(conn)
            # From the first batch on: otherwise the row trigger (PL/pgSQL per reading, ~20 times
            # the batch statement's cost) counts each new connection's first batch.
            summaries.take_over(conn)
        except psycopg.Error as error:
            raise classify_database_error(error) from error

    def write(self, envelopes: Sequence[Envelope]) -> WriteResult:
        """Store one batch in one transaction. Raises an :class:`IngestError` subclass."""
        try:
            with self.conn.transaction():
                return self._write(envelopes)
        except psycopg.Error as error:
            raise classify_database_error(error) from error

    # -- inside the transaction -----------------------------------------------------------
    def _write(self, envelopes: Sequence[Envelope]) -> WriteResult:
        result = WriteResult(messages=len(envelopes))
        batches: list[ValidBatch] = []
        statuses: list[StatusReport] = []
        rejected: list[tuple[Envelope, Rejection]] = []
        for envelope in envelopes:
            outcome = envelope.outcome
            if isinstance(outcome, ValidBatch):
                batches.append(outcome)
            elif isinstance(outcome, StatusReport):
                statuses.append(outcome)
            else:
                rejected.append((envelope, outcome))

        # Order matters for two workers (or two writer threads) at once: first what creates new
        # rows without locking existing ones, then the heavy insert, which therefore runs in
        # parallel; the row locks (devices, gateways, alerts) come last, each statement taking
        # them in sorted order, so they are held briefly and never in a cycle.
        if batches:
            rows = self._dedupe(batches, result)
            self.conn.execute(_INSERT_NEW_GATEWAYS, (_packed(sorted({b.gateway_id for b in batches})),))
            stored = self.strategy.insert_readings(self.conn, rows)
            self._record_conflicts(rows, stored, result)
            self.strategy.touch_devices(self.conn, rows)
            self._track_gateways(batches, result)
            self._account(stored, result)
            summaries.record(self.conn, stored)
        if statuses:
            self._apply_statuses(statuses)
            result.statuses = len(statuses)
        if rejected:
            self._dead_letter(rejected, result)
        return result

    def _track_gateways(self, batches: list[ValidBatch], result: WriteResult) -> None:
        seqs: dict[str, list[int]] = {}
        for batch in batches:
            seqs.setdefault(batch.gateway_id, []).append(batch.batch_seq)
        ids = sorted(seqs)
        rows = self.conn.execute(_LOCK_READING_GATEWAYS, (_packed(ids),)).fetchall()
        if len(rows) < len(ids):
            # _INSERT_NEW_GATEWAYS created every gateway in this transaction and nothing deletes
            # gateways, so this does not happen; if it ever does, create them rather than lose
            # their last_seen and marks.
            found = {gateway_id for gateway_id, _ in rows}
            absent = [g for g in ids if g not in found]
            rows += self.conn.execute(_UPSERT_READING_GATEWAYS, (_packed(absent),)).fetchall()
        marks: dict[str, int | None] = {}
        gap_rows: list[tuple[str, int, int]] = []
        late_rows: list[tuple[str, int]] = []
        for gateway_id, last_seq in rows:
            mark, gaps, late = detect_gaps(last_seq, seqs[gateway_id])
            marks[gateway_id] = mark if mark != last_seq else None
            gap_rows += [(gateway_id, expected, received) for expected, received in gaps]
            late_rows += [(gateway_id, seq) for seq in late]
        self.conn.execute(
            _TOUCH_GATEWAYS,
            (_packed(ids), _packed("" if marks[g] is None else str(marks[g]) for g in ids)),
        )
        if gap_rows:
            self.conn.execute(
                _INSERT_GAPS,
                (
                    _packed(g for g, _, _ in gap_rows),
                    _packed(e for _, e, _ in gap_rows),
                    _packed(r for _, _, r in gap_rows),
                    _packed(r - e for _, e, r in gap_rows),
                ),
            )
            result.gaps = [GapReport(g, e, r) for g, e, r in gap_rows]
        if late_rows:
            filled = self.conn.execute(
                _FILL_GAPS, (_packed(g for g, _ in late_rows), _packed(s for _, s in late_rows))
            ).fetchall()
            result.late_filled = sum(int(n) for (n,) in filled)

    def _apply_statuses(self, statuses: list[StatusReport]) -> None:
        ordered = sorted(statuses, key=lambda s: s.gateway_id)  # stable: keeps arrival order per gateway
        with self.conn.cursor() as cur:
            for report in ordered:
                status = report.status
                online = status.state == "online"
                cur.execute(
                    _UPSERT_STATUS,
                    {
                        "gid": report.gateway_id,
                        "online": online,
                        "state": str(status.state),
                        "version": status.version,
                        "uptime": status.uptime_s,
                        "depth": status.outbox_depth,
                        "full": status.outbox_full,
                        "status": report.status_json,
                        "at": status.sent_at,
                    },
                )
                addresses = sorted({device.address.upper() for device in status.devices})
                for device in sorted(status.devices, key=lambda d: d.address.upper()):
                    cur.execute(
                        _UPSERT_STATUS_DEVICE,
                        {
                            "address": device.address.upper(),
                            "model": device.model,
                            "battery": device.battery,
                            "at": status.sent_at,
                            "seen": device.last_seen,
                            "gid": report.gateway_id,
                        },
                    )
                binding.bind_status_devices(cur, report.gateway_id, addresses)

    @staticmethod
    def _dedupe(batches: list[ValidBatch], result: WriteResult) -> list[PreparedReading]:
        seen: set[object] = set()
        rows: list[PreparedReading] = []
        for batch in batches:
            for reading in batch.readings:
                result.readings += 1
                if reading.reading_id in seen:
                    continue  # the same reading twice in one batch: the first one wins
                seen.add(reading.reading_id)
                rows.append(reading)
        return rows

    def _record_conflicts(
        self, rows: list[PreparedReading], stored: list[StoredRow], result: WriteResult
    ) -> None:
        if len(stored) == len(rows):
            return  # every id was new: nothing to compare (the hot path)
        fresh = {row.reading_id for row in stored}
        repeated = [row.reading_id for row in rows if row.reading_id not in fresh]
        result.conflicts += self.strategy.record_conflicts(self.conn, rows, repeated)

    def _account(self, stored: list[StoredRow], result: WriteResult) -> None:
        result.stored = len(stored)
        result.duplicates = result.readings - result.stored
        attributed: list[StoredReading] = []
        for (
            reading_id,
            citizen_id,
            kind,
            measured_at,
            gateway_time,
            implausible,
            clock_in_future,
            systolic,
            diastolic,
            pulse_rate,
            value,
            quarantine_reason,
        ) in stored:
            result.stored_gateway_times.append(gateway_time)
            result.implausible += implausible
            result.clock_in_future += clock_in_future
            if quarantine_reason is not None:
                result.quarantined[quarantine_reason] += 1
            elif citizen_id is None:
                result.unassigned += 1
            elif not implausible:
                attributed.append(
                    StoredReading(
                        reading_id=str(reading_id),
                        citizen_id=citizen_id,
                        kind=kind,
                        measured_at=measured_at,
                        columns={
                            "systolic": systolic,
                            "diastolic": diastolic,
                            "pulse_rate": pulse_rate,
                            "value": value,
                        },
                    )
                )
        if attributed:
            self._open_alerts(attributed, result)

    def _open_alerts(self, readings: list[StoredReading], result: WriteResult) -> None:
        for rule in self.alert_rules:
            opened = rule.open_alerts(self.conn, readings)
            result.alerts_opened.update((alert.alert_type, alert.level) for alert in opened)

    def _dead_letter(self, rejected: list[tuple[Envelope, Rejection]], result: WriteResult) -> None:
        with self.conn.cursor() as cur:
            cur.executemany(
                _INSERT_DEAD_LETTER,
                [
                    (
                        envelope.topic,
                        rejection.gateway_id,
                        str(rejection.reason),
                        rejection.detail,
                        envelope.payload[: self.max_dead_letter_bytes],
                        len(envelope.payload),
                        len(envelope.payload) > self.max_dead_letter_bytes,
                    )
                    for envelope, rejection in rejected
                ],
            )
        result.dead_letters.update(str(rejection.reason) for _, rejection in rejected)
