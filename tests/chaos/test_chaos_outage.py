"""A gateway whose hub was unreachable for 3 days comes back (issue 15, item 4).

Its outbox holds what 3 days of home measuring left there: 10,000 readings whose device and
gateway times are spread over the 72 hours, 3 batches formed and sent just before the hub
went away and never acknowledged. The gateway process starts while the broker is still down
(its reconnect back-off running), then the broker and an ingest worker come back. The case
ends when the outbox is empty (every batch hub-acked) and counts the database exactly.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from devstack.services.mosquitto import LocalMosquitto
from gateway.outbox import Outbox
from tests.chaos.chaos_support import Outcome, assert_exact, settle, stored_or_zero, unsynced
from tests.gateway.helpers import bp_reading
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.chaos]

READINGS = 10_000
OUTAGE = timedelta(days=3)
STALE_BATCHES = 3


def three_days_of_readings(data_dir: Path, *, address: str) -> tuple[set[str], int]:
    """The outbox after the outage; returns the reading ids and the stale batches' readings."""
    data_dir.mkdir(parents=True, exist_ok=True)
    outage_began = datetime.now(UTC) - OUTAGE
    step = OUTAGE / READINGS
    ids: set[str] = set()
    with Outbox.open(data_dir / "outbox.sqlite3", limit=10**9) as outbox:
        unsynced(outbox)
        for i in range(READINGS):
            arrived = outage_began + step * i  # the gateway's clock when the bytes came in
            reading = bp_reading(90 + i % 100, minutes_ago=0.05, now=arrived, address=address,
                                 diastolic=50 + i // 100 % 50)
            outbox.add(reading)
            ids.add(reading.reading_id)
        # Sent just before the hub went away, PUBACKed or not, never hub-acked.
        stale = [outbox.form_batch(10, sent_at=outage_began) for _ in range(STALE_BATCHES)]
    assert len(ids) == READINGS and all(batch is not None for batch in stale)
    return ids, sum(len(batch.reading_ids) for batch in stale if batch is not None)


def test_a_three_day_outage_with_10000_readings_in_the_outbox(
    db_dsn, gateway_process, ingest_process, record, tmp_path
):
    broker = LocalMosquitto(state_dir=tmp_path / "broker")  # not started: the hub is unreachable
    try:
        # Production batching and windows (GATEWAY_BATCH_SIZE 50, hub-ack window 32).
        gateway = gateway_process("gw-chaos-outage", broker.port, GATEWAY_BATCH_SIZE="50",
                                  GATEWAY_HUB_ACK_WINDOW="32")
        sent, stale = three_days_of_readings(gateway.data_dir, address="A4:C1:38:00:4D:01")
        gateway.start()
        time.sleep(3)  # the gateway tries, and backs off, while nothing answers
        assert gateway.named("mqtt_connected") == [] and gateway.depth == READINGS
        back = time.monotonic()
        broker.start()
        group = f"o{uuid.uuid4().hex[:8]}"
        ingest_process(db_dsn, broker.port, client_id=f"i-{group}", group=group).start()
        wait_until(lambda: bool(gateway.named("mqtt_connected")), 30, "the gateway to reconnect")
        reconnect_s = gateway.named("mqtt_connected")[0][0] - back
        counts = settle(db_dsn, sent, [gateway], timeout=180)
        recover = time.monotonic() - back
        resent = len(gateway.named("batch_resent_no_hub_ack"))
        record(Outcome(
            "3-day gateway outage, 10,000 readings in the outbox", len(sent), counts.rows, counts.duplicated,
            recover,
            f"{stale} in {STALE_BATCHES} stale batches; reconnect {reconnect_s:.1f} s; {resent} batches re-sent; "
            f"{READINGS / recover:,.0f} readings/s drained",
        ))
        assert_exact(counts, sent)
        assert stored_or_zero(db_dsn) == READINGS
    finally:
        broker.close()
