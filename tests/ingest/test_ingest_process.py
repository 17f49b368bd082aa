"""``homevitals ingest run`` as a real process: crashes, restarts, outages, several workers.

Each test checks the exact count: every published reading stored once, none twice.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
import uuid

import paho.mqtt.client as mqtt
import psycopg
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.ingest.helpers import HOMEVITALS, Publisher, Stream
from tests.support.database import count, wait_for_count
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

READINGS = "SELECT count(*) FROM readings"
# These publishers ignore hub acks (a third-party gateway): their zero loss across a worker's or
# the broker's restart rests on the worker's persistent broker session, so they ask for one.
PERSISTENT = {"INGEST_MQTT_PERSISTENT_SESSION": "true"}


def _ids() -> tuple[str, str]:
    return f"ingest-{uuid.uuid4().hex[:6]}", f"g{uuid.uuid4().hex[:6]}"


def assert_exact(dsn: str, expected: int) -> None:
    wait_for_count(dsn, READINGS, expected, timeout=60)
    time.sleep(0.5)  # anything stored twice would show up now
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT count(*), count(DISTINCT reading_id), (SELECT count(*) FROM reading_ids) FROM readings"
        ).fetchone()
    assert row == (expected, expected, expected)


def test_kill_9_mid_stream_then_restart_gives_the_exact_count(db_dsn, mosquitto, worker_process):
    client_id, group = _ids()
    worker = worker_process(db_dsn, mosquitto.port, client_id=client_id, group=group, **PERSISTENT).start()
    publisher = Publisher(mosquitto.port)
    stream = Stream(publisher, 3000, rate=800).start()
    wait_for_count(db_dsn, READINGS, 700)
    worker.kill9()  # committed but unacked batches come back: the ledger absorbs them
    killed_at = count(db_dsn, READINGS)
    time.sleep(0.5)  # the stream goes on; the broker queues for the dead worker's session
    worker_process(db_dsn, mosquitto.port, client_id=client_id, group=group, **PERSISTENT).start()
    stream.join()
    assert killed_at < 3000
    assert_exact(db_dsn, 3000)
    publisher.close()


def test_restarting_postgresql_mid_stream_gives_the_exact_count(private_postgres, mosquitto, worker_process):
    client_id, group = _ids()
    dsn = private_postgres.dsn
    worker = worker_process(dsn, mosquitto.port, client_id=client_id, group=group).start()
    publisher = Publisher(mosquitto.port)
    stream = Stream(publisher, 3000, rate=800).start()
    wait_for_count(dsn, READINGS, 700)
    private_postgres.stop("fast")  # terminates the worker's connection mid-stream
    time.sleep(2)
    private_postgres.start()
    stream.join()
    assert_exact(dsn, 3000)
    assert (worker.metric("ingest_db_errors_total") or 0) > 0
    assert worker.metric("ingest_db_up") == 1.0
    publisher.close()


def test_two_workers_on_the_shared_subscription_give_the_exact_count(db_dsn, mosquitto, worker_process):
    _, group = _ids()
    first = worker_process(db_dsn, mosquitto.port, client_id=f"a-{group}", group=group).start()
    second = worker_process(db_dsn, mosquitto.port, client_id=f"b-{group}", group=group).start()
    publisher = Publisher(mosquitto.port)
    Stream(publisher, 3000, rate=1500).start().join()
    assert_exact(db_dsn, 3000)
    stored = [first.metric("ingest_readings_stored_total"), second.metric("ingest_readings_stored_total")]
    assert all(s and s > 0 for s in stored), stored  # both took a share
    assert sum(s or 0 for s in stored) == 3000
    publisher.close()


def test_sigterm_drains_commits_and_exits_cleanly(db_dsn, mosquitto, worker_process):
    client_id, group = _ids()
    worker = worker_process(db_dsn, mosquitto.port, client_id=client_id, group=group, **PERSISTENT).start()
    publisher = Publisher(mosquitto.port)
    stream = Stream(publisher, 2000, rate=800).start()
    wait_for_count(db_dsn, READINGS, 500)
    assert worker.terminate() == 0
    assert (
        '"unacknowledged": 0, "event": "ingest.stopped"' in worker.log_tail()
    )  # all it read: committed, acked
    worker_process(db_dsn, mosquitto.port, client_id=client_id, group=group, **PERSISTENT).start()
    stream.join()
    assert_exact(db_dsn, 2000)
    publisher.close()


def test_a_3000_message_burst_while_the_worker_holds_its_acks_all_arrives(
    private_postgres, mosquitto, worker_process
):
    """DESIGN.md's pitfall: with Mosquitto's default queue limits 1,980 of these would vanish."""
    client_id, group = _ids()
    dsn = private_postgres.dsn
    worker = worker_process(
        dsn, mosquitto.port, client_id=client_id, group=group, INGEST_MAX_BUFFERED_MESSAGES="500"
    ).start()
    private_postgres.stop("fast")  # nothing can commit, so nothing is acknowledged
    publisher = Publisher(mosquitto.port, window=200)
    Stream(publisher, 3000, rate=100_000).start().join()  # the broker has acked all 3000
    wait_until(lambda: worker.metric("ingest_reading_paused") == 1.0, 10, "the worker to stop reading")
    assert (worker.metric("ingest_buffered_messages") or 0) <= 500  # bounded memory
    private_postgres.start()
    assert_exact(dsn, 3000)
    publisher.close()


def test_the_broker_keeps_a_burst_for_a_subscriber_that_holds_its_acks(mosquitto):
    """The broker settings alone (docs/mosquitto.md): 3000 QoS 1 messages, none acked, all delivered."""
    received: list[int] = []
    done = threading.Event()

    def on_message(_client, _userdata, message):
        received.append(message.mid)
        if len(received) == 3000:
            done.set()

    topic = f"burst/{uuid.uuid4().hex}"
    subscriber = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=f"hold-{uuid.uuid4().hex[:6]}",
        clean_session=False,
        manual_ack=True,
    )
    subscriber.on_message = on_message
    subscriber.connect("127.0.0.1", mosquitto.port)
    subscriber.subscribe(topic, qos=1)
    subscriber.loop_start()
    time.sleep(0.3)
    publisher = Publisher(mosquitto.port, window=500)
    for i in range(3000):
        publisher.publish(topic, str(i).encode())
    publisher.wait_acked(3000)
    assert done.wait(30), f"received {len(received)} of 3000 without acknowledging any"
    subscriber.disconnect()
    subscriber.loop_stop()
    publisher.close()


def test_the_worker_reconnects_after_a_broker_restart(db_dsn, private_mosquitto, worker_process):
    client_id, group = _ids()
    worker = worker_process(
        db_dsn, private_mosquitto.port, client_id=client_id, group=group, **PERSISTENT
    ).start()
    publisher = Publisher(private_mosquitto.port)
    stream = Stream(publisher, 2000, rate=800).start()
    wait_for_count(db_dsn, READINGS, 500)
    private_mosquitto.stop()  # it saves its sessions and queues to disk
    time.sleep(1)
    private_mosquitto.start()
    stream.join()
    assert_exact(db_dsn, 2000)
    assert (worker.metric("ingest_mqtt_reconnects_total") or 0) >= 2
    publisher.close()


def test_retiring_a_stopped_worker_recovers_its_share_and_ends_its_membership(
    db_dsn, mosquitto, worker_process
):
    _, group = _ids()
    staying = worker_process(db_dsn, mosquitto.port, client_id=f"a-{group}", group=group, **PERSISTENT).start()
    leaving = worker_process(db_dsn, mosquitto.port, client_id=f"b-{group}", group=group, **PERSISTENT).start()
    assert leaving.terminate() == 0
    publisher = Publisher(mosquitto.port)
    Stream(publisher, 400, rate=2000).start().join()
    # The broker keeps routing to the stopped member: about half waits in its queue.
    wait_until(lambda: staying.metric("ingest_readings_stored_total") == count(db_dsn, READINGS) > 0, 20,
               "the staying worker to have stored every reading in the table")
    time.sleep(1)
    assert count(db_dsn, READINGS) < 400
    env = {**os.environ, **leaving.env, "INGEST_METRICS_PORT": "0"}
    result = subprocess.run(
        [HOMEVITALS, "ingest", "retire", "--idle", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert_exact(db_dsn, 400)
    Stream(publisher, 200, rate=2000).start().join()  # now the staying worker gets everything
    assert_exact(db_dsn, 600)
    assert staying.metric("ingest_readings_stored_total") is not None
    publisher.close()
