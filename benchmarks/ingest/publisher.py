"""Publisher processes: each simulates its share of the gateways, QoS 1, bounded in flight."""

from __future__ import annotations

import multiprocessing as mp
import os
import time
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from benchmarks.ingest.fleet import PLACEHOLDER, Fleet, generate_messages, utc_stamp
from benchmarks.services import Services


@dataclass(frozen=True)
class PublisherSpec:
    index: int
    fleet: Fleet
    gateways: tuple[int, int]  # range start, stop
    readings_per_gateway: int
    per_message: int
    seed: int
    host: str
    port: int
    window: int = 200
    limit_messages: int | None = None
    messages_per_s: float | None = None  # None: as fast as the window allows


def _interleave(messages: list[tuple[str, bytes]], gateways: int) -> list[tuple[str, bytes]]:
    # Gateways publish side by side, not one after the other; per gateway order is kept.
    per = len(messages) // max(1, gateways)
    if per == 0:
        return messages
    lanes = [messages[i * per : (i + 1) * per] for i in range(gateways)]
    rest = messages[gateways * per :]
    return [m for group in zip(*lanes, strict=True) for m in group] + rest


def publisher_main(spec: PublisherSpec, ready: Any, start: Any, results: Any) -> None:
    """One publisher process: its own gateways, QoS 1, at most ``window`` messages in flight.

    Single-threaded (publish, then read PUBACKs with paho's loop in the same thread): a
    network thread beside the publishing one costs the machine a lot of GIL hand-overs, and
    this CPU is taken from the ingest under test.
    """
    messages = _interleave(
        generate_messages(
            spec.fleet, range(*spec.gateways), spec.readings_per_gateway, spec.per_message, spec.seed
        ),
        spec.gateways[1] - spec.gateways[0],
    )
    if spec.limit_messages is not None:
        messages = messages[: spec.limit_messages]
    acked = [0]

    def on_publish(_client: mqtt.Client, _userdata: Any, _mid: int, _reason: Any, _props: Any) -> None:
        acked[0] += 1

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{spec.index}-{os.getpid()}")
    client.max_inflight_messages_set(spec.window)
    client.on_publish = on_publish
    client.connect(spec.host, spec.port, keepalive=60)
    while not client.is_connected():
        client.loop(timeout=0.05)
    ready.put(spec.index)
    start.wait()
    cpu0 = time.process_time()
    first = time.time()
    interval = 1 / spec.messages_per_s if spec.messages_per_s else 0.0
    started = time.monotonic()
    sent, total = 0, len(messages)
    while acked[0] < total:
        while sent < total and sent - acked[0] < spec.window:
            if interval and time.monotonic() < started + sent * interval:
                break
            topic, template = messages[sent]
            client.publish(topic, template.replace(PLACEHOLDER, utc_stamp()), qos=1)
            sent += 1
        client.loop(timeout=0.002)
        for _ in range(spec.window):  # PUBACKs that are already waiting
            before = acked[0]
            if client.loop_read() != 0 or acked[0] == before:
                break
    last = time.time()
    client.disconnect()
    client.loop(timeout=0.1)
    results.put((spec.index, total, first, last, time.process_time() - cpu0))


def publish(
    svc: Services,
    fleet: Fleet,
    *,
    readings: int,
    per_message: int,
    publishers: int,
    seed_value: int,
    limit_messages: int | None = None,
    readings_per_s: float | None = None,
) -> tuple[list[tuple[int, int, float, float, float]], float]:
    """Start the publisher processes, release them together, return their reports and t0."""
    context = mp.get_context("spawn")
    ready, start, results = context.Queue(), context.Event(), context.Queue()
    per_gateway = readings // fleet.gateways
    bounds = [round(i * fleet.gateways / publishers) for i in range(publishers + 1)]
    processes = []
    for i in range(publishers):
        limit = None if limit_messages is None else max(1, limit_messages // publishers)
        spec = PublisherSpec(
            i,
            fleet,
            (bounds[i], bounds[i + 1]),
            per_gateway,
            per_message,
            seed_value,
            svc.mqtt_host,
            svc.mqtt_port,
            limit_messages=limit,
            messages_per_s=readings_per_s / per_message / publishers if readings_per_s else None,
        )
        process = context.Process(target=publisher_main, args=(spec, ready, start, results), daemon=True)
        process.start()
        processes.append(process)
    for _ in processes:
        ready.get(timeout=300)
    t0 = time.time()
    start.set()
    reports = [results.get(timeout=3600) for _ in processes]
    for process in processes:
        process.join(timeout=30)
    return reports, t0
