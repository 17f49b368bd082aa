"""DeviceSession's own logic against a simulated device, with an in-memory SessionStore.

The session keeps its state between sessions only through the :class:`SessionStore`
protocol (the outbox implements it; tests/gateway/test_gateway_simulated.py runs the whole
service on the real outbox). Here an in-memory store shows what the session asks of it and
what it does with the answers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from bleak import BleakScanner

from gateway.outbox import AddResult
from gateway.readings import BuiltReading, DeviceIdentity
from gateway.session import DeviceSession, SessionStore
from gatt.uuids import ServiceUUID, uuid128
from simulator.bleak_backend import BumbleScanner
from simulator.gateway_plugin import simulator_backend
from simulator.runner import HouseholdSimulation
from simulator.scenario import parse_scenario
from tests.gateway.helpers import FAST_SESSION, bp_device

pytestmark = pytest.mark.unit

GLUCOSE = "C0:26:DA:00:00:07"
BP = "A4:C1:38:00:00:07"


@dataclass
class MemorySessionStore(SessionStore):
    """:class:`SessionStore` in memory, recording what the session stored."""

    identities: dict[str, DeviceIdentity] = field(default_factory=dict)
    sequences: dict[str, int] = field(default_factory=dict)
    malformed: list[tuple[str, int, bytes, str]] = field(default_factory=list)
    identity_writes: int = 0

    def cached_device_info(self, address: str, max_age: timedelta | None = None) -> DeviceIdentity | None:
        return self.identities.get(address)

    def store_device_info(self, identity: DeviceIdentity) -> None:
        self.identity_writes += 1
        self.identities[identity.address] = identity

    def last_sequence(self, address: str) -> int | None:
        return self.sequences.get(address)

    def set_last_sequence(self, address: str, sequence: int) -> None:
        self.sequences[address] = sequence

    def record_malformed(self, address: str, uuid: int, raw: bytes, error: str) -> None:
        self.malformed.append((address, uuid, raw, error))


async def _session(device_spec: dict[str, Any], service: int, store: MemorySessionStore) -> list[BuiltReading]:
    scenario = parse_scenario({"name": "session", "seed": 3, "devices": [device_spec]})
    readings: list[BuiltReading] = []

    def sink(reading: BuiltReading) -> AddResult:
        readings.append(reading)
        return AddResult.STORED

    async with HouseholdSimulation(scenario, speed=1.0) as simulation:
        backend = simulator_backend(simulation.world)
        device = await BleakScanner.find_device_by_filter(
            lambda _d, ad: uuid128(service) in ad.service_uuids, timeout=10, backend=BumbleScanner,
            world=simulation.world)
        assert device is not None
        session = DeviceSession(backend, device, address=device.address, store=store,
                                sink=sink, config=FAST_SESSION)
        report = await session.run()
    assert report.complete, report.error
    return readings


async def test_a_glucose_session_asks_only_for_records_after_the_stored_sequence():
    store = MemorySessionStore(sequences={GLUCOSE: 2})
    readings = await _session({"id": "meter", "kind": "glucose", "address": GLUCOSE, "backlog": 4,
                               "advertise_seconds": None}, ServiceUUID.GLUCOSE, store)
    sequences = [reading.reading.model_dump()["values"]["sequence_number"] for reading in readings]
    assert sequences == [3, 4]
    assert store.sequences[GLUCOSE] == 4


async def test_a_cached_identity_is_used_instead_of_reading_device_information_again():
    cached = DeviceIdentity(BP, manufacturer="A&D Medical", model="UA-651BLE", serial="cached-7", firmware="9.9")
    store = MemorySessionStore(identities={BP: cached})
    readings = await _session(bp_device("bp", BP, backlog=2), ServiceUUID.BLOOD_PRESSURE, store)
    assert len(readings) == 2
    assert {reading.reading.model_dump()["device"]["serial"] for reading in readings} == {"cached-7"}
    assert store.identity_writes == 0


async def test_an_unknown_device_has_its_identity_read_and_stored():
    store = MemorySessionStore()
    readings = await _session(bp_device("bp", BP, backlog=1), ServiceUUID.BLOOD_PRESSURE, store)
    assert store.identity_writes == 1
    assert store.identities[BP].model == "UA-651BLE"
    assert readings[0].reading.model_dump()["device"]["model"] == "UA-651BLE"

