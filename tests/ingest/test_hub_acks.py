"""Hub commit acknowledgements: what ingest owes a gateway after the commit (docs/contract.md).

Unit: :mod:`ingest.hub_acks` maps committed envelopes to acks. Integration: a real worker,
real Mosquitto and TimescaleDB; a subscriber on the gateway's acks topic sees each ack only
once the rows are in the database.
"""

from __future__ import annotations

import json
import queue
import time
import uuid
from datetime import UTC, datetime, timedelta

import paho.mqtt.client as mqtt
import psycopg
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from homevitals.contract import readings_topic
from homevitals.contract.acks import AckOutcome, HubAck, acks_topic
from ingest.envelope import Envelope
from ingest.hub_acks import acks_for, batch_identity
from ingest.validation import validate_message
from tests.ingest.helpers import batch, encode, reading, settings_for, unique_gateway
from tests.support.database import count, wait_for_count

NOW = datetime(2026, 11, 29, 10, 0, 3, tzinfo=UTC)


def _envelope(topic: str, payload: bytes) -> Envelope:
    outcome = validate_message(
        topic, payload, now=datetime.now(UTC), future_tolerance=timedelta(minutes=5), max_payload_bytes=1 << 20
    )
    return Envelope(topic=topic, payload=payload, outcome=outcome, mid=1)


@pytest.mark.unit
def test_a_valid_batch_is_acked_committed_with_all_its_reading_ids():
    gateway = unique_gateway()
    first, second = reading(), reading()
    message = batch(gateway, [first, second, first], batch_seq=7)  # a repeat inside: still committed
    [ack] = acks_for([_envelope(readings_topic(gateway), encode(message))], acked_at=NOW)
    assert ack.topic == f"homevitals/v1/gateways/{gateway}/acks"
    body = json.loads(ack.payload)
    assert body == {
        "schema": "homevitals.acks.v1",
        "gateway_id": gateway,
        "batch_seq": 7,
        "outcome": "committed",
        "reading_ids": [first["reading_id"], second["reading_id"], first["reading_id"]],
        "reason": None,
        "detail": None,
        "acked_at": "2026-11-29T10:00:03Z",
    }


@pytest.mark.unit
def test_the_hot_path_committed_ack_is_byte_for_byte_the_validated_one():
    gateway = unique_gateway()
    readings = [reading() for _ in range(3)]
    envelope = _envelope(readings_topic(gateway), encode(batch(gateway, readings, batch_seq=2**40)))
    acked_at = datetime(2026, 11, 29, 10, 0, 3, 120456, tzinfo=UTC)
    [fast] = acks_for([envelope], acked_at=acked_at)
    validated = HubAck.build(
        gateway_id=gateway,
        batch_seq=2**40,
        outcome=AckOutcome.COMMITTED,
        reading_ids=[r["reading_id"] for r in readings],
        acked_at=acked_at,
    )
    assert fast.payload == validated.to_json_bytes()
    assert HubAck.model_validate_json(fast.payload) == validated


@pytest.mark.unit
def test_a_dead_lettered_batch_is_acked_to_the_topics_gateway_with_the_reason():
    gateway, impostor = unique_gateway(), unique_gateway()
    claimed = batch(impostor, [reading()], batch_seq=3)  # the payload speaks for another gateway
    [ack] = acks_for([_envelope(readings_topic(gateway), encode(claimed))], acked_at=NOW)
    parsed = HubAck.model_validate_json(ack.payload)
    assert (ack.topic, parsed.gateway_id, parsed.outcome, parsed.reason) == (
        acks_topic(gateway), gateway, AckOutcome.DEAD_LETTERED, "gateway_mismatch"
    )
    assert parsed.covers([claimed["readings"][0]["reading_id"]])


@pytest.mark.unit
def test_no_ack_for_status_or_for_a_batch_whose_identity_is_unreadable():
    gateway = unique_gateway()
    status = _envelope(f"homevitals/v1/gateways/{gateway}/status", b'{"state":"online"}')
    truncated = _envelope(readings_topic(gateway), b'{"schema": "homevitals.readings.v1", "batch_seq": 4')
    assert acks_for([status, truncated], acked_at=NOW) == []


@pytest.mark.unit
@pytest.mark.parametrize(
    "payload",
    [
        b"[]",
        b'"text"',
        b'{"batch_seq": true, "readings": [{"reading_id": "5f0c6d1e-7c1a-5b0e-9a57-1f1e2d3c4b5a"}]}',
        b'{"batch_seq": -1, "readings": [{"reading_id": "5f0c6d1e-7c1a-5b0e-9a57-1f1e2d3c4b5a"}]}',
        b'{"batch_seq": 1, "readings": []}',
        b'{"batch_seq": 1, "readings": [{"reading_id": 5}]}',
        b'{"batch_seq": 1, "readings": [{"reading_id": "nope"}]}',
        b'{"batch_seq": 1, "readings": ["5f0c6d1e-7c1a-5b0e-9a57-1f1e2d3c4b5a"]}',
        b"\xff\xfe",
    ],
)
def test_batch_identity_needs_an_intact_batch_seq_and_reading_ids(payload):
    assert batch_identity(payload) is None


@pytest.mark.unit
def test_batch_identity_reads_a_schema_violating_batch():
    payload = b'{"batch_seq": 12, "readings": [{"reading_id": "5f0c6d1e-7c1a-5b0e-9a57-1f1e2d3c4b5a", "x": 1}]}'
    assert batch_identity(payload) == (12, [uuid.UUID("5f0c6d1e-7c1a-5b0e-9a57-1f1e2d3c4b5a")])


class _AckListener:
    """A gateway's view: subscribed to its own acks topic, records every ack it gets."""

    def __init__(self, port: int, gateway_id: str) -> None:
        self.acks: queue.Queue[HubAck] = queue.Queue()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"acks-{uuid.uuid4().hex[:8]}")
        self.client.on_message = lambda _c, _u, message: self.acks.put(HubAck.model_validate_json(message.payload))
        self.client.connect("127.0.0.1", port)
        result, mid = self.client.subscribe(acks_topic(gateway_id), qos=1)
        assert result == mqtt.MQTT_ERR_SUCCESS and mid
        self.client.loop_start()

    def next(self, timeout: float = 20) -> HubAck:
        return self.acks.get(timeout=timeout)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.mark.integration
def test_the_ack_follows_the_commit_and_a_resend_is_acked_again_without_a_second_row(
    db_dsn, mosquitto, publisher, start_service
):
    gateway = unique_gateway()
    listener = _AckListener(mosquitto.port, gateway)
    try:
        start_service(settings_for(db_dsn, mosquitto.port))
        time.sleep(0.3)  # the listener's SUBSCRIBE is through
        r = reading()
        message = batch(gateway, [r], batch_seq=1)
        publisher.readings(message)
        ack = listener.next()
        # The row is there when the ack arrives: the ack was published after the commit.
        assert count(db_dsn, "SELECT count(*) FROM readings WHERE reading_id = %s", r["reading_id"]) == 1
        assert (ack.batch_seq, ack.outcome, ack.covers([r["reading_id"]])) == (1, AckOutcome.COMMITTED, True)

        publisher.readings(message)  # the gateway's re-send after a lost ack
        again = listener.next()
        assert (again.batch_seq, again.outcome) == (1, AckOutcome.COMMITTED)
        assert count(db_dsn, "SELECT count(*) FROM readings WHERE reading_id = %s", r["reading_id"]) == 1

        broken = batch(gateway, [reading()], batch_seq=2)
        broken["readings"][0]["values"]["systolic"] = "high"
        publisher.readings(broken)
        refused = listener.next()
        assert (refused.batch_seq, refused.outcome, refused.reason) == (
            2, AckOutcome.DEAD_LETTERED, "schema_violation"
        )
        with psycopg.connect(db_dsn) as conn:
            reasons = conn.execute("SELECT reason FROM dead_letters WHERE gateway_id = %s", (gateway,)).fetchall()
        assert reasons == [("schema_violation",)]
    finally:
        listener.close()


@pytest.mark.integration
def test_no_acks_when_switched_off(db_dsn, mosquitto, publisher, start_service):
    gateway = unique_gateway()
    listener = _AckListener(mosquitto.port, gateway)
    try:
        start_service(settings_for(db_dsn, mosquitto.port, hub_acks=False))
        r = reading()
        publisher.readings(batch(gateway, [r], batch_seq=1))
        publisher.readings(batch(gateway, [reading()], batch_seq=2))
        wait_for_count(db_dsn, "SELECT count(*) FROM readings", 2)
        with pytest.raises(queue.Empty):
            listener.next(timeout=1.0)
    finally:
        listener.close()
