"""A virtual blood-glucose meter (Glucose Service 1.0.1) with a Record Access Control Point.

Unlike the other devices it keeps its records after sending them (a meter's memory is the
patient's logbook) and sends them only when asked through the RACP: report all records,
report records >= a sequence number, report the number of records, abort, delete.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import datetime
from typing import ClassVar

from bumble import att, gatt
from bumble.device import Connection

from gatt.glucose import (
    ConcentrationUnit,
    GlucoseFeature,
    GlucoseFeatureFlags,
    GlucoseMeasurement,
    GlucoseType,
    SampleLocation,
)
from gatt.racp import RacpOpcode, RacpOperator, RacpRequest, RacpResponseCode
from simulator import gatt_ids
from simulator.devices import racp
from simulator.devices.base import VirtualDevice
from simulator.devices.services import Perms, Props
from simulator.model import DeviceKind, Reading

MG_PER_DL_PER_MMOL_PER_L = 18.016
# Records leave the meter one connection event apart (7.5 ms is the shortest LE interval).
RECORD_PACING_SECONDS = 0.0075

CCCD_NOTIFY = 0x01
CCCD_INDICATE = 0x02


class GlucoseMeter(VirtualDevice):
    """Notifies Glucose Measurement records on RACP request."""

    kind: ClassVar[DeviceKind] = DeviceKind.GLUCOSE
    service_uuid = gatt_ids.GLUCOSE_SERVICE
    measured_fields = ("glucose",)
    implausible_values: ClassVar[Mapping[str, float]] = {"glucose": 45.0}
    delivers_backlog_on_subscribe: ClassVar[bool] = False

    racp_characteristic: gatt.Characteristic[bytes] | None = None
    _procedures: dict[int, asyncio.Task[None]]

    def measurement_services(self) -> list[gatt.Service]:
        self._procedures = {}
        measurement: gatt.Characteristic[bytes] = gatt.Characteristic(
            gatt_ids.GLUCOSE_MEASUREMENT, Props.NOTIFY, Perms(0), descriptors=self.bonded_cccd()
        )
        self.attach_cccd_value(measurement)
        self.measurement_characteristic = measurement
        write_permissions = Perms.WRITEABLE
        if self.profile.requires_bonding:
            write_permissions |= Perms.WRITE_REQUIRES_ENCRYPTION
        control_point: gatt.Characteristic[bytes] = gatt.Characteristic(
            gatt_ids.RECORD_ACCESS_CONTROL_POINT,
            Props.WRITE | Props.INDICATE,
            write_permissions,
            gatt.CharacteristicValue(write=self._on_racp_write),
            descriptors=self.bonded_cccd(),
        )
        self.attach_cccd_value(control_point)
        self.racp_characteristic = control_point
        feature: gatt.Characteristic[bytes] = gatt.Characteristic(
            gatt_ids.GLUCOSE_FEATURE,
            Props.READ,
            Perms.READABLE,
            bytes(GlucoseFeature(GlucoseFeatureFlags.MULTIPLE_BOND)),
        )
        return [gatt.Service(gatt_ids.GLUCOSE_SERVICE, [measurement, feature, control_point])]

    def encode(self, reading: Reading, device_time: datetime, seq: int, *, alt_unit: bool) -> bytes:
        mmol_per_l = reading.values["glucose"]
        if alt_unit:
            # kg/L = mg/dL x 1e-5 (GLS 1.0.1, 3.106.1.4)
            unit = ConcentrationUnit.KG_PER_L
            concentration = round(mmol_per_l * MG_PER_DL_PER_MMOL_PER_L * 1e-5, 6)
        else:
            unit = ConcentrationUnit.MOL_PER_L
            concentration = round(mmol_per_l * 1e-3, 5)
        return bytes(
            GlucoseMeasurement(
                sequence_number=seq,
                base_time=device_time,
                concentration=concentration,
                concentration_unit=unit,
                type=GlucoseType.CAPILLARY_WHOLE_BLOOD,
                sample_location=SampleLocation.FINGER,
            )
        )

    # ------------------------------------------------------------------ RACP
    def _cccd_bits(self, connection: Connection, characteristic: gatt.Characteristic[bytes]) -> int:
        subscriptions = self.bumble_device.gatt_server.subscribers.get(connection, {})
        value = subscriptions.get(characteristic.handle, b"\x00\x00")
        return value[0] if value else 0

    def _on_racp_write(self, connection: Connection, value: bytes) -> None:
        control_point = self.racp_characteristic
        measurement = self.measurement_characteristic
        if control_point is None or measurement is None:
            raise att.ATT_Error(att.ATT_UNLIKELY_ERROR_ERROR)
        # GLS 1.0.1, 3.4: the RACP answers by indication, so its CCCD must allow them.
        if not self._cccd_bits(connection, control_point) & CCCD_INDICATE:
            raise att.ATT_Error(racp.ATT_CCCD_IMPROPERLY_CONFIGURED)
        running = self._procedures.get(connection.handle)
        busy = running is not None and not running.done()
        is_abort = bool(value) and value[0] == RacpOpcode.ABORT_OPERATION
        if busy and not is_abort:
            raise att.ATT_Error(racp.ATT_PROCEDURE_ALREADY_IN_PROGRESS)
        if (
            value
            and value[0] == RacpOpcode.REPORT_STORED_RECORDS
            and not self._cccd_bits(connection, measurement) & CCCD_NOTIFY
        ):
            raise att.ATT_Error(racp.ATT_CCCD_IMPROPERLY_CONFIGURED)
        if is_abort and running is not None:
            running.cancel()
        self._procedures[connection.handle] = self._spawn(self._run(connection, bytes(value)))

    async def _respond(self, connection: Connection, response: bytes) -> None:
        if self.racp_characteristic is not None:
            await self.send(connection, self.racp_characteristic, response, indicate=True)

    async def _run(self, connection: Connection, value: bytes) -> None:
        # The Write Response leaves first; the procedure's answers follow it (GLS 1.0.1, 3.4).
        await asyncio.sleep(0)
        try:
            response = await self._execute(connection, racp.parse_request(value))
        except racp.RacpFailure as failure:
            response = failure.response()
        # The procedure ends with its response: the client may write the next request as soon
        # as it has it, before this task sees the confirmation.
        if self._procedures.get(connection.handle) is asyncio.current_task():
            del self._procedures[connection.handle]
        self._log.info("racp answered", request=value.hex(), response=response.hex())
        await self._respond(connection, response)

    async def _execute(self, connection: Connection, request: RacpRequest) -> bytes:
        opcode = int(request.opcode)
        if opcode == RacpOpcode.ABORT_OPERATION:
            # GLS 1.0.1, 3.4.1.3: operator Null and no operand, else Invalid Operator.
            valid = request.operator == RacpOperator.NULL and request.filter_type is None
            return racp.response_code(
                opcode, RacpResponseCode.SUCCESS if valid else RacpResponseCode.INVALID_OPERATOR
            )
        selected = racp.select(request, self.store.snapshot())
        if opcode == RacpOpcode.REPORT_NUMBER_OF_STORED_RECORDS:
            return racp.number_of_records(len(selected))
        if opcode == RacpOpcode.DELETE_STORED_RECORDS:
            for record in selected:
                self.store.forget(record.seq)
            return racp.response_code(opcode, RacpResponseCode.SUCCESS)
        if not selected:
            return racp.response_code(opcode, RacpResponseCode.NO_RECORDS_FOUND)
        measurement = self.measurement_characteristic
        if measurement is None:
            raise racp.RacpFailure(opcode, RacpResponseCode.PROCEDURE_NOT_COMPLETED)
        for record in selected:
            if not await self.send(connection, measurement, record.payload, indicate=False):
                raise racp.RacpFailure(opcode, RacpResponseCode.PROCEDURE_NOT_COMPLETED)
            self.delivered_seqs.append(record.seq)
            await asyncio.sleep(RECORD_PACING_SECONDS)
        return racp.response_code(opcode, RacpResponseCode.SUCCESS)
