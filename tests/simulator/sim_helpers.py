"""Shared helpers of the simulator tests (a unique module name: tests/ has no packages)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from bleak import BleakScanner
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.device import BLEDevice

from gatt.uuids import CharacteristicUUID, ServiceUUID, uuid128
from simulator.bleak_backend import BumbleScanner
from simulator.devices import DeviceProfile, VirtualDevice
from simulator.model import DeviceKind, Reading
from simulator.world import VirtualWorld

START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)

BP_SERVICE = uuid128(ServiceUUID.BLOOD_PRESSURE)
SCALE_SERVICE = uuid128(ServiceUUID.WEIGHT_SCALE)
GLUCOSE_SERVICE = uuid128(ServiceUUID.GLUCOSE)
BP_MEASUREMENT = uuid128(CharacteristicUUID.BLOOD_PRESSURE_MEASUREMENT)
WEIGHT_MEASUREMENT = uuid128(CharacteristicUUID.WEIGHT_MEASUREMENT)
GLUCOSE_MEASUREMENT = uuid128(CharacteristicUUID.GLUCOSE_MEASUREMENT)
RACP = uuid128(CharacteristicUUID.RECORD_ACCESS_CONTROL_POINT)
CURRENT_TIME = uuid128(CharacteristicUUID.CURRENT_TIME)

BP_ADDRESS = "A4:C1:38:00:11:22"
SCALE_ADDRESS = "D0:39:72:B4:50:1A"
GLUCOSE_ADDRESS = "C0:26:DA:01:02:03"


def bp_reading(at: datetime, systolic: float = 128, diastolic: float = 82, *, slot: int | None = 1,
               pulse: float = 64) -> Reading:
    return Reading(DeviceKind.BLOOD_PRESSURE, at, {"systolic": systolic, "diastolic": diastolic,
                                                   "pulse_rate": pulse}, user_slot=slot)


async def add_bp(world: VirtualWorld, *, backlog: int = 0, **profile: object) -> VirtualDevice:
    """A BP monitor with ``backlog`` stored readings (systolic 120, 121, ...), one per hour."""
    settings: dict[str, object] = {"address": BP_ADDRESS, "id": "bp", "name": "UA-651BLE",
                                   "manufacturer": "A&D Medical", "model": "UA-651BLE",
                                   "serial": "5081234", "firmware": "1.2"}
    settings.update(profile)
    device = world.new_device(DeviceKind.BLOOD_PRESSURE, DeviceProfile(**settings))  # type: ignore[arg-type]
    now = world.clock.now()
    for n in range(backlog):
        device.preload(bp_reading(now - timedelta(hours=backlog - n), systolic=120 + n))
    return await world.add_device(device)


async def find(world: VirtualWorld, service_uuid: str, within: float = 5.0) -> BLEDevice:
    device = await BleakScanner.find_device_by_filter(
        lambda _d, ad: service_uuid in ad.service_uuids,
        timeout=within,
        backend=BumbleScanner,
        world=world,
    )
    assert device is not None, f"nothing advertised {service_uuid}"
    return device


class Collector:
    """A notify callback that keeps every value and can wait for a count."""

    def __init__(self) -> None:
        self.values: list[bytes] = []
        self._changed = asyncio.Event()

    def __call__(self, _characteristic: BleakGATTCharacteristic, data: bytearray) -> None:
        self.values.append(bytes(data))
        self._changed.set()

    async def wait_for(self, count: int, within: float = 5.0) -> list[bytes]:
        async with asyncio.timeout(within):
            while len(self.values) < count:
                self._changed.clear()
                await self._changed.wait()
        return self.values
