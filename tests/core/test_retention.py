"""``homevitals db retention`` on a real TimescaleDB, readings on both sides of the cut-off."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from typer.testing import CliRunner

from database.cli import app
from database.summaries import summary_differences
from tests.support.factories import insert_assignment, insert_citizen, insert_device

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC).replace(microsecond=0)
CUTOFF = NOW - timedelta(days=3653)
# Far before, just before (in the chunk that holds the cut-off: kept, chunks go whole), after.
OLD = [CUTOFF - timedelta(days=400 + 10 * d) for d in range(6)]
STRADDLING = CUTOFF - timedelta(hours=1)
RECENT = [NOW - timedelta(days=d, hours=2) for d in range(4, 0, -1)]


def _insert(
    conn: psycopg.Connection, citizen: int, device: int, assignment: int, at: datetime, sys_: int
) -> str:
    reading_id = str(uuid.uuid4())
    conn.execute("INSERT INTO reading_ids (reading_id, measured_at) VALUES (%s, %s)", (reading_id, at))
    conn.execute(
        "INSERT INTO readings (measured_at, reading_id, kind, device_id, user_slot, citizen_id, assignment_id, "
        'gateway_id, gateway_time, time_source, unit, systolic, diastolic, pulse_rate, "values", raw_uuid, raw) '
        "VALUES (%s, %s, 'blood_pressure', %s, 1, %s, %s, 'gw-retention', %s, 'device', 'mmHg', %s, 80, 60, "
        "'{}', '2a35', '\\x04')",
        (at, reading_id, device, citizen, assignment, at, sys_),
    )
    return reading_id


@pytest.fixture
def world(db_dsn):
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        citizen = insert_citizen(conn, "Ole", "X")
        device = insert_device(conn, "A4:C1:38:00:00:01")
        assignment = insert_assignment(conn, device, citizen, start=OLD[-1] - timedelta(days=1))
        old_ids = [_insert(conn, citizen, device, assignment, at, 150 + n) for n, at in enumerate(OLD)]
        kept_ids = [
            _insert(conn, citizen, device, assignment, at, 120 + n)
            for n, at in enumerate([STRADDLING, *RECENT])
        ]
        conn.execute(
            "INSERT INTO reading_conflicts (reading_id, gateway_id, batch_seq, stored, arrived) "
            "VALUES (%s, 'gw-retention', 1, '{}', '{}'), (%s, 'gw-retention', 2, '{}', '{}')",
            (old_ids[0], kept_ids[-1]),
        )
        conn.execute(
            "INSERT INTO dead_letters (received_at, topic, reason, detail, payload) VALUES "
            "(%s, 't', 'invalid_json', 'old', '\\x00'), (%s, 't', 'invalid_json', 'new', '\\x00')",
            (CUTOFF - timedelta(days=30), NOW),
        )
    return db_dsn, citizen, old_ids, kept_ids


def _state(conn: psycopg.Connection) -> tuple[int, int, int, int, int]:
    row = conn.execute(
        "SELECT (SELECT count(*) FROM readings), (SELECT count(*) FROM reading_ids), "
        "(SELECT count(*) FROM reading_conflicts), (SELECT count(*) FROM dead_letters), "
        "(SELECT count(*) FROM daily_summaries)"
    ).fetchone()
    assert row is not None
    return row


def test_dry_run_lists_the_old_chunks_and_changes_nothing(world):
    dsn, _citizen, _old, _kept = world
    with psycopg.connect(dsn) as conn:
        before = _state(conn)
    result = CliRunner().invoke(
        app, ["retention", "--dsn", dsn, "--older-than", CUTOFF.isoformat(), "--dry-run"]
    )
    assert result.exit_code == 0, result.output
    assert "6 chunk(s) of readings lie entirely before it" in result.output  # one week each, far apart
    assert result.output.count("_hyper_") == 6
    assert "6 readings in all" in result.output
    assert "dry run: nothing changed" in result.output
    with psycopg.connect(dsn) as conn:
        assert _state(conn) == before


def test_retention_drops_old_readings_with_their_ledger_and_keeps_the_summaries_exact(world):
    dsn, citizen, old_ids, kept_ids = world
    result = CliRunner().invoke(app, ["retention", "--dsn", dsn, "--older-than", "3653d"])
    assert result.exit_code == 0, result.output
    assert (
        "dropped 6 chunk(s): 6 readings with their raw bytes, 6 ledger rows, 1 conflicts; 1 dead letters"
        in (result.output)
    )
    with psycopg.connect(dsn) as conn:
        left = [str(r[0]) for r in conn.execute("SELECT reading_id FROM readings ORDER BY measured_at")]
        assert left == kept_ids  # the one an hour before the cut-off shares a chunk with later ones: kept
        ledger = {str(r[0]) for r in conn.execute("SELECT reading_id FROM reading_ids")}
        assert ledger == set(kept_ids)
        assert [str(r[0]) for r in conn.execute("SELECT reading_id FROM reading_conflicts")] == [kept_ids[-1]]
        assert conn.execute("SELECT detail FROM dead_letters").fetchall() == [("new",)]
        assert summary_differences(conn, [citizen]) == []
        assert conn.execute("SELECT sum(readings)::int FROM daily_summaries").fetchone() == (len(kept_ids),)
        assert set(old_ids).isdisjoint(
            str(r[0]) for r in conn.execute("SELECT valid_reading_id FROM latest_readings")
        )
    again = CliRunner().invoke(app, ["retention", "--dsn", dsn, "--older-than", "3653d"])
    assert again.exit_code == 0, again.output
    assert "dropped 0 chunk(s)" in again.output


def test_the_latest_row_follows_when_all_of_a_citizens_readings_are_dropped(world):
    dsn, citizen, _old, _kept = world
    result = CliRunner().invoke(
        app, ["retention", "--dsn", dsn, "--older-than", (NOW + timedelta(days=30)).isoformat()]
    )
    assert result.exit_code == 0, result.output
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT count(*) FROM readings").fetchone() == (0,)
        assert conn.execute(
            "SELECT count(*) FROM latest_readings WHERE citizen_id = %s", (citizen,)
        ).fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM daily_summaries").fetchone() == (0,)


def test_a_bad_older_than_says_what_it_accepts(db_dsn):
    result = CliRunner().invoke(app, ["retention", "--dsn", db_dsn, "--older-than", "last tuesday"])
    assert result.exit_code == 2
    assert "3650d, 10y" in result.output
