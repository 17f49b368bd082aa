"""The SQLite outbox: durability, dedupe, batches, PUBACK deletion, kill -9."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gateway.outbox import AddResult, Outbox
from gateway.readings import DeviceIdentity
from tests.gateway.helpers import bp_reading

pytestmark = pytest.mark.unit


def test_durability_pragmas(outbox: Outbox):
    db = sqlite3.connect(outbox.path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()
    assert outbox._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_add_dedupes_pending_and_delivered(outbox: Outbox):
    reading = bp_reading(121)
    assert outbox.add(reading) is AddResult.STORED
    assert outbox.add(reading) is AddResult.DUPLICATE_PENDING
    assert outbox.depth == 1
    batch = outbox.form_batch(10)
    assert batch is not None
    assert outbox.acknowledge(batch.batch_seq) == 1
    assert outbox.depth == 0
    assert outbox.add(reading) is AddResult.DUPLICATE_DELIVERED
    assert outbox.depth == 0


def test_batches_follow_measurement_order_and_batch_seq_rises(outbox: Outbox):
    now = datetime.now(UTC)
    readings = [bp_reading(100 + i, minutes_ago=age, now=now) for i, age in enumerate([5, 50, 20, 40, 30])]
    for reading in readings:
        outbox.add(reading)
    first = outbox.form_batch(3)
    second = outbox.form_batch(3)
    assert first is not None and second is not None
    assert outbox.form_batch(3) is None
    assert second.batch_seq == first.batch_seq + 1
    measured = [json.loads(r)["measured_at"] for r in (*first.readings_json, *second.readings_json)]
    assert measured == sorted(measured)
    assert [json.loads(r)["values"]["systolic"] for r in first.readings_json] == [101, 103, 104]


def test_unacknowledged_batches_survive_reopen_identically(tmp_path: Path):
    path = tmp_path / "o.sqlite3"
    with Outbox.open(path) as box:
        for i in range(5):
            box.add(bp_reading(110 + i, minutes_ago=i))
        batch = box.form_batch(3)
        assert batch is not None
        body = batch.to_json_bytes("gw-test")
    with Outbox.open(path) as box:
        assert box.depth == 5
        assert box.open_batch_seqs() == [batch.batch_seq]
        again = box.load_batch(batch.batch_seq)
        assert again is not None and again.to_json_bytes("gw-test") == body
        assert box.pending_count() == 2
        assert box.next_batch_seq() == batch.batch_seq + 1
        box.acknowledge(batch.batch_seq)
        nxt = box.form_batch(10)
        assert nxt is not None and nxt.batch_seq == batch.batch_seq + 1


def test_limit_marks_full_but_never_refuses(tmp_path: Path):
    with Outbox.open(tmp_path / "o.sqlite3", limit=3) as box:
        for i in range(5):
            assert box.add(bp_reading(100 + i, minutes_ago=i)) is AddResult.STORED
        assert box.depth == 5
        assert box.is_full


def test_device_state_is_kept(outbox: Outbox):
    assert outbox.last_sequence("aa:bb:cc:dd:ee:ff") is None
    outbox.set_last_sequence("aa:bb:cc:dd:ee:ff", 7)
    outbox.set_last_sequence("AA:BB:CC:DD:EE:FF", 5)  # never moves backwards
    assert outbox.last_sequence("AA:BB:CC:DD:EE:FF") == 7
    identity = DeviceIdentity("AA:BB:CC:DD:EE:FF", manufacturer="Beurer", model="BM54", serial="1",
                              firmware="2.0")
    outbox.store_device_info(identity)
    assert outbox.cached_device_info("aa:bb:cc:dd:ee:ff") == identity
    assert outbox.cached_device_info("AA:BB:CC:DD:EE:FF", max_age=timedelta(seconds=-1)) is None
    outbox.record_malformed("AA:BB:CC:DD:EE:FF", 0x2A35, b"\x1e\x80", "0x2A35: offset 1: expected ...")
    assert outbox.malformed_count() == 1
    assert outbox.malformed()[0]["hex"] == "1e80"


def test_prune_forgets_old_delivered_ids(outbox: Outbox):
    reading = bp_reading()
    outbox.add(reading)
    batch = outbox.form_batch(1)
    assert batch is not None
    outbox.acknowledge(batch.batch_seq)
    assert outbox.prune_delivered(timedelta(days=1)) == 0
    assert outbox.prune_delivered(timedelta(seconds=-1)) == 1
    assert outbox.add(reading) is AddResult.STORED


def test_newer_schema_is_refused(tmp_path: Path):
    path = tmp_path / "o.sqlite3"
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version=99")
    db.close()
    from gateway.errors import OutboxError

    with pytest.raises(OutboxError, match="newer"):
        Outbox.open(path)


def record(line: str, promised: set[str], acked_batches: set[int]) -> None:
    kind, value = line.split()
    if kind == "stored":
        promised.add(value)
    else:
        acked_batches.add(int(value))


@pytest.mark.integration
def test_kill_9_loses_nothing_that_was_promised(tmp_path: Path, repo_root: Path):
    """A process writing and acknowledging is killed with SIGKILL at 3 different moments."""
    path = tmp_path / "outbox.sqlite3"
    promised: set[str] = set()
    acked_batches: set[int] = set()
    env = {**os.environ, "PYTHONPATH": str(repo_root)}
    for stop_after in (25, 180, 333):
        with subprocess.Popen(
            [sys.executable, str(repo_root / "tests/gateway/outbox_writer.py"), str(path)],
            stdout=subprocess.PIPE, cwd=repo_root, env=env, text=True,
        ) as process:
            assert process.stdout is not None
            for lines, line in enumerate(process.stdout, start=1):
                record(line, promised, acked_batches)
                if lines >= stop_after:
                    break
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
            for line in process.stdout:  # whatever it printed before dying was also promised
                record(line, promised, acked_batches)

    with Outbox.open(path) as box:
        assert box.integrity_check() == "ok"
        db = box._db
        kept = {row[0] for row in db.execute("SELECT reading_id FROM readings")}
        delivered = {row[0] for row in db.execute("SELECT reading_id FROM delivered")}
        open_batches = {row[0] for row in db.execute("SELECT batch_seq FROM batches")}
        assert promised <= kept | delivered, f"{len(promised - kept - delivered)} readings lost"
        assert not acked_batches & open_batches
        assert box.depth == len(kept)
        # Every batch still open is complete and re-sendable.
        for batch_seq in open_batches:
            batch = box.load_batch(batch_seq)
            assert batch is not None and batch.readings_json


# A row as gateways before the typed reading stored it (json.dumps, sorted keys), written by
# that version into a schema-1 outbox and still pending when the gateway was upgraded.
OLD_FORMAT_ROW = (
    '{"battery_level":null,"device":{"address":"A4:C1:38:00:11:22","firmware":null,'
    '"manufacturer":"A&D Medical","model":"UA-651BLE","serial":null},"device_time":"2026-11-29T09:48:04",'
    '"gateway_time":"2026-11-29T08:58:04.512000Z","invalid_values":[],"kind":"blood_pressure",'
    '"measured_at":"2026-11-29T08:48:04Z","original_unit":null,'
    '"raw":{"hex":"0e830050005d00ea070b1d0930043d0001","uuid":"2a35"},'
    '"reading_id":"ee77cf0d-5120-568c-8c23-3cbbb4f80761","status":null,"time_source":"device",'
    '"unit":"mmHg","user_id":1,"values":{"diastolic":80.0,"mean_arterial_pressure":93.0,'
    '"pulse_rate":61.0,"systolic":131.0}}'
)


def test_a_row_stored_by_an_older_gateway_is_published_after_the_upgrade(tmp_path: Path):
    from homevitals.contract import ReadingsBatch

    path = tmp_path / "o.sqlite3"
    with Outbox.open(path):
        pass
    db = sqlite3.connect(path)
    db.execute("INSERT INTO readings (reading_id, measured_at, payload, stored_at) VALUES (?, ?, ?, ?)",
               ("ee77cf0d-5120-568c-8c23-3cbbb4f80761", "2026-11-29T08:48:04.000000Z", OLD_FORMAT_ROW,
                "2026-11-29T08:58:04.600000Z"))
    db.commit()
    db.close()
    with Outbox.open(path) as box:
        assert box.add(bp_reading(120)) is AddResult.STORED  # a new-format row beside it
        batch = box.form_batch(10)
        assert batch is not None
        body = batch.to_json_bytes("gw-upgraded")
    parsed = ReadingsBatch.model_validate_json(body)
    old = parsed.readings[0]
    assert str(old.reading_id) == "ee77cf0d-5120-568c-8c23-3cbbb4f80761"
    assert old.values.systolic == 131.0  # type: ignore[union-attr]
    assert batch.readings_json[0] == OLD_FORMAT_ROW  # sent as stored
    assert len(parsed.readings) == 2


def test_a_batch_stops_below_the_contract_message_size(outbox: Outbox):
    # Issue 18: 1,000 readings with long fields made a 1.9 MB message the hub refused.
    now = datetime.now(UTC)
    for i in range(40):
        outbox.add(bp_reading(100 + i, minutes_ago=40 - i, now=now))
    limit = 4096
    sizes, total = [], 0
    while (batch := outbox.form_batch(1000, max_bytes=limit)) is not None:
        message = batch.to_json_bytes("gw-0042")
        assert len(message) <= limit
        sizes.append(len(batch.reading_ids))
        total += len(batch.reading_ids)
        outbox.acknowledge(batch.batch_seq)
    assert total == 40 and len(sizes) > 1  # split, nothing left behind
    assert max(sizes) < 40
