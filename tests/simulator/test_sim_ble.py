"""The virtual devices through bleak's public API (BleakScanner/BleakClient, backend=...).

These run the real Bumble stack in-process: controllers on a LocalLink, HCI, LL, L2CAP, SMP
and ATT; nothing is mocked.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest
from bleak import BleakClient, BleakScanner
from bleak.exc import BleakDeviceNotFoundError, BleakGATTProtocolError, BleakGATTProtocolErrorCode
from bleak_retry_connector import establish_connection
from sim_helpers import (
    BP_ADDRESS,
    BP_MEASUREMENT,
    BP_SERVICE,
    CURRENT_TIME,
    SCALE_ADDRESS,
    SCALE_SERVICE,
    WEIGHT_MEASUREMENT,
    Collector,
    add_bp,
    bp_reading,
    find,
)

from gatt.blood_pressure import BloodPressureMeasurement
from gatt.current_time import CurrentTime
from gatt.uuids import CharacteristicUUID, uuid128
from gatt.weight_scale import WeightMeasurement
from simulator.bleak_backend import BumbleClient, BumbleScanner, use_world
from simulator.devices import ClockSettings, DeviceProfile
from simulator.errors import NoWorldError
from simulator.model import DeviceKind, Reading
from simulator.world import VirtualWorld
from tests.support.waiting import wait_until_async

pytestmark = [pytest.mark.integration, pytest.mark.timeout(30)]


async def add_scale(world: VirtualWorld, *, backlog: int = 0) -> None:
    scale = world.new_device(
        DeviceKind.WEIGHT_SCALE,
        DeviceProfile(address=SCALE_ADDRESS, id="scale", name="UC-352BLE", rssi=-71),
    )
    for n in range(backlog):
        at = world.clock.now() - timedelta(days=backlog - n)
        scale.preload(Reading(DeviceKind.WEIGHT_SCALE, at, {"weight": 80.0 + n}, user_slot=1))
    await world.add_device(scale)


def systolic(payload: bytes) -> float | None:
    return BloodPressureMeasurement.from_bytes(payload).systolic


async def test_discovery_by_service_uuid_reports_name_services_and_rssi(world: VirtualWorld) -> None:
    await add_bp(world, rssi=-48)
    await add_scale(world)

    found = await BleakScanner.discover(
        timeout=0.5, return_adv=True, service_uuids=[BP_SERVICE], backend=BumbleScanner, world=world
    )

    assert list(found) == [BP_ADDRESS]
    device, advertisement = found[BP_ADDRESS]
    assert device.name == "UA-651BLE"
    assert advertisement.local_name == "UA-651BLE"
    assert advertisement.service_uuids == [BP_SERVICE]
    assert advertisement.rssi == -48


async def test_reads_device_information(world: VirtualWorld) -> None:
    await add_bp(world)
    device = await find(world, BP_SERVICE)

    async with BleakClient(device, backend=BumbleClient, timeout=5) as client:
        info = {
            name: (await client.read_gatt_char(uuid128(uuid))).decode()
            for name, uuid in (
                ("manufacturer", CharacteristicUUID.MANUFACTURER_NAME_STRING),
                ("model", CharacteristicUUID.MODEL_NUMBER_STRING),
                ("serial", CharacteristicUUID.SERIAL_NUMBER_STRING),
                ("firmware", CharacteristicUUID.FIRMWARE_REVISION_STRING),
            )
        }
        battery = await client.read_gatt_char(uuid128(CharacteristicUUID.BATTERY_LEVEL))

    assert info == {"manufacturer": "A&D Medical", "model": "UA-651BLE", "serial": "5081234",
                    "firmware": "1.2"}
    assert battery == bytearray([100])

    dis = uuid128(0x180A)
    async with BleakClient(device, services=[dis], backend=BumbleClient, timeout=5) as client:
        assert [service.uuid for service in client.services] == [dis]


async def test_backlog_arrives_once_and_is_forgotten_after_confirmation(world: VirtualWorld) -> None:
    monitor = await add_bp(world, backlog=5)
    device = await find(world, BP_SERVICE)

    async with BleakClient(device, backend=BumbleClient, timeout=5) as client:
        collector = Collector()
        await client.start_notify(BP_MEASUREMENT, collector)
        values = await collector.wait_for(5)
        await asyncio.sleep(0.2)  # nothing more may come
        assert [systolic(v) for v in collector.values] == [120, 121, 122, 123, 124]
        assert len(values) == 5

        # A new measurement while subscribed is indicated right away, and forgotten too.
        monitor.measure(bp_reading(world.clock.now(), systolic=131))
        await collector.wait_for(6)
        assert systolic(collector.values[5]) == 131

    await wait_until_async(lambda: len(monitor.store) == 0, 2, "the monitor to forget its delivered records")
    assert monitor.delivered_seqs == [1, 2, 3, 4, 5, 6]

    # A second connection gets nothing: every record was confirmed.
    async with BleakClient(device, backend=BumbleClient, timeout=5) as client:
        again = Collector()
        await client.start_notify(BP_MEASUREMENT, again)
        await asyncio.sleep(0.3)
        assert again.values == []


async def test_current_time_write_sets_the_device_clock(world: VirtualWorld) -> None:
    monitor = await add_bp(world, clock=ClockSettings(offset_seconds=-3 * 3600))
    device = await find(world, BP_SERVICE)

    async with BleakClient(device, backend=BumbleClient, timeout=5) as client:
        before = CurrentTime.from_bytes(bytes(await client.read_gatt_char(CURRENT_TIME)))
        assert before.date_time is not None
        local_now = monitor.clock.local(world.clock.now())
        assert abs((before.date_time - local_now) + timedelta(hours=3)) < timedelta(seconds=5)

        wanted = datetime(2026, 11, 23, 10, 0, 0)
        await client.write_gatt_char(CURRENT_TIME, bytes(CurrentTime.for_datetime(wanted)),
                                     response=True)
        after = CurrentTime.from_bytes(bytes(await client.read_gatt_char(CURRENT_TIME)))

    assert after.date_time is not None
    assert timedelta(0) <= after.date_time - wanted < timedelta(seconds=2)
    # Measurements are stamped with the corrected clock from now on.
    record = monitor.measure(bp_reading(world.clock.now()))
    assert timedelta(0) <= record.device_time - wanted < timedelta(seconds=2)


async def test_current_time_write_of_garbage_is_refused(world: VirtualWorld) -> None:
    await add_bp(world)
    device = await find(world, BP_SERVICE)
    async with BleakClient(device, backend=BumbleClient, timeout=5) as client:
        with pytest.raises(BleakGATTProtocolError) as short:
            await client.write_gatt_char(CURRENT_TIME, b"\x01\x02\x03", response=True)
        with pytest.raises(BleakGATTProtocolError) as no_date:
            await client.write_gatt_char(CURRENT_TIME, bytes(10), response=True)
    assert short.value.code is BleakGATTProtocolErrorCode.INVALID_ATTRIBUTE_VALUE_LENGTH
    assert int(no_date.value.code) == 0x80  # CTS 1.1: "Data field ignored"


async def test_monitor_refuses_measurements_until_bonded(world: VirtualWorld) -> None:
    monitor = await add_bp(world, backlog=2, requires_bonding=True)
    device = await find(world, BP_SERVICE)

    async with BleakClient(device, backend=BumbleClient, timeout=5) as client:
        collector = Collector()
        with pytest.raises(BleakGATTProtocolError) as refused:
            await client.start_notify(BP_MEASUREMENT, collector)
        # Core Vol 3, Part C, 10.3.2: no key for this client -> Insufficient Authentication.
        assert refused.value.code is BleakGATTProtocolErrorCode.INSUFFICIENT_AUTHENTICATION
        assert len(monitor.store) == 2

        await client.pair()
        await client.start_notify(BP_MEASUREMENT, collector)
        await collector.wait_for(2)
    assert collector.values and len(collector.values) == 2

    # The bond persists: a reconnection is encrypted with the stored key, no pair() needed.
    monitor.measure(bp_reading(world.clock.now(), systolic=140))
    async with BleakClient(device, backend=BumbleClient, timeout=5) as client:
        again = Collector()
        await client.start_notify(BP_MEASUREMENT, again)
        await again.wait_for(1)
    assert systolic(again.values[0]) == 140


async def test_disconnect_mid_transfer_fires_the_callback_and_keeps_the_rest(
    world: VirtualWorld,
) -> None:
    monitor = await add_bp(world, backlog=5, drop_after_n_indications=2)
    device = await find(world, BP_SERVICE)
    dropped = asyncio.Event()
    seen: list[BleakClient] = []

    def on_disconnect(client: BleakClient) -> None:
        seen.append(client)
        dropped.set()

    client = BleakClient(device, disconnected_callback=on_disconnect, backend=BumbleClient,
                         timeout=5)
    await client.connect()
    collector = Collector()
    await client.start_notify(BP_MEASUREMENT, collector)
    async with asyncio.timeout(5):
        await dropped.wait()

    assert seen == [client]
    assert not client.is_connected
    assert [systolic(v) for v in collector.values] == [120, 121]
    assert len(monitor.store) == 3  # unconfirmed records stay on the device

    # The device drops one connection only (drop_connections=1): the rest comes next time.
    async with BleakClient(device, backend=BumbleClient, timeout=5) as second:
        rest = Collector()
        await second.start_notify(BP_MEASUREMENT, rest)
        await rest.wait_for(3)
    assert [systolic(v) for v in rest.values] == [122, 123, 124]


async def test_two_devices_served_at_once(world: VirtualWorld) -> None:
    await add_bp(world, backlog=3)
    await add_scale(world, backlog=2)
    bp_device, scale_device = await asyncio.gather(find(world, BP_SERVICE),
                                                   find(world, SCALE_SERVICE))

    async def read_backlog(device: object, uuid: str, count: int) -> list[bytes]:
        async with BleakClient(device, backend=BumbleClient, timeout=5) as client:  # type: ignore[arg-type]
            collector = Collector()
            await client.start_notify(uuid, collector)
            return await collector.wait_for(count)

    bp_values, scale_values = await asyncio.gather(
        read_backlog(bp_device, BP_MEASUREMENT, 3),
        read_backlog(scale_device, WEIGHT_MEASUREMENT, 2),
    )

    assert [systolic(v) for v in bp_values] == [120, 121, 122]
    assert [WeightMeasurement.from_bytes(v).weight for v in scale_values] == [80.0, 81.0]


async def test_advertises_only_for_a_window_after_a_measurement(world: VirtualWorld) -> None:
    monitor = await add_bp(world, advertise_seconds=0.4)
    assert not monitor.is_advertising
    with pytest.raises(TimeoutError):
        async with BleakClient(BP_ADDRESS, backend=BumbleClient, timeout=0.3, world=world):
            pass

    monitor.measure(bp_reading(world.clock.now()))
    device = await find(world, BP_SERVICE, within=2)
    assert device.address == BP_ADDRESS
    await wait_until_async(lambda: not monitor.is_advertising, 3, "the monitor to stop advertising")


async def test_client_finds_the_world_by_context_and_reports_unknown_devices(
    world: VirtualWorld,
) -> None:
    await add_bp(world)
    with use_world(world):
        async with BleakClient(BP_ADDRESS, backend=BumbleClient, timeout=5) as client:
            assert client.is_connected
            assert client.name == "UA-651BLE"
        with pytest.raises(BleakDeviceNotFoundError):
            await BleakClient("A4:C1:38:99:99:99", backend=BumbleClient, timeout=1).connect()


async def test_without_a_running_world_the_backend_says_what_to_do() -> None:
    with pytest.raises(NoWorldError, match="Start a VirtualWorld"):
        await BleakScanner(backend=BumbleScanner).start()


async def test_bleak_retry_connector_connects_through_the_backend(world: VirtualWorld) -> None:
    # The gateway connects with bleak-retry-connector on every backend.
    await add_bp(world)
    device = await find(world, BP_SERVICE)
    client = await establish_connection(
        BleakClient, device, "bp", max_attempts=2, backend=BumbleClient, world=world
    )
    try:
        model = await client.read_gatt_char(uuid128(CharacteristicUUID.MODEL_NUMBER_STRING))
    finally:
        await client.disconnect()
    assert model == bytearray(b"UA-651BLE")
