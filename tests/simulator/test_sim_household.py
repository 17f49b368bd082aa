"""A running household, read the way the gateway will: in-process, through bleak."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from bleak import BleakClient, BleakScanner
from sim_helpers import BP_MEASUREMENT, BP_SERVICE, Collector

from gatt.blood_pressure import BloodPressureMeasurement
from simulator.bleak_backend import BumbleClient, BumbleScanner
from simulator.runner import HouseholdSimulation
from simulator.scenario import parse_scenario
from tests.support.waiting import wait_until_async

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

# Pinned: Monday 23 November 2026, 06:00 in Copenhagen; sessions a few simulated minutes away.
SCENARIO: dict[str, Any] = {
    "name": "test-household",
    "seed": 11,
    "start": "2026-11-23T06:00:00+01:00",
    "devices": [{
        "id": "bp", "kind": "blood_pressure", "address": "A4:C1:38:00:11:22",
        "user_slots": 2, "requires_bonding": True, "advertise_seconds": 30, "backlog": 3,
        "clock": {"offset_seconds": 600},
        "faults": [{"kind": "nan", "on_measurements": [2]}],
    }],
    "citizens": [
        {"id": "anna", "schedules": [{"device": "bp", "user_slot": 1, "protocol": "esh_home_bp",
                                      "days": 1, "sessions": ["06:05", "06:20"],
                                      "jitter_minutes": 0}]},
        {"id": "bent", "schedules": [{"device": "bp", "user_slot": 2, "protocol": "esh_home_bp",
                                      "days": 1, "sessions": ["06:10", "06:25"],
                                      "jitter_minutes": 0}]},
    ],
}


async def test_gateway_style_reader_gets_every_record_exactly_once() -> None:
    scenario = parse_scenario(SCENARIO)
    # 600x: one simulated minute per 0.1 s; the schedule takes ~2.5 s of wall time.
    async with HouseholdSimulation(scenario, speed=600) as sim:
        assert len(sim.plan) == 8
        monitor = sim.device("bp")
        stored_at_start = [r.payload for r in monitor.store]
        assert len(stored_at_start) == 3

        # No world= anywhere: the backend finds the only running world by itself.
        device = await BleakScanner.find_device_by_filter(
            lambda _d, ad: BP_SERVICE in ad.service_uuids, timeout=5, backend=BumbleScanner
        )
        assert device is not None
        collector = Collector()
        async with BleakClient(device, backend=BumbleClient, timeout=5) as client:
            await client.pair()
            await client.start_notify(BP_MEASUREMENT, collector)
            assert await sim.wait(timeout=20)
            await collector.wait_for(3 + 8)
            await wait_until_async(lambda: len(monitor.store) == 0, 2, "the monitor to forget its delivered records")

    made = [m.record.payload for m in sim.made]
    assert collector.values == stored_at_start + made
    decoded = [BloodPressureMeasurement.from_bytes(v) for v in collector.values]
    assert {d.user_id for d in decoded[3:]} == {1, 2}
    failed = [d for d in decoded if d.invalid_values]
    assert len(failed) == 1 and failed[0].systolic is None
    # The device clock runs 10 minutes fast: its stamps are 10 minutes after local time.
    first = sim.made[0]
    assert first.record.device_time.strftime("%H:%M") == "06:15"


async def test_devices_advertise_after_each_measurement_and_fall_silent_again() -> None:
    data = dict(SCENARIO)
    data["devices"] = [dict(SCENARIO["devices"][0], backlog=0, advertise_seconds=0.3)]
    async with HouseholdSimulation(parse_scenario(data), speed=600) as sim:
        monitor = sim.device("bp")
        assert not monitor.is_advertising  # nothing stored, nothing to say
        await wait_until_async(lambda: len(sim.made) >= 1, 5, "the first measurement")
        await wait_until_async(lambda: monitor.is_advertising, 1, "the monitor to advertise", interval=0.01)
        await wait_until_async(lambda: not monitor.is_advertising, 2, "the monitor to fall silent", interval=0.01)
        await asyncio.wait_for(sim.wait(), timeout=10)
