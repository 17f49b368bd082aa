"""Retention: drop the readings older than the municipality's retention period (docs/database.md).

``drop_chunks`` removes whole chunks of the ``readings`` hypertable (7 days each), so a
reading goes on the first run after its chunk lies entirely before the cut-off, and its raw
bytes (a column of the same row) go with it. In the same transaction, before the chunks
are dropped, the rows that belong to those readings elsewhere go too: their ``reading_ids``
ledger rows and their ``reading_conflicts``. After the drop, the summaries are made exact:
the daily rows of the days now empty are deleted, the day at the cut is recomputed from the
readings left, and so are the latest rows that pointed at a dropped reading.

Dead letters (raw messages that were rejected) older than the cut-off are deleted as well.
Alerts and the audit log are not touched: they are records of what staff saw and did.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

import psycopg
from pydantic import Field

from homevitals.settings import DatabaseSettings

_CHUNKS: Final = """
SELECT format('%%I.%%I', c.chunk_schema, c.chunk_name), c.range_start, c.range_end,
       coalesce(s.total_bytes, 0), greatest(coalesce(k.reltuples, 0), 0)::bigint
FROM timescaledb_information.chunks c
LEFT JOIN chunks_detailed_size('readings') s
  ON s.chunk_schema = c.chunk_schema AND s.chunk_name = c.chunk_name
LEFT JOIN pg_class k ON k.oid = format('%%I.%%I', c.chunk_schema, c.chunk_name)::regclass
WHERE c.hypertable_name = 'readings' AND c.range_end <= %(older_than)s
ORDER BY c.range_start
"""
_DELETE_CONFLICTS: Final = """
DELETE FROM reading_conflicts
WHERE reading_id IN (SELECT reading_id FROM readings WHERE measured_at < %(cut)s)
"""
# Through the ledger's primary key, one probe per dropped reading (no index on its time).
_DELETE_LEDGER: Final = """
DELETE FROM reading_ids l USING readings r
WHERE r.measured_at < %(cut)s AND l.reading_id = r.reading_id
"""
_COUNT_READINGS: Final = "SELECT count(*) FROM readings WHERE measured_at < %(cut)s"
_DROP: Final = "SELECT count(*) FROM drop_chunks('readings', older_than => %(cut)s::timestamptz)"
# Local days that end at or before the cut held only dropped readings.
_DELETE_EMPTY_DAYS: Final = """
DELETE FROM daily_summaries d USING citizens c
WHERE c.id = d.citizen_id AND d.local_date < (%(cut)s::timestamptz AT TIME ZONE c.timezone)::date
"""
_RECOMPUTE_AT_CUT: Final = "SELECT summaries_recompute_range(%(cut)s, %(cut)s)"
_DELETE_DEAD_LETTERS: Final = "DELETE FROM dead_letters WHERE received_at < %(older_than)s"


class RetentionSettings(DatabaseSettings):
    """``HOMEVITALS_RETENTION_YEARS``: how long readings are kept (the municipality decides)."""

    retention_years: int = Field(default=10, ge=1, le=100, description="Years a reading is kept.")


@dataclass(frozen=True)
class Chunk:
    name: str
    range_start: datetime
    range_end: datetime
    total_bytes: int
    estimated_rows: int


@dataclass
class RetentionResult:
    older_than: datetime
    chunks: list[Chunk] = field(default_factory=list)
    readings: int = 0
    ledger_rows: int = 0
    conflicts: int = 0
    dead_letters: int = 0
    citizens_recomputed: int = 0

    @property
    def cut(self) -> datetime | None:
        """Every reading before this instant is gone (the end of the newest dropped chunk)."""
        return max((c.range_end for c in self.chunks), default=None)


def chunks_older_than(conn: psycopg.Connection[Any], older_than: datetime) -> list[Chunk]:
    """The chunks ``drop_chunks(older_than)`` would drop: those entirely before it."""
    return [Chunk(*row) for row in conn.execute(_CHUNKS, {"older_than": older_than}).fetchall()]


def readings_before(conn: psycopg.Connection[Any], cut: datetime) -> int:
    row = conn.execute(_COUNT_READINGS, {"cut": cut}).fetchone()
    return int(row[0]) if row else 0


def apply_retention(conn: psycopg.Connection[Any], older_than: datetime) -> RetentionResult:
    """Drop what is older than ``older_than``, in one transaction; the summaries stay exact."""
    with conn.transaction():
        result = RetentionResult(older_than, chunks_older_than(conn, older_than))
        cut = result.cut
        if cut is not None:
            params = {"cut": cut}
            result.readings = readings_before(conn, cut)
            result.conflicts = conn.execute(_DELETE_CONFLICTS, params).rowcount
            result.ledger_rows = conn.execute(_DELETE_LEDGER, params).rowcount
            conn.execute(_DROP, params)
            conn.execute(_DELETE_EMPTY_DAYS, params)
            recomputed = conn.execute(_RECOMPUTE_AT_CUT, params).fetchone()
            result.citizens_recomputed = int(recomputed[0]) if recomputed else 0
        result.dead_letters = conn.execute(_DELETE_DEAD_LETTERS, {"older_than": older_than}).rowcount
    return result
