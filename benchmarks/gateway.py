"""``homevitals bench gateway``: the gateway's delivery path; prints figures, asserts nothing.

    homevitals bench gateway [--port 1883] --readings 2000

1. outbox: durable adds per second (each one an fsync'd SQLite transaction);
2. delivery: readings per second from a full outbox to PUBACK through a real broker, with
   the configured batch size and in-flight window.

Run it on the Pi itself, from a source checkout (the wheel ships no benchmarks), to size
``GATEWAY_BATCH_SIZE`` and ``GATEWAY_INFLIGHT_WINDOW``.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import typer

from benchmarks.report import say
from devstack.services.mosquitto import LocalMosquitto
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
    return build_reading(
        BloodPressureMeasurement.from_bytes(raw),
        raw=raw,
        device=device,
        gateway_time=now,
        clock=None,
        zone=ZONE,
    )


async def deliver(outbox: Outbox, port: int, batch_size: int, window: int) -> float:
    config = MqttConfig(MqttEndpoint(host="127.0.0.1", port=port, client_id="homevitals-gateway-bench"))
    publisher = Publisher(
        config,
        "gw-bench",
        outbox,
        batch_size=batch_size,
        inflight_window=window,
        status_payload=lambda: {"state": "online"},
        hub_acks=HubAckPolicy(enabled=False),
    )  # the broker alone: no hub to ack
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


def gateway(
    port: int | None = typer.Option(
        None, help="A local broker without ACLs; default: start a throwaway Mosquitto.", show_default=False
    ),
    readings: int = typer.Option(2000, help="Readings to add to the outbox, then deliver."),
    batch_size: int = typer.Option(50, help="GATEWAY_BATCH_SIZE."),
    window: int = typer.Option(4, help="GATEWAY_INFLIGHT_WINDOW."),
) -> None:
    """Outbox adds per second (fsync each) and delivery to PUBACK through a real broker."""
    configure_logging("WARNING", "console")
    now = datetime.now(UTC)
    built = [synthetic_reading(i, now) for i in range(readings)]
    with contextlib.ExitStack() as stack:
        if port is None:
            port = stack.enter_context(LocalMosquitto()).port
        folder = stack.enter_context(tempfile.TemporaryDirectory())
        outbox = stack.enter_context(Outbox.open(Path(folder) / "bench.sqlite3"))
        started = time.perf_counter()
        for reading in built:
            outbox.add(reading)
        added = time.perf_counter() - started
        say(
            f"outbox add (fsync each): {readings / added:8.0f} readings/s "
            f"({added / readings * 1000:.2f} ms each)"
        )
        elapsed = asyncio.run(deliver(outbox, port, batch_size, window))
        say(
            f"delivery to PUBACK:      {readings / elapsed:8.0f} readings/s "
            f"(batch {batch_size}, window {window}, {elapsed:.2f} s)"
        )
