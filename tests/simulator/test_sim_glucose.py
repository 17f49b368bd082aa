"""The virtual glucose meter's Record Access Control Point, through bleak's public API."""

from __future__ import annotations

from datetime import timedelta

import pytest
from bleak import BleakClient
from bleak.exc import BleakGATTProtocolError
from sim_helpers import (
    GLUCOSE_ADDRESS,
    GLUCOSE_MEASUREMENT,
    GLUCOSE_SERVICE,
    RACP,
    Collector,
    find,
)

from gatt.glucose import ConcentrationUnit, GlucoseMeasurement
from gatt.racp import RacpOpcode, RacpRequest, RacpResponse, RacpResponseCode
from simulator.bleak_backend import BumbleClient
from simulator.devices import DeviceProfile, VirtualDevice
from simulator.model import DeviceKind, Reading
from simulator.world import VirtualWorld

pytestmark = [pytest.mark.integration, pytest.mark.timeout(30)]


async def add_meter(world: VirtualWorld, records: int) -> VirtualDevice:
    meter = world.new_device(
        DeviceKind.GLUCOSE,
        DeviceProfile(address=GLUCOSE_ADDRESS, id="glucose", name="Contour", requires_bonding=True),
    )
    now = world.clock.now()
    for n in range(records):
        at = now - timedelta(hours=records - n)
        meter.preload(Reading(DeviceKind.GLUCOSE, at, {"glucose": 5.0 + n / 10}))
    return await world.add_device(meter)


def glucose(payload: bytes) -> tuple[int, float | None]:
    measurement = GlucoseMeasurement.from_bytes(payload)
    assert measurement.concentration_unit is ConcentrationUnit.MOL_PER_L
    return measurement.sequence_number, measurement.canonical


async def connected(world: VirtualWorld) -> tuple[BleakClient, Collector, Collector]:
    device = await find(world, GLUCOSE_SERVICE)
    client = BleakClient(device, backend=BumbleClient, timeout=5, pair=True)
    await client.connect()
    records, answers = Collector(), Collector()
    await client.start_notify(GLUCOSE_MEASUREMENT, records)
    await client.start_notify(RACP, answers)
    return client, records, answers


async def test_racp_report_all_records(world: VirtualWorld) -> None:
    meter = await add_meter(world, records=3)
    client, records, answers = await connected(world)
    try:
        await client.write_gatt_char(RACP, bytes(RacpRequest.report_all()), response=True)
        (answer,) = await answers.wait_for(1)
    finally:
        await client.disconnect()

    assert [glucose(v) for v in records.values] == [(1, 5.0), (2, 5.1), (3, 5.2)]
    response = RacpResponse.from_bytes(answer)
    assert response.request_opcode == RacpOpcode.REPORT_STORED_RECORDS
    assert response.response_code == RacpResponseCode.SUCCESS
    assert len(meter.store) == 3  # a meter keeps its logbook


async def test_racp_number_of_records_and_report_from_a_sequence_number(
    world: VirtualWorld,
) -> None:
    await add_meter(world, records=4)
    client, records, answers = await connected(world)
    try:
        await client.write_gatt_char(RACP, bytes(RacpRequest.number_of_records()), response=True)
        await answers.wait_for(1)
        await client.write_gatt_char(RACP, bytes(RacpRequest.report_after(3)), response=True)
        await answers.wait_for(2)
    finally:
        await client.disconnect()

    count = RacpResponse.from_bytes(answers.values[0])
    assert count.number_of_records == 4
    assert [glucose(v)[0] for v in records.values] == [3, 4]
    assert RacpResponse.from_bytes(answers.values[1]).succeeded


async def test_racp_abort_stops_a_running_report(world: VirtualWorld) -> None:
    await add_meter(world, records=60)
    client, records, answers = await connected(world)
    try:
        await client.write_gatt_char(RACP, bytes(RacpRequest.report_all()), response=True)
        await records.wait_for(3)
        await client.write_gatt_char(RACP, bytes(RacpRequest.abort()), response=True)
        (answer,) = await answers.wait_for(1)
    finally:
        await client.disconnect()

    response = RacpResponse.from_bytes(answer)
    assert response.request_opcode == RacpOpcode.ABORT_OPERATION
    assert response.response_code == RacpResponseCode.SUCCESS
    assert 3 <= len(records.values) < 60


async def test_racp_answers_no_records_and_unsupported_requests(world: VirtualWorld) -> None:
    await add_meter(world, records=0)
    client, _records, answers = await connected(world)
    try:
        await client.write_gatt_char(RACP, bytes(RacpRequest.report_all()), response=True)
        await client.write_gatt_char(RACP, bytes([0x09, 0x01]), response=True)  # no such op
        await answers.wait_for(2)
    finally:
        await client.disconnect()
    codes = [RacpResponse.from_bytes(v).response_code for v in answers.values]
    assert codes == [RacpResponseCode.NO_RECORDS_FOUND, RacpResponseCode.OP_CODE_NOT_SUPPORTED]


async def test_racp_needs_its_indications_enabled(world: VirtualWorld) -> None:
    await add_meter(world, records=1)
    device = await find(world, GLUCOSE_SERVICE)
    async with BleakClient(device, backend=BumbleClient, timeout=5, pair=True) as client:
        with pytest.raises(BleakGATTProtocolError) as refused:
            await client.write_gatt_char(RACP, bytes(RacpRequest.report_all()), response=True)
    # Core Specification Supplement, Part B, 1.2: CCCD improperly configured.
    assert int(refused.value.code) == 0xFD
