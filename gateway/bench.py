"""Benchmark of the gateway's delivery path; prints figures, asserts nothing.

    python -m gateway.bench --port 1883 --readings 2000

1. outbox: durable adds per second (each one an fsync'd SQLite transaction);
2. delivery: readings per second from a full outbox to PUBACK through a real broker, with
   the configured batch size and in-flight window.

Run it on the Pi itself to size ``GATEWAY_BATCH_SIZE`` and ``GATEWAY_INFLIGHT_WINDOW``.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from gateway.ack_tracker import HubAckPolicy
from gateway.outbox import Outbox
from gateway.publisher import MqttConfig, Publisher
from gateway.readings import BuiltReading, DeviceIdentity, build_reading
from gatt import BloodPressureMeasurement
from homevitals.logging import configure_logging
from homevitals.mqtt_endpoint import MqttEndpoint

ZONE = ZoneInfo("Europe/Copenhagen")


def synthetic_reading(index: int, now: datetime) -> BuiltReading:
    taken = (now - timedelta(minutes=index)).astimezone(ZONE).replace(tzinfo=None, microsecond=0)
    measurement = BloodPressureMeasurement(100 + index % 80, 60 + index % 40, 80, timestamp=taken)
    raw = bytes(measurement)
    device = DeviceIdentity("A4:C1:38:00:11:22", model="BENCH")
    return build_reading(BloodPressureMeasurement.from_bytes(raw), raw=raw, device=device, gateway_time=now,
                         clock=None, zone=ZONE)


async def deliver(outbox: Outbox, port: int, batch_size: int, window: int) -> float:
    config = MqttConfig(MqttEndpoint(host="127.0.0.1", port=port, client_id="homevitals-gateway-bench"))
    publisher = Publisher(config, "gw-bench", outbox, batch_size=batch_size, inflight_window=window,
                          status_payload=lambda: {"state": "online"},
                          hub_acks=HubAckPolicy(enabled=False))  # the broker alone: no hub to ack
    stop = asyncio.Event()
    publisher.start()
    started = time.perf_counter()
    task = asyncio.create_task(publisher.run(stop))
    while outbox.depth:  # noqa: ASYNC110 - polling the outbox is what is being measured
        await asyncio.sleep(0.01)
    elapsed = time.perf_counter() - started
    stop.set()
    await task
    await publisher.stop()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--port", type=int, required=True, help="a local broker (no ACL)")
    parser.add_argument("--readings", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument("--window", type=int, default=4)
    args = parser.parse_args()
    configure_logging("WARNING", "console")
    now = datetime.now(UTC)
    readings = [synthetic_reading(i, now) for i in range(args.readings)]
    with tempfile.TemporaryDirectory() as folder, Outbox.open(Path(folder) / "bench.sqlite3") as outbox:
        started = time.perf_counter()
        for reading in readings:
            outbox.add(reading)
        added = time.perf_counter() - started
        print(f"outbox add (fsync each): {args.readings / added:8.0f} readings/s "  # noqa: T201
              f"({added / args.readings * 1000:.2f} ms each)")
        elapsed = asyncio.run(deliver(outbox, args.port, args.batch_size, args.window))
        print(f"delivery to PUBACK:      {args.readings / elapsed:8.0f} readings/s "  # noqa: T201
              f"(batch {args.batch_size}, window {args.window}, {elapsed:.2f} s)")


if __name__ == "__main__":
    main()
