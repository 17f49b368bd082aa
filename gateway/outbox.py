"""The on-disk outbox: every reading is written here first, and leaves only after the hub's ack.

SQLite in WAL mode with ``synchronous=FULL``: a reading is on disk when :meth:`Outbox.add`
returns, so a kill -9 or a power cut loses nothing that was acknowledged to the session.

Life of a reading::

    add()  -> pending (batch_seq NULL), ordered by measured_at
    form_batch() -> in a batch: the batch gets the next batch_seq (persisted, rising by one)
    acknowledge(batch_seq) on the hub's commit ack (or on PUBACK, with a hub without acks)
        -> deleted; its reading_id goes to the delivered ledger
    reject_batch(batch_seq) on the hub's dead-letter ack -> moved to ``hub_rejected`` (kept
        for inspection, with the hub's reason), its reading_id to the delivered ledger

A batch that was formed but not acknowledged before a restart is sent again with the same
``batch_seq`` and body, so the hub's gap detection stays exact and its dedupe absorbs the
repeat. ``reading_id``s already pending or delivered (within ``dedupe_days``) are dropped on
``add`` (local dedupe; the hub dedupes again).

The outbox also keeps the small state a gateway must not forget: the last glucose record
sequence number per device (RACP), the Device Information cache, and the raw bytes of
malformed device payloads.

One connection, used from one thread (the service's event loop).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum
from pathlib import Path
from types import TracebackType
from typing import Self

from gateway.errors import OutboxError
from gateway.readings import BuiltReading, DeviceIdentity
from homevitals.contract import ReadingsBatch, utc_text
from homevitals.contract.models import MAX_MESSAGE_BYTES

SCHEMA_VERSION = 2  # 2: hub_rejected (created on open; a version 1 outbox upgrades in place)
FIRST_BATCH_SEQ = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS readings (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    reading_id  TEXT NOT NULL UNIQUE,
    measured_at TEXT NOT NULL,   -- fixed-width UTC text: sorts chronologically
    payload     TEXT NOT NULL,   -- the contract v1 reading, JSON
    stored_at   TEXT NOT NULL,
    batch_seq   INTEGER REFERENCES batches (batch_seq)
);
CREATE INDEX IF NOT EXISTS readings_by_batch ON readings (batch_seq, measured_at, seq);
CREATE TABLE IF NOT EXISTS batches (
    batch_seq  INTEGER PRIMARY KEY,
    sent_at    TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS delivered (
    reading_id   TEXT PRIMARY KEY,
    delivered_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS delivered_by_time ON delivered (delivered_at);
CREATE TABLE IF NOT EXISTS counters (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS racp_sequence (
    address       TEXT PRIMARY KEY,
    last_sequence INTEGER NOT NULL,
    updated_at    TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS device_info (
    address      TEXT PRIMARY KEY,
    manufacturer TEXT,
    model        TEXT,
    serial       TEXT,
    firmware     TEXT,
    updated_at   TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS hub_rejected (
    reading_id  TEXT NOT NULL,
    batch_seq   INTEGER NOT NULL,
    payload     TEXT NOT NULL,   -- the reading as it was sent
    reason      TEXT NOT NULL,   -- the hub's dead-letter reason code
    detail      TEXT,
    rejected_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS malformed (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at TEXT NOT NULL,
    address     TEXT NOT NULL,
    uuid        TEXT NOT NULL,
    hex         TEXT NOT NULL,
    error       TEXT NOT NULL
);
"""


def _now() -> str:
    return utc_text(datetime.now(UTC))


class AddResult(Enum):
    STORED = "stored"
    DUPLICATE_PENDING = "duplicate_pending"
    DUPLICATE_DELIVERED = "duplicate_delivered"


@dataclass(frozen=True, slots=True)
class StoredBatch:
    """A batch as it goes on the wire (and again, identically, after a restart)."""

    batch_seq: int
    sent_at: datetime
    reading_ids: tuple[str, ...]
    readings_json: tuple[str, ...]  # each reading's JSON as stored, in measurement order

    def to_json_bytes(self, gateway_id: str) -> bytes:
        return ReadingsBatch.compose_json(
            gateway_id=gateway_id, batch_seq=self.batch_seq, sent_at=self.sent_at,
            readings_json=self.readings_json,
        )


# Room for the envelope around the readings: schema, a 64-character gateway id, batch_seq,
# sent_at, brackets and the commas between readings are well under this.
_ENVELOPE_RESERVE = 512


def _within_bytes(rows: list[tuple[int, str, str]], max_bytes: int) -> list[tuple[int, str, str]]:
    """The longest prefix of ``rows`` whose message fits ``max_bytes`` (at least one row)."""
    total = _ENVELOPE_RESERVE
    for count, (_, _, payload) in enumerate(rows):
        total += len(payload.encode()) + 1
        if total > max_bytes and count > 0:
            return rows[:count]
    return rows


def _stored_batch(batch_seq: int, sent_at: str, rows: list[tuple[str, str]]) -> StoredBatch:
    # A payload is one reading's JSON, kept as text: the newer rows in the contract model's
    # field order, rows of gateways before 0.2 with sorted keys. Both go on the wire as stored.
    return StoredBatch(
        batch_seq,
        datetime.fromisoformat(sent_at),
        tuple(str(reading_id) for reading_id, _ in rows),
        tuple(str(payload) for _, payload in rows),
    )


class Outbox:
    """The SQLite outbox. Open with :meth:`open` (or as a context manager)."""

    def __init__(self, connection: sqlite3.Connection, path: Path, limit: int) -> None:
        self._db = connection
        self.path = path
        self.limit = limit
        self._depth = self._count("SELECT COUNT(*) FROM readings")

    @classmethod
    def open(cls, path: Path, *, limit: int = 100_000) -> Self:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(path, isolation_level=None, timeout=30)
            mode = connection.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise OutboxError(path, f"SQLite refused WAL mode (got {mode!r})")
            # FULL: the WAL is fsynced at every commit, so a commit survives power loss.
            connection.execute("PRAGMA synchronous=FULL")
            connection.execute("PRAGMA foreign_keys=ON")
            version = connection.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise OutboxError(path, f"schema version {version} is newer than this gateway's")
            connection.executescript(_SCHEMA)
            connection.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except sqlite3.Error as error:
            raise OutboxError(path, f"cannot open ({error})") from error
        return cls(connection, path, limit)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as error:
            raise OutboxError(self.path, f"cannot begin a transaction ({error})") from error
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        try:
            self._db.execute("COMMIT")
        except sqlite3.Error as error:
            raise OutboxError(self.path, f"commit failed ({error})") from error

    def _count(self, sql: str, *params: object) -> int:
        return int(self._db.execute(sql, params).fetchone()[0])

    # --- readings -----------------------------------------------------------------------

    @property
    def depth(self) -> int:
        """Readings not yet acknowledged by the broker (pending or in a batch)."""
        return self._depth

    @property
    def is_full(self) -> bool:
        return self._depth >= self.limit

    def add(self, reading: BuiltReading) -> AddResult:
        """Store one reading durably. Duplicates (pending or delivered) are dropped."""
        try:
            with self._transaction() as db:
                delivered = db.execute("SELECT 1 FROM delivered WHERE reading_id = ?", (reading.reading_id,))
                if delivered.fetchone():
                    return AddResult.DUPLICATE_DELIVERED
                cursor = db.execute(
                    "INSERT OR IGNORE INTO readings (reading_id, measured_at, payload, stored_at)"
                    " VALUES (?, ?, ?, ?)",
                    (reading.reading_id, utc_text(reading.measured_at), reading.json, _now()),
                )
                if cursor.rowcount == 0:
                    return AddResult.DUPLICATE_PENDING
        except sqlite3.Error as error:
            raise OutboxError(self.path, f"cannot store reading {reading.reading_id} ({error})") from error
        self._depth += 1
        return AddResult.STORED

    def pending_count(self) -> int:
        return self._count("SELECT COUNT(*) FROM readings WHERE batch_seq IS NULL")

    def open_batch_seqs(self) -> list[int]:
        """Batches formed but not acknowledged, oldest first (re-sent after a restart)."""
        return [int(seq) for (seq,) in self._db.execute("SELECT batch_seq FROM batches ORDER BY batch_seq")]

    def load_batch(self, batch_seq: int) -> StoredBatch | None:
        row = self._db.execute("SELECT sent_at FROM batches WHERE batch_seq = ?", (batch_seq,)).fetchone()
        if row is None:
            return None
        rows = self._db.execute(
            "SELECT reading_id, payload FROM readings WHERE batch_seq = ? ORDER BY measured_at, seq",
            (batch_seq,),
        ).fetchall()
        return _stored_batch(batch_seq, str(row[0]), rows)

    def open_batches(self) -> list[StoredBatch]:
        return [batch for seq in self.open_batch_seqs() if (batch := self.load_batch(seq)) is not None]

    def form_batch(
        self, max_readings: int, sent_at: datetime | None = None, max_bytes: int = MAX_MESSAGE_BYTES
    ) -> StoredBatch | None:
        """Put the oldest pending readings (by measured_at) into a new batch, or return None.

        The batch stops before its message would pass ``max_bytes`` (the contract's limit), so
        long fields mean more, smaller batches, never a message the hub must refuse.
        """
        sent = utc_text(sent_at or datetime.now(UTC))
        try:
            with self._transaction() as db:
                rows = db.execute(
                    "SELECT seq, reading_id, payload FROM readings WHERE batch_seq IS NULL"
                    " ORDER BY measured_at, seq LIMIT ?",
                    (max_readings,),
                ).fetchall()
                if not rows:
                    return None
                rows = _within_bytes(rows, max_bytes)
                row = db.execute("SELECT value FROM counters WHERE name = 'next_batch_seq'").fetchone()
                batch_seq = int(row[0]) if row else FIRST_BATCH_SEQ
                db.execute(
                    "INSERT INTO counters (name, value) VALUES ('next_batch_seq', ?)"
                    " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                    (batch_seq + 1,),
                )
                db.execute(
                    "INSERT INTO batches (batch_seq, sent_at, created_at) VALUES (?, ?, ?)",
                    (batch_seq, sent, _now()),
                )
                db.executemany(
                    "UPDATE readings SET batch_seq = ? WHERE seq = ?",
                    [(batch_seq, seq) for seq, _, _ in rows],
                )
        except sqlite3.Error as error:
            raise OutboxError(self.path, f"cannot form a batch ({error})") from error
        return _stored_batch(batch_seq, sent, [(reading_id, payload) for _, reading_id, payload in rows])

    def has_batch(self, batch_seq: int) -> bool:
        row = self._db.execute("SELECT 1 FROM batches WHERE batch_seq = ?", (batch_seq,)).fetchone()
        return row is not None

    def reject_batch(self, batch_seq: int, reason: str, detail: str | None) -> int:
        """The hub dead-lettered the batch: keep its readings aside with the reason, out of the queue."""
        now = _now()
        try:
            with self._transaction() as db:
                db.execute(
                    "INSERT INTO hub_rejected (reading_id, batch_seq, payload, reason, detail, rejected_at)"
                    " SELECT reading_id, batch_seq, payload, ?, ?, ? FROM readings WHERE batch_seq = ?",
                    (reason, detail, now, batch_seq),
                )
                db.execute(
                    "INSERT OR IGNORE INTO delivered (reading_id, delivered_at)"
                    " SELECT reading_id, ? FROM readings WHERE batch_seq = ?",
                    (now, batch_seq),
                )
                deleted = db.execute("DELETE FROM readings WHERE batch_seq = ?", (batch_seq,)).rowcount
                db.execute("DELETE FROM batches WHERE batch_seq = ?", (batch_seq,))
        except sqlite3.Error as error:
            raise OutboxError(self.path, f"cannot set aside rejected batch {batch_seq} ({error})") from error
        self._depth -= deleted
        return int(deleted)

    def hub_rejected_count(self) -> int:
        return self._count("SELECT COUNT(*) FROM hub_rejected")

    def hub_rejected(self, limit: int = 100) -> list[dict[str, str | None]]:
        rows = self._db.execute(
            "SELECT reading_id, batch_seq, reason, detail, rejected_at, payload FROM hub_rejected"
            " ORDER BY rowid DESC LIMIT ?",
            (limit,),
        ).fetchall()
        keys = ("reading_id", "batch_seq", "reason", "detail", "rejected_at", "payload")
        return [dict(zip(keys, (None if v is None else str(v) for v in row), strict=True)) for row in rows]

    def acknowledge(self, batch_seq: int) -> int:
        """The hub (without hub acks: the broker) has the batch: delete its readings, remember the ids."""
        now = _now()
        try:
            with self._transaction() as db:
                db.execute(
                    "INSERT OR IGNORE INTO delivered (reading_id, delivered_at)"
                    " SELECT reading_id, ? FROM readings WHERE batch_seq = ?",
                    (now, batch_seq),
                )
                deleted = db.execute("DELETE FROM readings WHERE batch_seq = ?", (batch_seq,)).rowcount
                db.execute("DELETE FROM batches WHERE batch_seq = ?", (batch_seq,))
        except sqlite3.Error as error:
            raise OutboxError(self.path, f"cannot acknowledge batch {batch_seq} ({error})") from error
        self._depth -= deleted
        return int(deleted)

    def next_batch_seq(self) -> int:
        row = self._db.execute("SELECT value FROM counters WHERE name = 'next_batch_seq'").fetchone()
        return int(row[0]) if row else FIRST_BATCH_SEQ

    def prune_delivered(self, older_than: timedelta) -> int:
        """Forget delivered ids older than ``older_than`` (the local dedupe window)."""
        cutoff = utc_text(datetime.now(UTC) - older_than)
        with self._transaction() as db:
            return int(db.execute("DELETE FROM delivered WHERE delivered_at < ?", (cutoff,)).rowcount)

    def oldest_pending_measured_at(self) -> str | None:
        row = self._db.execute("SELECT MIN(measured_at) FROM readings").fetchone()
        return None if row[0] is None else str(row[0])

    # --- device state -------------------------------------------------------------------

    def last_sequence(self, address: str) -> int | None:
        row = self._db.execute(
            "SELECT last_sequence FROM racp_sequence WHERE address = ?", (address.upper(),)
        ).fetchone()
        return None if row is None else int(row[0])

    def set_last_sequence(self, address: str, sequence: int) -> None:
        """Remember the newest glucose record stored (only ever moves forward)."""
        with self._transaction() as db:
            db.execute(
                "INSERT INTO racp_sequence (address, last_sequence, updated_at) VALUES (?, ?, ?)"
                " ON CONFLICT (address) DO UPDATE"
                " SET last_sequence = MAX(last_sequence, excluded.last_sequence),"
                " updated_at = excluded.updated_at",
                (address.upper(), sequence, _now()),
            )

    def cached_device_info(self, address: str, max_age: timedelta | None = None) -> DeviceIdentity | None:
        row = self._db.execute(
            "SELECT manufacturer, model, serial, firmware, updated_at FROM device_info WHERE address = ?",
            (address.upper(),),
        ).fetchone()
        if row is None:
            return None
        if max_age is not None and str(row[4]) < utc_text(datetime.now(UTC) - max_age):
            return None
        manufacturer, model, serial, firmware = row[0], row[1], row[2], row[3]
        return DeviceIdentity(address.upper(), manufacturer, model, serial, firmware)

    def store_device_info(self, identity: DeviceIdentity) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO device_info"
                " (address, manufacturer, model, serial, firmware, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                (identity.address.upper(), identity.manufacturer, identity.model, identity.serial,
                 identity.firmware, _now()),
            )

    def record_malformed(self, address: str, uuid: int, raw: bytes, error: str) -> None:
        """Keep bytes a device sent that do not decode, for a later fix (never published)."""
        with self._transaction() as db:
            db.execute(
                "INSERT INTO malformed (received_at, address, uuid, hex, error) VALUES (?, ?, ?, ?, ?)",
                (_now(), address.upper(), f"{uuid:04x}", raw.hex(), error),
            )

    def malformed(self, limit: int = 100) -> list[dict[str, str]]:
        rows = self._db.execute(
            "SELECT received_at, address, uuid, hex, error FROM malformed ORDER BY id DESC LIMIT ?", (limit,)
        ).fetchall()
        keys = ("received_at", "address", "uuid", "hex", "error")
        return [dict(zip(keys, map(str, row), strict=True)) for row in rows]

    def malformed_count(self) -> int:
        return self._count("SELECT COUNT(*) FROM malformed")

    def integrity_check(self) -> str:
        return str(self._db.execute("PRAGMA integrity_check").fetchone()[0])
