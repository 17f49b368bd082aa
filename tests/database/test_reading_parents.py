"""Migration 0010: readings' parents are guaranteed per batch, not by per-row foreign keys.

On a real TimescaleDB: a device, citizen or assignment that readings point to can't be deleted
(or re-keyed, or truncated), with the foreign key's own error; no writer (ingest, the API's
and seeds' plain INSERT/UPDATE, COPY) can make a reading point at a missing parent; a delete
racing an ingest transaction waits for it and then refuses; and down→up restores the
foreign keys and then the guards, with the data kept.
"""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from psycopg import errors as pg

from database.migrate import current_revision, downgrade, upgrade
from homevitals.contract import readings_topic
from ingest.envelope import Envelope
from ingest.validation import validate_message
from ingest.write_strategy import PARENTS_SETTING
from ingest.writer import BatchWriter
from tests.ingest.helpers import batch, encode, reading
from tests.support.database import fresh_database
from tests.support.factories import insert_assignment, insert_citizen, insert_device
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration

GATEWAY = "gw-parents"
NOW = datetime.now(UTC).replace(microsecond=0)

# Any writer's INSERT: the API's and the seeds' shape (tests/api/api_support.py).
_PLAIN_INSERT = (
    "INSERT INTO readings (measured_at, reading_id, kind, device_id, citizen_id, assignment_id, gateway_id, "
    "gateway_time, time_source, unit, systolic, \"values\", raw_uuid, raw) VALUES "
    "(now() - interval '1 hour', gen_random_uuid(), 'blood_pressure', %s, %s, %s, %s, now(), "
    "'gateway', 'mmHg', 120, '{}', '2a35', '\\x00')"
)
_ORPHANS = """
SELECT count(*) FROM readings r
WHERE NOT EXISTS (SELECT 1 FROM devices d WHERE d.id = r.device_id)
   OR (r.citizen_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM citizens c WHERE c.id = r.citizen_id))
   OR (r.assignment_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM device_assignments a WHERE a.id = r.assignment_id))
"""


def _address() -> str:
    tail = uuid.uuid4().hex[:6].upper()
    return f"A4:C1:38:{tail[0:2]}:{tail[2:4]}:{tail[4:6]}"


def ingest(dsn: str, address: str, count: int = 3) -> tuple[int, list[tuple[Any, ...]]]:
    """Write ``count`` readings of ``address`` through ingest's writer; the stored rows' parents."""
    topic = readings_topic(GATEWAY)
    readings = [reading(address=address, measured_at=NOW - timedelta(minutes=10 + i)) for i in range(count)]
    payload = encode(batch(GATEWAY, readings, batch_seq=int(uuid.uuid4().int % 1_000_000) + 1))
    outcome = validate_message(topic, payload, now=datetime.now(UTC), future_tolerance=timedelta(minutes=5),
                               max_payload_bytes=1 << 20)
    with psycopg.connect(dsn, autocommit=True) as conn:
        writer = BatchWriter(conn)
        setting = conn.execute("SELECT current_setting(%s, true)", (PARENTS_SETTING,)).fetchone()
        assert setting == ("batched",), "ingest's connection checks parents per batch, not per row"
        stored = writer.write([Envelope(topic, payload, outcome)]).stored
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT r.device_id, r.citizen_id, r.assignment_id FROM readings r JOIN devices d ON d.id = r.device_id "
            "WHERE d.address = %s", (address,)
        ).fetchall()
    return stored, rows


@pytest.fixture
def attributed(db_dsn: str) -> dict[str, int]:
    """A citizen with an assigned monitor and three readings that ingest stored and attributed."""
    address = _address()
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        citizen = insert_citizen(conn)
        device = insert_device(conn, address)
        assignment = insert_assignment(conn, device, citizen, start=NOW - timedelta(days=7))
    stored, rows = ingest(db_dsn, address)
    assert stored == 3
    assert set(rows) == {(device, citizen, assignment)}
    return {"citizen": citizen, "device": device, "assignment": assignment}


@pytest.mark.parametrize(
    ("table", "key"), [("devices", "device"), ("device_assignments", "assignment")]
)
def test_deleting_or_rekeying_a_referenced_parent_is_refused_as_the_foreign_key_did(db_dsn, attributed, table, key):
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        with pytest.raises(pg.ForeignKeyViolation) as deleting:
            conn.execute(f"DELETE FROM {table} WHERE id = %s", (attributed[key],))
        with pytest.raises(pg.ForeignKeyViolation) as rekeying:
            conn.execute(f"UPDATE {table} SET id = DEFAULT WHERE id = %s", (attributed[key],))
        assert conn.execute(f"SELECT count(*) FROM {table} WHERE id = %s", (attributed[key],)).fetchone() == (1,)
    for error in (deleting.value, rekeying.value):
        assert error.diag.message_detail == f'Key (id)=({attributed[key]}) is still referenced from table "readings".'
        assert error.diag.table_name == "readings"


def test_a_citizen_with_readings_but_no_assignment_left_is_kept(db_dsn, attributed):
    """The readings' own reference holds the citizen (the assignment's foreign key is gone with it)."""
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        conn.execute("UPDATE readings SET assignment_id = NULL WHERE assignment_id = %s", (attributed["assignment"],))
        conn.execute("DELETE FROM device_assignments WHERE id = %s", (attributed["assignment"],))
        with pytest.raises(pg.ForeignKeyViolation) as refused:
            conn.execute("DELETE FROM citizens WHERE id = %s", (attributed["citizen"],))
    assert refused.value.diag.message_detail == (
        f'Key (id)=({attributed["citizen"]}) is still referenced from table "readings".'
    )


def test_unreferenced_parents_can_still_be_deleted_and_changed(db_dsn):
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        citizen = insert_citizen(conn)
        device = insert_device(conn, _address())
        assignment = insert_assignment(conn, device, citizen)
        conn.execute("UPDATE devices SET model = 'other' WHERE id = %s", (device,))  # no id change: no check
        conn.execute("DELETE FROM device_assignments WHERE id = %s", (assignment,))
        conn.execute("DELETE FROM devices WHERE id = %s", (device,))
        conn.execute("DELETE FROM citizens WHERE id = %s", (citizen,))
        assert conn.execute("SELECT count(*) FROM citizens WHERE id = %s", (citizen,)).fetchone() == (0,)


def test_truncating_a_parent_of_stored_readings_is_refused(db_dsn, attributed):
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        for table in ("devices", "citizens", "device_assignments"):
            with pytest.raises(psycopg.Error, match=f'cannot truncate table "{table}"|referenced'):
                conn.execute(f"TRUNCATE {table} CASCADE")
        assert conn.execute("SELECT count(*) FROM readings").fetchone() == (3,)


@pytest.mark.parametrize("missing", ["device", "citizen", "assignment"])
def test_no_plain_writer_can_point_a_reading_at_a_missing_parent(db_dsn, attributed, missing):
    parents = {**attributed, missing: 987_654_321}
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        with pytest.raises(pg.ForeignKeyViolation, match=f"readings_{missing}_id_fkey"):
            conn.execute(_PLAIN_INSERT, (parents["device"], parents["citizen"], parents["assignment"], GATEWAY))
        with pytest.raises(pg.ForeignKeyViolation, match=f"readings_{missing}_id_fkey"):
            conn.execute(f"UPDATE readings SET {missing}_id = %s", (987_654_321,))
        copy_row = (NOW, uuid.uuid4(), "blood_pressure", parents["device"], parents["citizen"],
                    parents["assignment"], GATEWAY, NOW, "gateway", "mmHg", "{}", "2a35", b"\x00")
        with pytest.raises(pg.ForeignKeyViolation), conn.cursor() as cur, cur.copy(
            "COPY readings (measured_at, reading_id, kind, device_id, citizen_id, assignment_id, gateway_id, "
            'gateway_time, time_source, unit, "values", raw_uuid, raw) FROM STDIN'
        ) as copy:
            copy.write_row(copy_row)
        # A valid row still goes in through the same path, so the refusals above are about the parent.
        conn.execute(_PLAIN_INSERT, (attributed["device"], attributed["citizen"], attributed["assignment"], GATEWAY))
        assert conn.execute(_ORPHANS).fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM readings").fetchone() == (4,)


def test_ingest_creates_the_device_it_points_at_and_leaves_no_orphans(db_dsn):
    address = _address()  # never seen: the batch itself creates the device
    stored, rows = ingest(db_dsn, address, count=5)
    assert stored == 5
    assert len({device for device, _, _ in rows}) == 1
    assert [(citizen, assignment) for _, citizen, assignment in rows] == [(None, None)] * 5
    with psycopg.connect(db_dsn) as conn:
        assert conn.execute(_ORPHANS).fetchone() == (0,)


def test_a_delete_racing_an_ingest_transaction_waits_for_it_and_then_refuses(db_dsn):
    """The SHARE barrier: the row check can't miss readings a writer has not committed yet."""
    address = _address()
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        device = insert_device(conn, address)
    outcome: dict[str, BaseException | None] = {}
    with psycopg.connect(db_dsn) as writer:  # an ingest transaction: per-batch parents, not yet committed
        writer.execute("SELECT set_config(%s, 'batched', true)", (PARENTS_SETTING,))
        writer.execute(_PLAIN_INSERT, (device, None, None, GATEWAY))
        assert writer.execute("SELECT count(*) FROM readings WHERE device_id = %s", (device,)).fetchone() == (1,)

        def delete() -> None:
            try:
                with psycopg.connect(db_dsn, autocommit=True, application_name="parents-deleter") as conn:
                    conn.execute("DELETE FROM devices WHERE id = %s", (device,))
                outcome["error"] = None
            except psycopg.Error as error:
                outcome["error"] = error

        deleter = threading.Thread(target=delete)
        deleter.start()
        with psycopg.connect(db_dsn, autocommit=True) as watcher:
            wait_until(lambda: watcher.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'parents-deleter' "
                "AND wait_event_type = 'Lock'").fetchone() == (1,), 10, "the delete waiting for the writer")
        assert deleter.is_alive()
        writer.commit()
    deleter.join(timeout=10)
    assert isinstance(outcome["error"], pg.ForeignKeyViolation)
    with psycopg.connect(db_dsn) as conn:
        assert conn.execute("SELECT count(*) FROM devices WHERE id = %s", (device,)).fetchone() == (1,)
        assert conn.execute(_ORPHANS).fetchone() == (0,)


def test_downgrade_restores_the_foreign_keys_and_upgrade_the_guards_with_the_data_kept(postgres_server, migrated_template):
    fks = ("SELECT conname FROM pg_constraint WHERE conrelid = 'readings'::regclass AND contype = 'f' "
           "ORDER BY conname")
    guards = ("SELECT count(*) FROM pg_trigger WHERE (tgname LIKE '%%reading_parents%%' OR tgname = 'readings_parents') "
              "AND tgrelid IN ('readings'::regclass, 'devices'::regclass, 'citizens'::regclass, "
              "'device_assignments'::regclass)")
    with fresh_database(postgres_server, "parents") as dsn:
        stored, rows = ingest(dsn, _address())  # a new device: nothing but readings points at it
        assert stored == 3
        device = rows[0][0]
        assert current_revision(dsn) == "0011"
        downgrade(dsn, "0009")
        with psycopg.connect(dsn, autocommit=True) as conn:
            assert [r[0] for r in conn.execute(fks)] == [
                "readings_assignment_id_fkey", "readings_citizen_id_fkey", "readings_device_id_fkey"]
            assert conn.execute(guards).fetchone() == (0,)
            with pytest.raises(pg.ForeignKeyViolation, match="readings_device_id_fkey"):
                conn.execute("DELETE FROM devices WHERE id = %s", (device,))
        upgrade(dsn)
        with psycopg.connect(dsn, autocommit=True) as conn:
            assert [r[0] for r in conn.execute(fks)] == []
            assert conn.execute(guards).fetchone() == (10,)
            assert conn.execute("SELECT count(*) FROM readings").fetchone() == (3,)
            with pytest.raises(pg.ForeignKeyViolation, match="still referenced"):
                conn.execute("DELETE FROM devices WHERE id = %s", (device,))
