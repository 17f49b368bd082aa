"""The publisher with hub acks against a real Mosquitto and a real ingest worker (in process)
writing to a real TimescaleDB: a batch leaves the outbox only on the hub's ack."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from gateway.ack_tracker import HubAckPolicy
from gateway.outbox import Outbox
from gateway.publisher import MqttConfig, Publisher
from homevitals.mqtt_endpoint import MqttEndpoint
from ingest.service import IngestService
from tests.gateway.helpers import bp_reading
from tests.ingest.helpers import settings_for
from tests.support.database import count
from tests.support.waiting import wait_until, wait_until_async

pytestmark = [pytest.mark.integration]

GATEWAY = "gw-hubacks"


def publisher_for(port: int, outbox: Outbox, **policy: float) -> Publisher:
    config = MqttConfig(MqttEndpoint(host="127.0.0.1", port=port, client_id=f"homevitals-gateway-{GATEWAY}"),
                        reconnect_min_s=1, reconnect_max_s=1)
    return Publisher(config, GATEWAY, outbox, batch_size=1, inflight_window=1,
                     status_payload=lambda: {"state": "online"}, hub_acks=HubAckPolicy(**policy))  # type: ignore[arg-type]


async def test_committed_batches_leave_and_a_dead_lettered_one_is_kept_aside(db_dsn, mosquitto, tmp_path: Path):
    service = IngestService(settings_for(db_dsn, mosquitto.port))
    service.start()
    assert service.consumer.wait_subscribed(15)
    try:
        with Outbox.open(tmp_path / "o.sqlite3") as outbox:
            good = bp_reading(120)
            # Stored by an older version, say: the hub refuses it (schema_violation) and says so.
            broken = dict(json.loads(good.json), reading_id="00000000-0000-5000-8000-000000000001", unit="cmHg")
            outbox._db.execute(
                "INSERT INTO readings (reading_id, measured_at, payload, stored_at) VALUES (?, ?, ?, ?)",
                (broken["reading_id"], "2000-01-01T00:00:00.000000Z", json.dumps(broken), "now"),
            )
            outbox._depth += 1
            outbox.add(good)
            publisher = publisher_for(mosquitto.port, outbox)
            stop = asyncio.Event()
            publisher.start()
            task = asyncio.create_task(publisher.run(stop))
            await wait_until_async(lambda: outbox.depth == 0, 20, "both batches acknowledged by the hub")
            stop.set()
            await task
            await publisher.stop()
            rejected = outbox.hub_rejected()
        assert [(r["reading_id"], r["reason"]) for r in rejected] == [(broken["reading_id"], "schema_violation")]
        assert json.loads(rejected[0]["payload"] or "")["unit"] == "cmHg"  # kept as it was sent
        assert publisher.stats.batches_dead_lettered == 1 and publisher.stats.batches_acked == 1
        assert count(db_dsn, "SELECT count(*) FROM readings WHERE reading_id = %s", good.reading_id) == 1
        assert count(db_dsn, "SELECT count(*) FROM dead_letters WHERE gateway_id = %s", GATEWAY) == 1
    finally:
        service.shutdown()


async def test_without_a_hub_the_batch_stays_and_is_sent_again(mosquitto, tmp_path: Path, collector_factory):
    """PUBACK alone deletes nothing: no ingest is listening, so the batch is re-sent on timeout."""
    collector = collector_factory(mosquitto.port, GATEWAY)
    with Outbox.open(tmp_path / "o.sqlite3") as outbox:
        reading = bp_reading(121)
        outbox.add(reading)
        publisher = publisher_for(mosquitto.port, outbox, timeout_s=0.3, timeout_max_s=0.6, jitter=0.0)
        stop = asyncio.Event()
        publisher.start()
        task = asyncio.create_task(publisher.run(stop))
        await wait_until_async(lambda: publisher.stats.batches_resent >= 2, 15, "two re-sends")
        stop.set()
        await task
        await publisher.stop(grace_s=0.2)
        assert outbox.depth == 1  # still there: no hub ever acknowledged it
    wait_until(lambda: len(collector.batches()) >= 3, 10, "the batch three times")
    assert {b["batch_seq"] for b in collector.batches()} == {1}  # the same batch, the same body
    assert len({json.dumps(b, sort_keys=True) for b in collector.batches()}) == 1


async def test_without_a_hub_only_the_first_batch_travels(mosquitto, tmp_path: Path, collector_factory):
    """The hub-ack window starts at one batch and a timeout keeps it there: a gateway whose acks
    don't come re-sends one batch, not its whole backlog (gateway/ack_tracker.py)."""
    collector = collector_factory(mosquitto.port, GATEWAY)
    with Outbox.open(tmp_path / "o.sqlite3") as outbox:
        for systolic in range(130, 136):
            outbox.add(bp_reading(systolic))
        publisher = publisher_for(mosquitto.port, outbox, timeout_s=0.3, timeout_max_s=0.6, jitter=0.0,
                                  window=8, initial_window=1)
        stop = asyncio.Event()
        publisher.start()
        task = asyncio.create_task(publisher.run(stop))
        await wait_until_async(lambda: publisher.stats.batches_resent >= 3, 15, "three re-sends")
        stop.set()
        await task
        await publisher.stop(grace_s=0.2)
        assert outbox.depth == 6
        assert publisher.tracker.window == 1
    wait_until(lambda: len(collector.batches()) >= 4, 10, "the first batch four times")
    assert {b["batch_seq"] for b in collector.batches()} == {1}


async def test_quick_hub_acks_open_the_window(db_dsn, mosquitto, tmp_path: Path):
    service = IngestService(settings_for(db_dsn, mosquitto.port))
    service.start()
    assert service.consumer.wait_subscribed(15)
    try:
        with Outbox.open(tmp_path / "o.sqlite3") as outbox:
            readings = [bp_reading(systolic) for systolic in range(100, 112)]
            for reading in readings:
                outbox.add(reading)
            publisher = publisher_for(mosquitto.port, outbox, window=4, initial_window=1)
            stop = asyncio.Event()
            publisher.start()
            task = asyncio.create_task(publisher.run(stop))
            await wait_until_async(lambda: outbox.depth == 0, 30, "every batch acknowledged by the hub")
            stop.set()
            await task
            await publisher.stop()
        assert publisher.stats.batches_acked == 12 and publisher.stats.batches_resent == 0
        assert publisher.tracker.window > 1  # local acks take milliseconds: each one grew it
        stored = count(db_dsn, "SELECT count(*) FROM readings WHERE reading_id = ANY(%s)",
                       [r.reading_id for r in readings])
        assert stored == 12
    finally:
        service.shutdown()
