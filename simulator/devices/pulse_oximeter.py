"""A virtual spot-check pulse oximeter (Pulse Oximeter Service 1.0.1).

Stored spot-checks are indicated after subscription, like the other devices, rather than
through a Record Access Control Point (PLXS makes measurement storage optional).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import ClassVar

from bumble import gatt

from gatt.pulse_oximeter import PlxFeatures, PlxSpotCheckMeasurement, PlxSupportedFeatures
from simulator import gatt_ids
from simulator.devices.base import VirtualDevice
from simulator.devices.services import Perms, Props
from simulator.model import DeviceKind, Reading


class PulseOximeter(VirtualDevice):
    """Indicates PLX Spot-Check Measurement records."""

    kind: ClassVar[DeviceKind] = DeviceKind.PULSE_OXIMETER
    service_uuid = gatt_ids.PULSE_OXIMETER_SERVICE
    measured_fields = ("spo2", "pulse_rate")
    implausible_values: ClassVar[Mapping[str, float]] = {"spo2": 42.0, "pulse_rate": 260.0}

    def measurement_services(self) -> list[gatt.Service]:
        measurement: gatt.Characteristic[bytes] = gatt.Characteristic(
            gatt_ids.PLX_SPOT_CHECK_MEASUREMENT,
            Props.INDICATE,
            Perms(0),
            descriptors=self.bonded_cccd(),
        )
        self.attach_cccd_value(measurement)
        self.measurement_characteristic = measurement
        features: gatt.Characteristic[bytes] = gatt.Characteristic(
            gatt_ids.PLX_FEATURES,
            Props.READ,
            Perms.READABLE,
            bytes(PlxFeatures(PlxSupportedFeatures.SPOT_CHECK_TIMESTAMP)),
        )
        return [gatt.Service(gatt_ids.PULSE_OXIMETER_SERVICE, [measurement, features])]

    def encode(self, reading: Reading, device_time: datetime, seq: int, *, alt_unit: bool) -> bytes:
        del seq, alt_unit  # SpO2 (%) and pulse rate (1/min) have one unit each
        return bytes(
            PlxSpotCheckMeasurement(
                spo2=reading.values["spo2"],
                pulse_rate=reading.values["pulse_rate"],
                timestamp=device_time,
                # PLXS 1.0.1, 3.1.1.1 flag bit 4: the clock was never set since power-up.
                device_clock_not_set=self.clock.unset,
            )
        )
