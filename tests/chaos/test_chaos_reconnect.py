"""How soon a real gateway process is back after its broker crashed (issue 15, item 5).

Two gateways in the same run, streaming from full outboxes through a real ingest worker:
one with the shipped reconnect back-off (full jitter, 0.5 s doubling to a 4 s cap), one with
the old bounds (1 s doubling to 30 s, as paho's default was). The broker is killed with
SIGKILL, stays down for ``DOWN_S`` and comes back on the same port. Printed: seconds from the
broker's return to each gateway's CONNACK and to its first readings PUBACK. Not asserted (no
timed assertions): that both reconnect and that nothing is lost or duplicated.
"""

from __future__ import annotations

import time
import uuid

import pytest

from devstack.services.mosquitto import LocalMosquitto
from tests.chaos.chaos_support import Outcome, assert_exact, prefill_outbox, settle
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.chaos]

DOWN_S = 10.0
BACKOFFS = {
    "shipped 0.5-4 s": {},
    "old bounds 1-30 s": {"GATEWAY_MQTT_RECONNECT_MIN_S": "1", "GATEWAY_MQTT_RECONNECT_MAX_S": "30"},
}


def test_gateways_reconnect_within_seconds_of_the_brokers_return(
    db_dsn, gateway_process, ingest_process, record, tmp_path
):
    broker = LocalMosquitto(state_dir=tmp_path / "broker").start()
    try:
        group = f"r{uuid.uuid4().hex[:8]}"
        ingest_process(db_dsn, broker.port, client_id=f"i-{group}", group=group).start()
        gateways = {
            label: gateway_process(f"gw-reconnect-{n}", broker.port, GATEWAY_LOG_LEVEL="DEBUG",
                                   GATEWAY_HUB_ACK_WINDOW="32", **env)
            for n, (label, env) in enumerate(BACKOFFS.items())
        }
        sent: set[str] = set()
        for n, gateway in enumerate(gateways.values()):
            sent |= prefill_outbox(gateway.data_dir, 3000, address=f"A4:C1:38:00:2A:{n:02X}")
        for gateway in gateways.values():
            gateway.start()
        wait_until(lambda: all(len(g.named("batch_acknowledged")) >= 5 for g in gateways.values()), 40,
                   "both gateways streaming")
        broker.kill9()
        time.sleep(DOWN_S)
        restarting = time.monotonic()
        broker.start()  # returns once the port accepts connections: "the broker's return"
        back = time.monotonic()

        def first(gateway, event: str) -> float:
            wait_until(lambda: bool(gateway.named(event, since=restarting)), 60, f"{gateway.gateway_id}: {event}")
            return max(0.0, gateway.named(event, since=restarting)[0][0] - back)

        measured = {
            label: (first(gateway, "mqtt_connected"), first(gateway, "batch_awaiting_hub_ack"))
            for label, gateway in gateways.items()
        }
        counts = settle(db_dsn, sent, list(gateways.values()), timeout=90)
        recover = time.monotonic() - back

        print(f"\nbroker kill -9, down {DOWN_S:.0f} s, back on the same port; seconds after its return:")
        print("| gateway back-off | CONNACK s | first readings PUBACK s |\n|---|---:|---:|")
        for label, (connack, puback) in measured.items():
            print(f"| {label} | {connack:.2f} | {puback:.2f} |")
        shipped, old = measured["shipped 0.5-4 s"][1], measured["old bounds 1-30 s"][1]
        record(Outcome(f"broker kill -9, {DOWN_S:.0f} s down, 2 gateways reconnect", len(sent), counts.rows,
                       counts.duplicated, recover,
                       f"first PUBACK {shipped:.1f} s (0.5-4 s back-off) vs {old:.1f} s (1-30 s)"))
        assert_exact(counts, sent)
    finally:
        broker.close()
