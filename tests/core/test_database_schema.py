"""The schema from migration 0001 on a real TimescaleDB (issue: Foundation)."""

from __future__ import annotations

import subprocess
import uuid
from datetime import UTC, datetime

import psycopg
import pytest
from psycopg import errors

from database.migrate import head_revision, migrate
from tests.support.factories import insert_assignment, insert_citizen, insert_device

pytestmark = pytest.mark.integration

JAN, JUN = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC)


def _citizen_and_device(conn: psycopg.Connection) -> tuple[int, int]:
    return insert_citizen(conn, cpr="010150-1234"), insert_device(conn, "A4:C1:38:00:11:22")


def test_migrate_twice_is_a_noop_and_readings_is_a_hypertable(postgres_server, repo_root):
    postgres_server.execute("postgres", "CREATE DATABASE migrate_twice")
    dsn = postgres_server.dsn_for("migrate_twice")
    cli = [str(repo_root / ".venv/bin/homevitals"), "db", "migrate", "--dsn", dsn]
    first = subprocess.run(cli, capture_output=True, text=True, check=True)
    second = subprocess.run(cli, capture_output=True, text=True, check=True)
    assert f"migrated to {head_revision()}" in first.stdout
    assert "nothing to do" in second.stdout
    assert migrate(dsn) == []
    with psycopg.connect(dsn) as conn:
        names = [r[0] for r in conn.execute(
            "SELECT hypertable_name FROM timescaledb_information.hypertables")]
        version = conn.execute("SELECT version_num FROM alembic_version").fetchall()
    assert names == ["readings"]
    assert version == [(head_revision(),)]


def test_overlapping_assignments_are_rejected_with_the_conflict_named(db_dsn):
    with psycopg.connect(db_dsn) as conn:
        citizen, device = _citizen_and_device(conn)
        insert_assignment(conn, device, citizen, start=JAN, end=JUN)
        # Another slot on the same device, and the same slot later, are both fine.
        insert_assignment(conn, device, citizen, slot=2, start=JAN)
        insert_assignment(conn, device, citizen, start=JUN)
        with pytest.raises(errors.ExclusionViolation) as caught:
            insert_assignment(conn, device, citizen, start=datetime(2026, 3, 1, tzinfo=UTC),
                              end=datetime(2026, 4, 1, tzinfo=UTC))
    message = str(caught.value)
    assert "device_assignments_no_overlap" in message
    assert "conflicts with existing key" in message


def test_audit_log_rejects_update_delete_and_truncate(db_dsn):
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO audit_log (actor, role, action, resource) VALUES ('nurse1', 'caregiver', 'read', 'readings')")
        for statement in ("UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log", "TRUNCATE audit_log"):
            with pytest.raises(errors.InsufficientPrivilege, match="append-only"):
                conn.execute(statement)
        assert conn.execute("SELECT count(*), min(actor) FROM audit_log").fetchone() == (1, "nurse1")


def _login_role(conn: psycopg.Connection, group: str) -> str:
    user = f"{group}_login_{uuid.uuid4().hex[:6]}"
    conn.execute(f"CREATE ROLE {user} LOGIN IN ROLE {group}")
    return user


def test_grafana_role_is_read_only_and_sees_no_identifiers(db_dsn, postgres_server):
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        _citizen_and_device(conn)
        user = _login_role(conn, "homevitals_grafana")
    database = db_dsn.rsplit("/", 1)[1]
    with psycopg.connect(postgres_server.dsn_for(database, user=user), autocommit=True) as conn:
        rows = conn.execute("SELECT * FROM grafana.citizens").fetchall()
        columns = [c.name for c in conn.execute("SELECT * FROM grafana.citizens LIMIT 0").description]
        assert rows and rows[0][1] == "Karen H."
        assert not {"cpr", "family_name", "birth_date", "given_name"} & set(columns)
        for statement in (
            "SELECT cpr FROM citizens",
            "SELECT * FROM readings",
            "SELECT payload FROM dead_letters",
            "INSERT INTO audit_log (actor, role, action, resource) VALUES ('g', 'g', 'g', 'g')",
            "UPDATE grafana.citizens SET care_team = 'x'",
            "DELETE FROM grafana.alerts",
            "CREATE TABLE grafana.sneaky (x int)",
        ):
            with pytest.raises(errors.InsufficientPrivilege):
                conn.execute(statement)
        dead_letter_columns = [c.name for c in conn.execute(
            "SELECT * FROM grafana.dead_letters LIMIT 0").description]
        assert "payload" not in dead_letter_columns


def test_thresholds_must_be_ordered(db_dsn):
    with psycopg.connect(db_dsn) as conn:
        citizen, _ = _citizen_and_device(conn)
        with pytest.raises(errors.CheckViolation):
            conn.execute(
                "INSERT INTO thresholds (citizen_id, metric, alert_low, warn_low, warn_high, alert_high) "
                "VALUES (%s, 'systolic', 100, 90, 135, 160)", (citizen,))


def test_one_unresolved_alert_per_citizen_metric_and_level(db_dsn):
    with psycopg.connect(db_dsn) as conn:
        citizen, _ = _citizen_and_device(conn)
        insert = ("INSERT INTO alerts (citizen_id, metric, level, message) "
                  "VALUES (%s, 'systolic', 'alert', 'high') ON CONFLICT DO NOTHING RETURNING id")
        assert conn.execute(insert, (citizen,)).fetchone() is not None
        assert conn.execute(insert, (citizen,)).fetchone() is None
        conn.execute("UPDATE alerts SET state = 'resolved', resolved_at = now(), resolved_by = 'n'")
        assert conn.execute(insert, (citizen,)).fetchone() is not None


def test_apache_edition_features_work(db_dsn):
    with psycopg.connect(db_dsn) as conn:
        _, device = _citizen_and_device(conn)
        conn.execute(
            "INSERT INTO readings (measured_at, reading_id, kind, device_id, gateway_id, gateway_time, "
            "time_source, unit, systolic, \"values\", raw_uuid, raw) VALUES "
            "('2026-01-05T08:00Z', gen_random_uuid(), 'blood_pressure', %s, 'gw-0001', now(), "
            "'gateway', 'mmHg', 120, '{}', '2a35', '\\x00')", (device,))
        bucket = conn.execute(
            "SELECT time_bucket('1 day', measured_at), avg(systolic) FROM readings GROUP BY 1").fetchall()
        assert len(bucket) == 1 and bucket[0][1] == 120
        dropped = conn.execute("SELECT drop_chunks('readings', older_than => now())").fetchall()
        assert len(dropped) == 1
