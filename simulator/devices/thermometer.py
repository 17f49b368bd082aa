"""A virtual ear thermometer (Health Thermometer Service 1.0), built on the gateway's encoders."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import ClassVar

from bumble import gatt

from gatt.health_thermometer import (
    TemperatureMeasurement,
    TemperatureType,
    TemperatureUnit,
)
from simulator import gatt_ids
from simulator.devices.base import VirtualDevice
from simulator.devices.services import Perms, Props
from simulator.model import DeviceKind, Reading


class Thermometer(VirtualDevice):
    """Indicates Temperature Measurement records (type: ear)."""

    kind: ClassVar[DeviceKind] = DeviceKind.THERMOMETER
    service_uuid = gatt_ids.HEALTH_THERMOMETER_SERVICE
    measured_fields = ("temperature",)
    implausible_values: ClassVar[Mapping[str, float]] = {"temperature": 46.5}

    def measurement_services(self) -> list[gatt.Service]:
        measurement: gatt.Characteristic[bytes] = gatt.Characteristic(
            gatt_ids.TEMPERATURE_MEASUREMENT,
            Props.INDICATE,
            Perms(0),
            descriptors=self.bonded_cccd(),
        )
        self.attach_cccd_value(measurement)
        self.measurement_characteristic = measurement
        return [gatt.Service(gatt_ids.HEALTH_THERMOMETER_SERVICE, [measurement])]

    def encode(self, reading: Reading, device_time: datetime, seq: int, *, alt_unit: bool) -> bytes:
        del seq  # the temperature measurement carries no sequence number
        celsius = reading.values["temperature"]
        unit, value = TemperatureUnit.CELSIUS, round(celsius, 2)
        if alt_unit:
            unit, value = TemperatureUnit.FAHRENHEIT, round(celsius * 9 / 5 + 32, 2)
        return bytes(
            TemperatureMeasurement(
                temperature=value,
                unit=unit,
                timestamp=device_time,
                temperature_type=TemperatureType.EAR,
            )
        )
