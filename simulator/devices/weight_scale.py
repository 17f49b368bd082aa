"""A virtual weight scale (Weight Scale Service 1.0), built on the gateway's encoders."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import ClassVar

from bumble import gatt

from gatt.weight_scale import (
    WeightMeasurement,
    WeightScaleFeature,
    WeightScaleFeatureFlags,
    WeightUnit,
)
from simulator import gatt_ids
from simulator.devices.base import VirtualDevice
from simulator.devices.services import Perms, Props
from simulator.model import DeviceKind, Reading

LB_PER_KG = 1 / 0.453_592_37  # the international pound is exactly 0.45359237 kg
# WSS 1.0, 3.2.1: resolution code 7 = 0.005 kg / 0.01 lb, the finest the field can carry.
WEIGHT_RESOLUTION_CODE = 7


class WeightScale(VirtualDevice):
    """Indicates Weight Measurement records."""

    kind: ClassVar[DeviceKind] = DeviceKind.WEIGHT_SCALE
    service_uuid = gatt_ids.WEIGHT_SCALE_SERVICE
    measured_fields = ("weight",)
    implausible_values: ClassVar[Mapping[str, float]] = {"weight": 2.0}

    def measurement_services(self) -> list[gatt.Service]:
        measurement: gatt.Characteristic[bytes] = gatt.Characteristic(
            gatt_ids.WEIGHT_MEASUREMENT, Props.INDICATE, Perms(0), descriptors=self.bonded_cccd()
        )
        self.attach_cccd_value(measurement)
        self.measurement_characteristic = measurement
        features = WeightScaleFeatureFlags.TIMESTAMP_SUPPORTED
        if self.profile.user_slots > 1:
            features |= WeightScaleFeatureFlags.MULTIPLE_USERS_SUPPORTED
        feature: gatt.Characteristic[bytes] = gatt.Characteristic(
            gatt_ids.WEIGHT_SCALE_FEATURE,
            Props.READ,
            Perms.READABLE,
            bytes(WeightScaleFeature(features, weight_resolution=WEIGHT_RESOLUTION_CODE)),
        )
        return [gatt.Service(gatt_ids.WEIGHT_SCALE_SERVICE, [measurement, feature])]

    def encode(self, reading: Reading, device_time: datetime, seq: int, *, alt_unit: bool) -> bytes:
        del seq  # the weight measurement carries no sequence number
        kilograms = reading.values["weight"]
        # WSS 1.0, 3.2.1.2: 0xFFFF ("measurement unsuccessful") is how a scale says NaN.
        weight: float | None = None if math.isnan(kilograms) else kilograms
        unit = WeightUnit.KILOGRAM
        if weight is not None and alt_unit:
            unit, weight = WeightUnit.POUND, round(weight * LB_PER_KG, 2)
        elif weight is not None:
            weight = round(weight, 2)
        return bytes(
            WeightMeasurement(
                weight=weight, unit=unit, timestamp=device_time, user_id=reading.user_slot
            )
        )
