"""A virtual blood-pressure monitor (Blood Pressure Service 1.1.1), with user slots.

Payloads are built with the gateway's encoders (:mod:`gatt.blood_pressure`), so the
device sends exactly what the decoders are specified against.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import ClassVar

from bumble import gatt

from gatt.blood_pressure import (
    UNKNOWN_USER,
    BloodPressureFeature,
    BloodPressureFeatureFlags,
    BloodPressureMeasurement,
    MeasurementStatus,
    PressureUnit,
    PulseRateRange,
)
from simulator import gatt_ids
from simulator.devices.base import VirtualDevice
from simulator.devices.services import Perms, Props
from simulator.model import DeviceKind, Reading

KPA_PER_MMHG = 0.133322
# The range the monitor checks the pulse against (BLS 1.1.1, 3.1.1.6 leaves it to the device).
PULSE_UPPER_LIMIT = 180.0
PULSE_LOWER_LIMIT = 40.0

# BLS 1.1.1, 3.3: what this monitor can detect.
_FEATURES = (
    BloodPressureFeatureFlags.BODY_MOVEMENT_DETECTION
    | BloodPressureFeatureFlags.CUFF_FIT_DETECTION
    | BloodPressureFeatureFlags.IRREGULAR_PULSE_DETECTION
    | BloodPressureFeatureFlags.PULSE_RATE_RANGE_DETECTION
    | BloodPressureFeatureFlags.MEASUREMENT_POSITION_DETECTION
)


def mean_arterial_pressure(systolic: float, diastolic: float) -> float:
    """The usual estimate MAP = DIA + (SYS - DIA) / 3, rounded as monitors report it."""
    estimate = diastolic + (systolic - diastolic) / 3
    return estimate if math.isnan(estimate) else float(round(estimate))


def measurement_status(values: Mapping[str, float], pulse: float | None) -> MeasurementStatus:
    """BLS 1.1.1, 3.1.1.6; the reading's values may switch flags on (``irregular_pulse: 1``)."""
    pulse_range = PulseRateRange.IN_RANGE
    if pulse is not None and not math.isnan(pulse):
        if pulse > PULSE_UPPER_LIMIT:
            pulse_range = PulseRateRange.EXCEEDS_UPPER
        elif pulse < PULSE_LOWER_LIMIT:
            pulse_range = PulseRateRange.BELOW_LOWER
    return MeasurementStatus(
        body_movement=values.get("body_movement", 0.0) > 0,
        cuff_fit_loose=values.get("cuff_fit_loose", 0.0) > 0,
        irregular_pulse=values.get("irregular_pulse", 0.0) > 0,
        pulse_rate_range=pulse_range,
        improper_position=values.get("improper_position", 0.0) > 0,
    )


class BloodPressureMonitor(VirtualDevice):
    """Indicates Blood Pressure Measurement records; several users share one monitor."""

    kind: ClassVar[DeviceKind] = DeviceKind.BLOOD_PRESSURE
    service_uuid = gatt_ids.BLOOD_PRESSURE_SERVICE
    measured_fields = ("systolic", "diastolic", "mean_arterial_pressure", "pulse_rate")
    implausible_values: ClassVar[Mapping[str, float]] = {
        "systolic": 310.0,
        "diastolic": 215.0,
        "mean_arterial_pressure": 247.0,
        "pulse_rate": 251.0,
    }

    def measurement_services(self) -> list[gatt.Service]:
        measurement: gatt.Characteristic[bytes] = gatt.Characteristic(
            gatt_ids.BLOOD_PRESSURE_MEASUREMENT,
            Props.INDICATE,
            Perms(0),
            descriptors=self.bonded_cccd(),
        )
        self.attach_cccd_value(measurement)
        self.measurement_characteristic = measurement
        features = _FEATURES
        if self.profile.user_slots > 1:
            features |= BloodPressureFeatureFlags.MULTIPLE_BONDS
        feature: gatt.Characteristic[bytes] = gatt.Characteristic(
            gatt_ids.BLOOD_PRESSURE_FEATURE,
            Props.READ,
            Perms.READABLE,
            bytes(BloodPressureFeature(features)),
        )
        return [gatt.Service(gatt_ids.BLOOD_PRESSURE_SERVICE, [measurement, feature])]

    def encode(self, reading: Reading, device_time: datetime, seq: int, *, alt_unit: bool) -> bytes:
        del seq  # the BP measurement carries no sequence number
        values = reading.values
        systolic = values["systolic"]
        diastolic = values["diastolic"]
        mean = values.get("mean_arterial_pressure")
        if mean is None:
            mean = mean_arterial_pressure(systolic, diastolic)
        pulse = values.get("pulse_rate")
        unit = PressureUnit.MMHG
        if alt_unit:
            unit = PressureUnit.KPA
            systolic, diastolic, mean = (
                round(v * KPA_PER_MMHG, 1) for v in (systolic, diastolic, mean)
            )
        user_id = reading.user_slot
        if user_id is None and self.profile.user_slots > 1:
            user_id = UNKNOWN_USER
        return bytes(
            BloodPressureMeasurement(
                systolic=systolic,
                diastolic=diastolic,
                mean_arterial_pressure=mean,
                unit=unit,
                timestamp=device_time,
                pulse_rate=pulse,
                user_id=user_id,
                status=measurement_status(values, pulse),
            )
        )
