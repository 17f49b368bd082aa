"""The MQTT publisher against a real Mosquitto: PUBACK deletes, refusals keep, outages wait."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from devstack.services.mosquitto import LocalMosquitto
from gateway.ack_tracker import HubAckPolicy
from gateway.outbox import Outbox
from gateway.publisher import MqttConfig, Publisher
from homevitals.errors import MqttConnectError
from homevitals.mqtt_endpoint import MqttEndpoint
from tests.gateway.helpers import bp_reading
from tests.support.waiting import wait_until, wait_until_async

GATEWAY = "gw-pub-test"


def publisher_for(port: int, outbox: Outbox, *, gateway_id: str = GATEWAY, batch_size: int = 3,
                  window: int = 2) -> Publisher:
    config = MqttConfig(MqttEndpoint(host="127.0.0.1", port=port, client_id=f"homevitals-gateway-{gateway_id}"),
                        reconnect_min_s=1, reconnect_max_s=1)
    # No ingest here, so no hub acks: the PUBACK mode (a hub without acks); tests/chaos has the rest.
    return Publisher(config, gateway_id, outbox, batch_size=batch_size, inflight_window=window,
                     status_payload=lambda: {"state": "online", "outbox_depth": outbox.depth},
                     hub_acks=HubAckPolicy(enabled=False))


async def test_batches_are_deleted_only_after_puback(mosquitto, tmp_path: Path, collector_factory):
    collector = collector_factory(mosquitto.port, GATEWAY)
    with Outbox.open(tmp_path / "o.sqlite3") as outbox:
        ids = {outbox.add(r) and r.reading_id for r in (bp_reading(100 + i, minutes_ago=i) for i in range(8))}
        publisher = publisher_for(mosquitto.port, outbox)
        stop = asyncio.Event()
        publisher.start()
        task = asyncio.create_task(publisher.run(stop))
        await wait_until_async(lambda: outbox.depth == 0, 15, "the outbox to drain")
        stop.set()
        await task
        await publisher.stop()
        wait_until(lambda: collector.reading_ids() == ids, 10, "all readings at the subscriber")
        seqs = [batch["batch_seq"] for batch in collector.batches()]
        assert sorted(seqs) == list(range(1, 4))  # 8 readings in batches of 3, rising by one
        assert max(len(b["readings"]) for b in collector.batches()) <= 3
        assert not collector.errors
        wait_until(lambda: collector.statuses() and collector.statuses()[-1] == {"state": "offline"},
                           10, "the offline status")
        assert {"state": "online", "outbox_depth": 8} in collector.statuses()
        assert publisher.stats.readings_acked == 8


async def test_a_publish_the_broker_refuses_stays_in_the_outbox(acl_mosquitto, tmp_path: Path,
                                                                collector_factory):
    collector = collector_factory(acl_mosquitto.port, GATEWAY)
    with Outbox.open(tmp_path / "o.sqlite3") as outbox:
        for i in range(4):
            outbox.add(bp_reading(100 + i, minutes_ago=i))
        publisher = publisher_for(acl_mosquitto.port, outbox)
        stop = asyncio.Event()
        publisher.start()
        task = asyncio.create_task(publisher.run(stop))
        await wait_until_async(lambda: publisher.stats.batches_refused >= 1, 15, "the broker's refusal")
        await asyncio.sleep(0.5)
        assert outbox.depth == 4
        assert publisher.stats.readings_acked == 0
        assert "Not authorized" in (publisher.stats.last_error or "")
        stop.set()
        await task
        await publisher.stop(grace_s=0.5)
    wait_until(lambda: bool(collector.statuses()), 10, "a status message")
    assert collector.batches() == []


async def test_readings_wait_out_a_broker_outage_and_arrive_in_measurement_order(
    private_mosquitto, tmp_path: Path, collector_factory
):
    private_mosquitto.stop()
    with Outbox.open(tmp_path / "o.sqlite3") as outbox:
        publisher = publisher_for(private_mosquitto.port, outbox, batch_size=4, window=1)
        stop = asyncio.Event()
        publisher.start()
        task = asyncio.create_task(publisher.run(stop))
        now = datetime.now(UTC)
        # Stored in a shuffled order while the broker is down.
        for age in (30, 10, 50, 20, 60, 40, 5, 45, 15):
            outbox.add(bp_reading(100 + age, minutes_ago=age, now=now))
            await asyncio.sleep(0.05)
        await asyncio.sleep(1.5)
        assert outbox.depth == 9
        assert outbox.open_batch_seqs() == []  # nothing is batched while disconnected
        private_mosquitto.start()
        collector = collector_factory(private_mosquitto.port, GATEWAY)
        await wait_until_async(lambda: outbox.depth == 0, 30, "the outbox to drain after the outage")
        stop.set()
        await task
        await publisher.stop()
    wait_until(lambda: len(collector.readings()) == 9, 10, "9 readings")
    measured = [reading["measured_at"] for reading in collector.readings()]
    assert measured == sorted(measured)
    assert [b["batch_seq"] for b in collector.batches()] == [1, 2, 3]


@pytest.mark.integration
async def test_a_refused_connection_is_a_typed_error_with_the_reason_code(tmp_path: Path):
    with LocalMosquitto(allow_anonymous=False) as broker, Outbox.open(tmp_path / "o.sqlite3") as outbox:
        outbox.add(bp_reading(120))
        publisher = publisher_for(broker.port, outbox)
        publisher.start()
        try:
            await wait_until_async(lambda: publisher.connect_error is not None, 15, "the broker's refusal")
        finally:
            await publisher.stop(grace_s=0.1)
        error = publisher.connect_error
        assert isinstance(error, MqttConnectError)
        assert error.reason_code == 0x87  # MQTT 5 "Not authorized"
        assert (error.host, error.port) == ("127.0.0.1", broker.port)
        assert outbox.depth == 1
        assert publisher.stats.connects == 0


async def test_tls_settings_reach_paho(tmp_path: Path):
    # No TLS broker here; check that a bad CA path fails loudly at construction, not silently later.
    config = MqttConfig(MqttEndpoint(host="127.0.0.1", port=1, client_id="x", tls=True, ca_file=tmp_path / "missing.pem"))
    with Outbox.open(tmp_path / "o.sqlite3") as outbox, pytest.raises(FileNotFoundError):
        Publisher(config, GATEWAY, outbox, batch_size=1, inflight_window=1, status_payload=dict)


def test_offline_payload_is_the_contract_will():
    from gateway.publisher import OFFLINE_STATUS

    assert json.loads(OFFLINE_STATUS) == {"state": "offline"}


async def test_a_stored_reading_that_no_longer_validates_is_sent_not_stuck(mosquitto, tmp_path: Path,
                                                                           collector_factory):
    """E.g. stored by an older version: the hub dead-letters it; later readings are not blocked."""
    collector = collector_factory(mosquitto.port, GATEWAY)
    collector.expected_invalid = 1
    with Outbox.open(tmp_path / "o.sqlite3") as outbox:
        good = bp_reading(120)
        broken = dict(json.loads(good.json), reading_id="00000000-0000-5000-8000-000000000001", unit="cmHg")
        outbox._db.execute(
            "INSERT INTO readings (reading_id, measured_at, payload, stored_at) VALUES (?, ?, ?, ?)",
            (broken["reading_id"], "2000-01-01T00:00:00.000000Z", json.dumps(broken), "now"),
        )
        outbox._depth += 1
        outbox.add(good)
        publisher = publisher_for(mosquitto.port, outbox, batch_size=1, window=1)
        stop = asyncio.Event()
        publisher.start()
        task = asyncio.create_task(publisher.run(stop))
        await wait_until_async(lambda: outbox.depth == 0, 15, "both readings out")
        stop.set()
        await task
        await publisher.stop()
    wait_until(lambda: len(collector.batches()) == 2, 10, "two batches")
    assert len(collector.errors) == 1  # the subscriber's schema check caught the broken one
    assert good.reading_id in collector.reading_ids()


@pytest.mark.parametrize("limit", [8192])
async def test_batches_are_split_below_the_brokers_message_size_limit(tmp_path: Path, collector_factory, limit):
    """GATEWAY_MAX_MESSAGE_BYTES = the broker's message_size_limit: every batch gets through.
    The control, the contract's 1 MiB against the same broker: the one big batch is never
    accepted (Mosquitto 2.0 drops the connection, paho re-sends it after each reconnect) and
    stays in the outbox."""
    with LocalMosquitto(extra_config=f"message_size_limit {limit}\n") as broker:
        collector = collector_factory(broker.port, GATEWAY)
        outcomes, outcomes_error = {}, {}
        for max_bytes in (limit, 1024 * 1024):
            with Outbox.open(tmp_path / f"o-{max_bytes}.sqlite3") as outbox:
                for i in range(40):
                    outbox.add(bp_reading(100 + i, minutes_ago=40 - i))
                publisher = Publisher(
                    MqttConfig(MqttEndpoint(host="127.0.0.1", port=broker.port,
                                            client_id=f"homevitals-gateway-{GATEWAY}")),
                    GATEWAY, outbox, batch_size=40, inflight_window=2, status_payload=dict,
                    hub_acks=HubAckPolicy(enabled=False), max_message_bytes=max_bytes,
                )
                stop = asyncio.Event()
                publisher.start()
                task = asyncio.create_task(publisher.run(stop))
                await wait_until_async(lambda p=publisher, o=outbox: o.depth == 0 or p.stats.connects >= 4, 20,
                                 "the outbox to drain, or reconnects after refusals")
                stop.set()
                await task
                await publisher.stop(grace_s=0.5)
                outcomes[max_bytes] = (outbox.depth, publisher.stats.connects, publisher.stats.batches_acked)
                outcomes_error[max_bytes] = publisher.stats.last_error or ""
        depth, connects, acked = outcomes[limit]
        assert (depth, connects) == (0, 1) and acked > 1, "split into several batches, all accepted at once"
        depth, connects, acked = outcomes[1024 * 1024]
        assert (depth, acked) == (40, 0) and connects >= 3, "one big batch: dropped with the connection, kept"
        assert "in flight at 3 lost connections in a row" in outcomes_error[1024 * 1024]
        wait_until(lambda: len(collector.readings()) == 40, 10, "40 readings")
        assert max(len(json.dumps(b).encode()) for b in collector.batches()) <= limit
