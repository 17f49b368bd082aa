"""The summary tables stay exact through a realistic mixed sequence (issue 17 item 2).

Real TimescaleDB; readings go through ingest's real BatchWriter (validation included), and
the other paths through the same SQL the API runs. After each step the tables are compared
with a recomputation from raw rows, and the care overview with migration 0004's view over
raw readings.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from database.summaries import reference_care_overview_sql, summary_differences
from homevitals.contract import readings_topic
from ingest.envelope import Envelope
from ingest.validation import validate_message
from ingest.writer import BatchWriter
from tests.ingest.helpers import batch, encode, reading
from tests.support.factories import insert_assignment, insert_citizen, insert_device

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC).replace(microsecond=0)
ADDRESS_A = "A4:C1:38:00:AA:01"
ADDRESS_B = "A4:C1:38:00:BB:02"


def envelope(gateway: str, readings: list[dict[str, Any]], seq: int) -> Envelope:
    topic = readings_topic(gateway)
    payload = encode(batch(gateway, readings, batch_seq=seq))
    outcome = validate_message(
        topic,
        payload,
        now=datetime.now(UTC),
        future_tolerance=timedelta(minutes=5),
        max_payload_bytes=1 << 20,
    )
    return Envelope(topic, payload, outcome)


def bp(
    address: str,
    at: datetime,
    systolic: float,
    diastolic: float,
    pulse: float | None = 64,
    reading_id: str | None = None,
) -> dict[str, Any]:
    return reading(
        address=address,
        measured_at=at,
        systolic=systolic,
        diastolic=diastolic,
        pulse=pulse,
        reading_id=reading_id,
    )


# The 7-day mean since migration 0008: plausible readings of the last 7 local calendar days
# (today and the 6 before), up to now, recomputed here from raw rows.
MEAN7 = """
SELECT c.id, round(avg(r.systolic)::numeric, 1)::float8, round(avg(r.diastolic)::numeric, 1)::float8,
       round(avg(r.pulse_rate)::numeric, 1)::float8, count(r.reading_id)
FROM citizens c
LEFT JOIN readings r ON r.citizen_id = c.id AND r.kind = 'blood_pressure' AND NOT r.implausible
  AND NOT r.clock_in_future AND r.measured_at <= now()
  AND (r.measured_at AT TIME ZONE c.timezone)::date >= (now() AT TIME ZONE c.timezone)::date - 6
GROUP BY c.id ORDER BY c.id
"""


def overview_differences(conn: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
    """The care overview against migration 0004's view over raw rows (all but the 7-day mean,
    whose window 0008 changed) and against MEAN7."""
    columns = (
        "citizen_id, last_measured_at, last_systolic, last_diastolic, last_pulse, last_level, "
        "open_alerts, unresolved_alerts, last_any_measured_at, days_since_last"
    )
    new = conn.execute(f"SELECT {columns} FROM grafana.care_overview ORDER BY citizen_id").fetchall()
    old = conn.execute(f"SELECT {columns} FROM reference_care_overview ORDER BY citizen_id").fetchall()
    means = conn.execute(
        "SELECT citizen_id, mean7_systolic, mean7_diastolic, mean7_pulse, mean7_readings "
        "FROM grafana.care_overview ORDER BY citizen_id"
    ).fetchall()
    expected_means = conn.execute(MEAN7).fetchall()
    return [pair for pair in zip(new, old, strict=True) if pair[0] != pair[1]] + [
        pair for pair in zip(means, expected_means, strict=True) if pair[0] != pair[1]
    ]


def test_summaries_equal_a_recomputation_after_late_duplicate_reassigned_and_deleted_readings(db_dsn):
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        conn.execute(reference_care_overview_sql("reference_care_overview"))
        karen = insert_citizen(conn, "Karen", "X", timezone="Europe/Copenhagen")
        anna = insert_citizen(conn, "Anna", "X", timezone="Atlantic/Reykjavik")
        device_a = insert_device(conn, ADDRESS_A)
        assignment_a = insert_assignment(conn, device_a, karen, start=NOW - timedelta(days=60))
        citizens = [karen, anna]

        def check(step: str) -> None:
            assert summary_differences(conn, citizens) == [], step
            differences = overview_differences(conn)
            assert differences == [], f"{step}: {differences}"

        writer_conn = psycopg.connect(db_dsn, autocommit=True)
        writer = BatchWriter(writer_conn)
        # The writer took the summaries over; as if the setting had been lost (RESET ALL).
        writer_conn.execute("RESET homevitals.summaries")
        gateway = f"gw-{uuid.uuid4().hex[:8]}"
        # 1. Ten days of morning and evening pairs; the first batch without the setting is
        #    counted by the row trigger, the later ones by ingest's batch statement.
        days = [
            bp(ADDRESS_A, NOW - timedelta(days=d, hours=h, minutes=m), 120 + d + m, 80 + d, 60 + m)
            for d in range(10)
            for h in (2, 12)
            for m in (0, 2)
        ]
        first = writer.write([envelope(gateway, days[:8], 1)])
        second = writer.write([envelope(gateway, days[8:], 2)])
        assert (first.stored, second.stored) == (8, 32)
        check("ten days")

        # 2. Duplicates (a whole batch again, and one reading twice in a batch) count once.
        again = writer.write([envelope(gateway, days[:20], 3), envelope(gateway, [days[30], days[30]], 4)])
        assert (again.stored, again.duplicates) == (0, 22)
        check("duplicates")

        # 3. Late and back-filled: a month-old backlog, a reading inside the 7-day window's
        #    first (partial) local day, one implausible and one with its clock in the future.
        backlog = [bp(ADDRESS_A, NOW - timedelta(days=30 + d, hours=3), 150, 95) for d in range(5)]
        edge = [
            bp(ADDRESS_A, NOW - timedelta(days=7) + timedelta(minutes=30), 170, 105),
            bp(ADDRESS_A, NOW - timedelta(days=7) - timedelta(minutes=30), 99, 61),
        ]
        odd = [
            bp(ADDRESS_A, NOW - timedelta(hours=1), 400, 82),  # implausible systolic
            bp(ADDRESS_A, NOW + timedelta(days=2), 131, 83),  # clock far ahead: flagged
            bp(ADDRESS_A, NOW + timedelta(minutes=3), 127, 81),  # a little ahead: not flagged
        ]
        late = writer.write([envelope(gateway, backlog + edge + odd, 5)])
        assert (late.stored, late.implausible, late.clock_in_future) == (10, 1, 1)
        check("late, back-filled, implausible, future")

        # 4. A device nobody is assigned to, then assigned to Anna from a date, and its
        #    readings with it (the API's SQL function).
        unassigned = [bp(ADDRESS_B, NOW - timedelta(days=d, hours=4), 140 - d, 90) for d in range(6)]
        assert writer.write([envelope(gateway, unassigned, 6)]).unassigned == 6
        device_b = conn.execute("SELECT id FROM devices WHERE address = %s", (ADDRESS_B,)).fetchone()[0]  # type: ignore[index]
        assignment_b = insert_assignment(conn, device_b, anna, start=NOW - timedelta(days=3, hours=12))
        assigned = conn.execute("SELECT assign_unassigned_readings(%s)", (assignment_b,)).fetchone()
        assert assigned == (4,)
        check("re-assignment")

        # 5. Karen's assignment ends two days ago (the API's end-assignment statements).
        ended_at = NOW - timedelta(days=2)
        with conn.transaction():
            conn.execute(
                "UPDATE device_assignments SET valid = tstzrange(lower(valid), %s) WHERE id = %s",
                (ended_at, assignment_a),
            )
            detached = conn.execute(
                "UPDATE readings SET citizen_id = NULL, assignment_id = NULL "
                "WHERE assignment_id = %s AND measured_at >= %s",
                (assignment_a, ended_at),
            )
        assert detached.rowcount == 11  # 2 days x 4, the implausible one and the two future ones
        check("assignment ended")

        # 6. Deleted readings: Karen's newest remaining one and a whole day of hers.
        deleted = conn.execute(
            "DELETE FROM readings WHERE citizen_id = %s AND measured_at IN "
            "(SELECT max(measured_at) FROM readings WHERE citizen_id = %s "
            " UNION SELECT measured_at FROM readings WHERE citizen_id = %s "
            "   AND measured_at BETWEEN %s AND %s)",
            (karen, karen, karen, NOW - timedelta(days=5, hours=13), NOW - timedelta(days=5)),
        )
        assert deleted.rowcount == 5
        check("deleted")

        # 7. And ingest keeps going on its batched path afterwards.
        more = writer.write([envelope(gateway, [bp(ADDRESS_B, NOW - timedelta(minutes=20), 133, 86)], 7)])
        assert more.stored == 1
        check("after")
        writer_conn.close()

        totals = conn.execute(
            "SELECT citizen_id, sum(readings)::int, sum(valid)::int FROM daily_summaries "
            "GROUP BY 1 ORDER BY 1"
        ).fetchall()
        # Karen: 40 + 5 + 2 + 2 stored, 10 detached, 5 deleted; Anna: 4 assigned + 1.
        assert totals == [(karen, 34, 34), (anna, 5, 5)]


def test_a_timezone_change_moves_the_citizens_days(db_dsn):
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        citizen = insert_citizen(conn, "Ole", "X")
        insert_assignment(conn, insert_device(conn, ADDRESS_A), citizen)  # from 2026-01-01
        writer = BatchWriter(conn)
        # 23:30 UTC: the next day in Copenhagen, the same day in Reykjavik.
        at = datetime(2026, 3, 10, 23, 30, tzinfo=UTC)
        writer.write([envelope("gw-tz-test", [bp(ADDRESS_A, at, 125, 80)], 1)])
        assert conn.execute("SELECT local_date::text FROM daily_summaries").fetchall() == [("2026-03-11",)]
        conn.execute("UPDATE citizens SET timezone = 'Atlantic/Reykjavik' WHERE id = %s", (citizen,))
        assert conn.execute("SELECT local_date::text FROM daily_summaries").fetchall() == [("2026-03-10",)]
        assert summary_differences(conn, [citizen]) == []


def test_a_new_writers_first_batch_is_counted_once_by_the_batch_statement(db_dsn):
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        citizen = insert_citizen(conn, "Bo", "X")
        insert_assignment(conn, insert_device(conn, ADDRESS_A), citizen, start=NOW - timedelta(days=3))
        writer = BatchWriter(conn)
        assert conn.execute("SELECT current_setting('homevitals.summaries', true)").fetchone() == ("batched",)
        readings = [bp(ADDRESS_A, NOW - timedelta(hours=h), 120 + h, 80) for h in range(3)]
        assert writer.write([envelope("gw-first-batch", readings, 1)]).stored == 3
        assert conn.execute("SELECT sum(readings) FROM daily_summaries").fetchone() == (3,)
        assert summary_differences(conn, [citizen]) == []
