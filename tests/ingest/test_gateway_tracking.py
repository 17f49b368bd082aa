"""Gateway last_seen and batch_seq marks: one lock and one update per gateway and batch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from homevitals.contract import readings_topic
from ingest.envelope import Envelope
from ingest.validation import ValidBatch, validate_message
from ingest.writer import BatchWriter, WriteResult
from tests.ingest.helpers import batch, encode, reading

pytestmark = pytest.mark.integration

ADDRESS = "A4:C1:38:00:CC:03"
GATEWAY = "gw-track-a"
MARK = "SELECT last_batch_seq, last_seen FROM gateways WHERE gateway_id = %s"


def envelope(seq: int) -> Envelope:
    topic = readings_topic(GATEWAY)
    payload = encode(batch(GATEWAY, [reading(address=ADDRESS, measured_at=datetime.now(UTC))], batch_seq=seq))
    outcome = validate_message(
        topic, payload, now=datetime.now(UTC), future_tolerance=timedelta(minutes=5), max_payload_bytes=1 << 20
    )
    assert isinstance(outcome, ValidBatch)
    return Envelope(topic, payload, outcome)


def test_marks_rise_stay_on_late_batches_and_a_gateway_missing_from_the_lock_is_created(db_dsn):
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        writer = BatchWriter(conn)
        # Straight to _track_gateways, without _INSERT_NEW_GATEWAYS before it: the lock query
        # finds no row, and the fallback creates the gateway with its mark.
        first = WriteResult()
        with conn.transaction():
            batches = [envelope(s).outcome for s in (5, 6)]
            writer._track_gateways([b for b in batches if isinstance(b, ValidBatch)], first)
        assert first.gaps == []
        assert conn.execute(MARK, (GATEWAY,)).fetchone()[0] == 6

        jump = writer.write([envelope(9)])
        assert [(g.expected_seq, g.received_seq) for g in jump.gaps] == [(7, 9)]
        seq, seen_before = conn.execute(MARK, (GATEWAY,)).fetchone()
        assert seq == 9

        late = writer.write([envelope(7)])  # below the mark: fills the gap, the mark stays
        assert late.gaps == [] and late.late_filled == 1
        seq, seen = conn.execute(MARK, (GATEWAY,)).fetchone()
        assert seq == 9 and seen > seen_before
