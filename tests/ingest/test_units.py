"""Pure parts of ingest: alert classification, gap detection, the buffer, error mapping."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from psycopg import errors

from ingest.alerts import Level, StoredReading, Thresholds, alert_candidates, classify
from ingest.buffer import InflightBuffer
from ingest.envelope import Envelope
from ingest.errors import BatchRejected, DatabaseMisconfigured, DatabaseUnavailable, TransactionConflict
from ingest.validation import Rejection, RejectReason, ValidBatch
from ingest.writer import classify_database_error, detect_gaps

SYSTOLIC = Thresholds(alert_low=90, warn_low=100, warn_high=135, alert_high=160)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (120, None),
        (100, None),  # the lower warning limit itself is still normal
        (134.9, None),
        (135, (Level.WARNING, "high")),  # ESH: home BP of 135 or more is raised
        (159.9, (Level.WARNING, "high")),
        (160, (Level.ALERT, "high")),
        (99.9, (Level.WARNING, "low")),
        (90, (Level.WARNING, "low")),
        (89.9, (Level.ALERT, "low")),
    ],
)
def test_classification_matches_the_dashboards_boundaries(value, expected):
    breach = classify(value, SYSTOLIC)
    assert (None if breach is None else (breach.level, breach.direction)) == expected


def _stored(citizen: int, minutes: int, **columns: float | None) -> StoredReading:
    return StoredReading(
        reading_id=f"r{citizen}-{minutes}",
        citizen_id=citizen,
        kind="blood_pressure",
        measured_at=datetime(2026, 11, 1, tzinfo=UTC) + timedelta(minutes=minutes),
        columns={"systolic": None, "diastolic": None, "pulse_rate": None, "value": None, **columns},
    )


def test_one_candidate_per_citizen_metric_and_level_the_earliest_reading():
    thresholds = {
        (1, "systolic"): SYSTOLIC,
        (1, "pulse_rate"): Thresholds(40, 50, 100, 120),
        (2, "systolic"): SYSTOLIC,
    }
    readings = [
        _stored(1, 10, systolic=170),
        _stored(1, 5, systolic=165, pulse_rate=130),
        _stored(1, 7, systolic=140),
        _stored(2, 1, systolic=120),
        _stored(3, 1, systolic=200),  # no thresholds known for citizen 3
    ]
    candidates = alert_candidates(readings, thresholds)
    assert [(c.citizen_id, c.metric, c.level, c.reading_id) for c in candidates] == [
        (1, "pulse_rate", Level.ALERT, "r1-5"),
        (1, "systolic", Level.ALERT, "r1-5"),
        (1, "systolic", Level.WARNING, "r1-7"),
    ]
    assert candidates[1].message == "systolic 165 mmHg is at or above the alert limit 160"


@pytest.mark.parametrize(
    ("last", "seqs", "expected"),
    [
        (None, [5, 6, 7], (7, [], [])),  # first contact: nothing to compare with
        (4, [5, 6], (6, [], [])),
        (4, [9, 5], (9, [(6, 9)], [])),  # 6, 7, 8 missing; order inside a batch does not matter
        (9, [7, 9, 10], (10, [], [7, 9])),  # at or below the mark: redelivery or late
        (3, [6, 8, 8], (8, [(4, 6), (7, 8)], [])),
    ],
)
def test_gap_detection(last, seqs, expected):
    assert detect_gaps(last, seqs) == expected


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (errors.UniqueViolation("dup"), BatchRejected),
        (errors.NumericValueOutOfRange("overflow"), BatchRejected),
        (errors.CheckViolation("check"), BatchRejected),
        (errors.DeadlockDetected("deadlock"), TransactionConflict),
        (errors.SerializationFailure("serialization"), TransactionConflict),
        (errors.InsufficientPrivilege("permission denied"), DatabaseMisconfigured),
        (errors.UndefinedTable("no table"), DatabaseMisconfigured),
        (errors.AdminShutdown("terminating connection"), DatabaseUnavailable),
        (psycopg.OperationalError("connection refused"), DatabaseUnavailable),
        (psycopg.InterfaceError("connection already closed"), DatabaseUnavailable),
    ],
)
def test_database_errors_map_to_what_the_worker_does(error, kind):
    assert isinstance(classify_database_error(error), kind)


def _envelope(readings: int, size: int = 10) -> Envelope:
    outcome = (
        ValidBatch("gw-0001", 1, [None] * readings)  # type: ignore[list-item]
        if readings
        else Rejection(RejectReason.INVALID_JSON, "x", None)
    )
    return Envelope("t", b"x" * size, outcome, mid=1, received_monotonic=time.monotonic())


def test_the_buffer_hands_out_full_batches_at_once_and_partial_ones_after_the_wait():
    buffer = InflightBuffer(max_messages=100, max_bytes=10_000, batch_readings=10, batch_wait_s=0.2)
    stop = threading.Event()
    for _ in range(3):
        buffer.put(_envelope(4))
    started = time.monotonic()
    first = buffer.take(stop)
    assert [e.reading_count for e in first] == [4, 4] and time.monotonic() - started < 0.1
    second = buffer.take(stop)
    assert [e.reading_count for e in second] == [4] and time.monotonic() - started >= 0.15
    buffer.put(_envelope(25))  # larger than a batch: still handed out, alone
    assert [e.reading_count for e in buffer.take(stop)] == [25]


def test_the_buffer_counts_outstanding_until_released_and_flushes_on_request():
    buffer = InflightBuffer(max_messages=3, max_bytes=1_000, batch_readings=100, batch_wait_s=60)
    stop = threading.Event()
    for _ in range(3):
        buffer.put(_envelope(0, size=100))
    assert not buffer.has_room()
    buffer.flush_all()
    batch = buffer.take(stop)
    assert len(batch) == 3 and not buffer.has_room()  # taken is not yet committed
    buffer.release(batch)
    assert buffer.has_room() and buffer.outstanding == 0
    stop.set()
    assert buffer.take(stop) == []
