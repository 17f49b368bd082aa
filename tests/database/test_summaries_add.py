"""Migration 0011's summaries_add gives exactly what 0007's did (its per-group LATERAL).

Both bodies run on the same batches, each in a transaction rolled back afterwards, over
summary rows that already exist; the summary tables must come out identical. The batches hold
what picks the newest reading: ties on measured_at (the larger reading id wins), a newest
reading that is implausible or has a future clock (not the latest valid one), a citizen with
no valid reading at all, several kinds, and older rows already stored.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.support.factories import insert_citizen

pytestmark = pytest.mark.integration

_SQL = Path(__file__).resolve().parents[2] / "database" / "migrations" / "sql"
# 0011's down.sql is 0007's function; renamed, it runs beside the current one.
_FUNCTION_0007 = (_SQL / "0011_summaries_newest.down.sql").read_text().replace(
    "FUNCTION summaries_add(", "FUNCTION summaries_add_0007("
)

_CALL = (
    "SELECT {fn}(%s::bigint[], %s::text[], %s::timestamptz[], %s::uuid[], %s::real[], %s::real[], "
    "%s::real[], %s::double precision[], %s::boolean[], %s::boolean[])"
)
_TABLES = (
    "SELECT * FROM latest_readings ORDER BY citizen_id, kind",
    "SELECT * FROM daily_summaries ORDER BY citizen_id, kind, local_date",
)
NOW = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)


def _batch(rng: random.Random, citizens: list[int]) -> tuple[list[Any], ...]:
    rows: list[tuple[Any, ...]] = []
    for citizen in citizens:
        for _ in range(rng.randint(1, 6)):
            kind = rng.choice(("blood_pressure", "blood_pressure", "weight"))
            # Few distinct times, so ties on measured_at are common.
            at = NOW - timedelta(hours=rng.choice((0, 0, 1, 13, 30)))
            bp = kind == "blood_pressure"
            rows.append((
                citizen,
                kind,
                at,
                uuid.UUID(int=rng.getrandbits(128)),
                float(rng.randint(100, 180)) if bp else None,
                float(rng.randint(60, 110)) if bp else None,
                float(rng.randint(50, 90)) if bp and rng.random() < 0.8 else None,
                None if bp else rng.uniform(50, 120),
                rng.random() < 0.3,  # implausible
                rng.random() < 0.1,  # clock in future
            ))
    rng.shuffle(rows)
    return tuple(list(column) for column in zip(*rows, strict=True))


def _after(conn: psycopg.Connection[Any], fn: str, batch: tuple[list[Any], ...]) -> list[list[Any]]:
    conn.execute("BEGIN")
    try:
        conn.execute(_CALL.format(fn=fn), batch)
        return [conn.execute(query).fetchall() for query in _TABLES]
    finally:
        conn.execute("ROLLBACK")


def test_summaries_add_equals_0007s_on_batches_with_ties_and_invalid_newest_readings(db_dsn):
    rng = random.Random(11)
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        conn.execute(_FUNCTION_0007)
        citizens = [insert_citizen(conn, f"C{i}") for i in range(12)]
        # Stored rows to update (ON CONFLICT paths), some newer than the batches' readings.
        conn.execute(_CALL.format(fn="summaries_add"), _batch(rng, citizens[:8]))
        for _ in range(15):
            batch = _batch(rng, rng.sample(citizens, rng.randint(1, len(citizens))))
            new, old = _after(conn, "summaries_add", batch), _after(conn, "summaries_add_0007", batch)
            assert new == old
            assert new[0]  # the batch did reach the tables
