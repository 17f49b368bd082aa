"""The backlog itself: each gateway's real SQLite outbox (gateway/outbox.py), filled before "go".

The readings are the ingest benchmark's deterministic messages (benchmarks/ingest/fleet.py),
generated for the same gateway ranges and seed as the baseline publisher's processes, so both
runs carry the very same readings (ids, values, devices). Each reading goes through the
contract's own model, as a gateway builds it, and into the outbox with ``Outbox.add``, the
gateway's only way in. For speed the seed turns the outbox's fsync off while it fills it
(``PRAGMA synchronous=OFF``) and closes it; the run opens it again with ``Outbox.open``,
which sets the shipped ``synchronous=FULL``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from pydantic import TypeAdapter

from benchmarks.ingest.fleet import Fleet, generate_messages
from gateway.clock import MeasuredAt
from gateway.outbox import AddResult, Outbox
from gateway.readings import BuiltReading
from homevitals.contract import Reading, utc_text

_READING: TypeAdapter[Reading] = TypeAdapter(Reading)


def outbox_path(folder: Path, gateway_id: str) -> Path:
    return folder / f"{gateway_id}.sqlite3"


def backlog_readings(
    fleet: Fleet, gateways: range, readings_per_gateway: int, per_message: int, seed: int
) -> Iterator[tuple[str, list[BuiltReading]]]:
    """(gateway id, its readings) for each gateway of ``gateways``, as contract models."""
    gateway_time = utc_text(datetime.now(UTC))
    current: str | None = None
    built: list[BuiltReading] = []
    for _topic, payload in generate_messages(fleet, gateways, readings_per_gateway, per_message, seed):
        message = json.loads(payload)
        if message["gateway_id"] != current:
            if current is not None:
                yield current, built
            current, built = message["gateway_id"], []
        for raw in message["readings"]:
            raw["gateway_time"] = gateway_time
            reading = _READING.validate_json(json.dumps(raw))
            built.append(
                BuiltReading(
                    reading=reading,
                    json=reading.model_dump_json(),
                    timing=MeasuredAt(reading.measured_at, reading.time_source),
                )
            )
    if current is not None:
        yield current, built


def seed_outboxes(
    folder: Path,
    fleet: Fleet,
    gateways: range,
    readings_per_gateway: int,
    per_message: int,
    seed: int,
    progress: Callable[[int], None],
) -> int:
    """Fill one outbox file per gateway; ``progress(readings)`` after each gateway. Returns the
    readings stored (every one must be new: the ids are unique)."""
    total = 0
    for gateway_id, readings in backlog_readings(fleet, gateways, readings_per_gateway, per_message, seed):
        with Outbox.open(outbox_path(folder, gateway_id), limit=max(100_000, len(readings))) as outbox:
            outbox._db.execute("PRAGMA synchronous=OFF")  # the seed only; the run reopens with FULL
            stored = sum(outbox.add(reading) is AddResult.STORED for reading in readings)
        if stored != len(readings):
            raise RuntimeError(f"{gateway_id}: {len(readings) - stored} seeded readings were duplicates")
        total += stored
        progress(stored)
    return total
