"""One process of gateways: many real ``gateway.publisher.Publisher`` instances, each with its
own outbox file and its own paho client, logging in with its own broker account.

The process seeds its gateways' outboxes, reopens them as the gateway service does
(``Outbox.open``: WAL, ``synchronous=FULL``), builds one publisher per gateway with the
shipped settings (``GatewaySettings``' defaults: batch size, in-flight window, linger, hub
acks and their timeouts and window; the service's ``MqttConfig`` defaults: back-off, session),
says it is ready, and waits for "go". Then every publisher connects at once, as a fleet does
when its hub comes back, and drains its outbox: a batch leaves the outbox only on ingest's
hub ack. The process reports its outboxes' depth every ``report_every_s`` and, when each
outbox is empty, stops its publishers (marking them offline) and counts what is left in every
outbox file from a fresh connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import resource
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from api.broker.commands import gateway_client_id
from benchmarks.backlog.outboxes import outbox_path, seed_outboxes
from benchmarks.ingest.fleet import Fleet
from gateway.ack_tracker import HubAckPolicy
from gateway.outbox import Outbox
from gateway.publisher import MqttConfig, Publisher
from gateway.settings import GatewaySettings
from homevitals.logging import configure_logging
from homevitals.mqtt_endpoint import MqttEndpoint


@dataclass(frozen=True)
class GroupSpec:
    index: int
    fleet: Fleet
    gateways: tuple[int, int]  # range start, stop
    readings_per_gateway: int
    per_message: int  # the seed's message size: the same readings as the baseline's messages
    seed: int
    host: str
    port: int
    password: str  # every bench gateway's broker password (each has its own account)
    folder: str
    report_every_s: float = 1.0


def _default(name: str) -> Any:
    return GatewaySettings.model_fields[name].default


def shipped_policy() -> tuple[int, int, float, HubAckPolicy]:
    """Batch size, in-flight window, linger and hub-ack policy as ``homevitals gateway`` ships them."""
    return (
        int(_default("batch_size")),
        int(_default("inflight_window")),
        float(_default("batch_linger_s")),
        HubAckPolicy(
            enabled=bool(_default("hub_acks")),
            timeout_s=float(_default("hub_ack_timeout_s")),
            timeout_max_s=float(_default("hub_ack_timeout_max_s")),
            window=int(_default("hub_ack_window")),
            initial_window=int(_default("hub_ack_initial_window")),
        ),
    )


def raise_file_limit() -> int:
    """Each gateway holds a socket, paho's socket pair and three SQLite files (db, WAL, shm)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def _totals(publishers: list[Publisher]) -> dict[str, int]:
    stats = [p.stats for p in publishers]
    return {
        "depth": sum(p.outbox.depth for p in publishers),
        "outboxes_left": sum(1 for p in publishers if p.outbox.depth),
        "connected": sum(1 for p in publishers if p.connected),
        "batches_sent": sum(s.batches_sent for s in stats),
        "batches_resent": sum(s.batches_resent for s in stats),
        "batches_acked": sum(s.batches_acked for s in stats),
        "batches_refused": sum(s.batches_refused for s in stats),
        "batches_dead_lettered": sum(s.batches_dead_lettered for s in stats),
        "acks_ignored": sum(s.acks_ignored for s in stats),
        "connects": sum(s.connects for s in stats),
    }


async def _drain(spec: GroupSpec, go: Any, events: Any) -> None:
    folder = Path(spec.folder)
    batch_size, window, linger, hub_acks = shipped_policy()
    ids = [spec.fleet.gateway_id(g) for g in range(*spec.gateways)]
    outboxes = [Outbox.open(outbox_path(folder, gateway_id)) for gateway_id in ids]
    publishers = [
        Publisher(
            MqttConfig(
                MqttEndpoint(
                    host=spec.host,
                    port=spec.port,
                    client_id=gateway_client_id(gateway_id),
                    username=gateway_id,
                    password=SecretStr(spec.password),
                )
            ),
            gateway_id,
            outbox,
            batch_size=batch_size,
            inflight_window=window,
            status_payload=lambda: {"state": "online"},
            batch_linger_s=linger,
            hub_acks=hub_acks,
        )
        for gateway_id, outbox in zip(ids, outboxes, strict=True)
    ]
    events.put(("ready", spec.index, os.getpid(), sum(o.depth for o in outboxes)))
    await asyncio.to_thread(go.wait)
    stop = asyncio.Event()
    for publisher in publishers:
        publisher.start()
    tasks = [asyncio.create_task(publisher.run(stop)) for publisher in publishers]
    cpu0 = time.process_time()
    while True:
        totals = _totals(publishers)
        events.put(("status", spec.index, time.time(), totals))
        if totals["depth"] == 0:
            break
        await asyncio.sleep(spec.report_every_s)
    emptied_at = time.time()
    cpu = time.process_time() - cpu0
    stop.set()
    await asyncio.gather(*tasks)
    await asyncio.gather(*(publisher.stop(grace_s=2.0) for publisher in publishers))
    totals = _totals(publishers)
    for outbox in outboxes:
        outbox.close()
    left = rejected = 0
    for gateway_id in ids:  # counted again from the files, not from the publishers' memory
        with Outbox.open(outbox_path(folder, gateway_id)) as outbox:
            left += outbox.depth
            rejected += outbox.hub_rejected_count()
    events.put(("done", spec.index, emptied_at, cpu, totals, left, rejected))


def group_main(spec: GroupSpec, go: Any, events: Any) -> None:
    """The process's entry point (multiprocessing, spawn)."""
    configure_logging("ERROR", "console")
    raise_file_limit()
    try:
        seed_outboxes(
            Path(spec.folder),
            spec.fleet,
            range(*spec.gateways),
            spec.readings_per_gateway,
            spec.per_message,
            spec.seed,
            progress=lambda readings: events.put(("seeded", spec.index, readings)),
        )
        asyncio.run(_drain(spec, go, events))
    except Exception as error:
        events.put(("failed", spec.index, f"{type(error).__name__}: {error}"))
        raise


def drain_events(events: Any, timeout: float) -> list[tuple[Any, ...]]:
    """What the group processes said since the last call (waiting up to ``timeout`` for the first)."""
    got: list[tuple[Any, ...]] = []
    with contextlib.suppress(queue.Empty):
        got.append(events.get(timeout=timeout))
        while True:
            got.append(events.get_nowait())
    return got


__all__ = ["GroupSpec", "drain_events", "group_main", "raise_file_limit", "shipped_policy"]
