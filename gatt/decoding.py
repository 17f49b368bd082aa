"""Decoding by characteristic UUID: the table of value types and the one entry point.

``decode_characteristic(uuid, data)`` picks the model from the characteristic UUID; a
malformed payload raises :class:`~gatt.errors.DecodeError` (truncated, trailing bytes or a
forbidden value), which names the UUID, the offset and what was expected there.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import ClassVar, Protocol, Self

from gatt.battery import BatteryLevel
from gatt.blood_pressure import BloodPressureFeature, BloodPressureMeasurement, IntermediateCuffPressure
from gatt.current_time import CurrentTime, DateTime
from gatt.device_information import (
    FirmwareRevisionString,
    HardwareRevisionString,
    ManufacturerNameString,
    ModelNumberString,
    SerialNumberString,
    SystemId,
)
from gatt.errors import UnknownCharacteristic
from gatt.glucose import GlucoseFeature, GlucoseMeasurement, GlucoseMeasurementContext
from gatt.health_thermometer import (
    IntermediateTemperature,
    TemperatureMeasurement,
    TemperatureTypeCharacteristic,
)
from gatt.pulse_oximeter import PlxContinuousMeasurement, PlxFeatures, PlxSpotCheckMeasurement
from gatt.racp import RacpResponse
from gatt.uuids import CharacteristicUUID
from gatt.weight_scale import WeightMeasurement, WeightScaleFeature

__all__ = ["DECODERS", "GATT_VALUE_TYPES", "GattValue", "decode_characteristic", "normalize_uuid"]


class GattValue(Protocol):
    """What every model offers: its UUID, its encoding and its JSON view."""

    UUID: ClassVar[CharacteristicUUID]

    @classmethod
    def from_bytes(cls, data: bytes) -> Self: ...

    def __bytes__(self) -> bytes: ...

    def to_json_dict(self) -> dict[str, object]: ...


GATT_VALUE_TYPES: tuple[type[GattValue], ...] = (
    BloodPressureMeasurement, IntermediateCuffPressure, BloodPressureFeature,
    WeightMeasurement, WeightScaleFeature,
    GlucoseMeasurement, GlucoseMeasurementContext, GlucoseFeature, RacpResponse,
    TemperatureMeasurement, IntermediateTemperature, TemperatureTypeCharacteristic,
    PlxSpotCheckMeasurement, PlxContinuousMeasurement, PlxFeatures,
    CurrentTime, DateTime, BatteryLevel,
    ManufacturerNameString, ModelNumberString, SerialNumberString, FirmwareRevisionString,
    HardwareRevisionString, SystemId,
)

DECODERS: dict[int, Callable[[bytes], GattValue]] = {
    model.UUID: model.from_bytes for model in GATT_VALUE_TYPES
}

_BASE_UUID = re.compile(r"0000([0-9a-f]{4})-0000-1000-8000-00805f9b34fb")
_SHORT_UUID = re.compile(r"(?:0x)?([0-9a-f]{4})")


def normalize_uuid(text: str) -> int:
    """The 16-bit UUID in ``"2a35"``, ``"0x2A35"`` or ``"00002a35-0000-1000-8000-00805f9b34fb"``.

    Raises :class:`ValueError` for anything else, including 128-bit UUIDs outside the
    Bluetooth Base UUID (vendor services have no 16-bit form).
    """
    cleaned = text.strip().lower()
    match = _SHORT_UUID.fullmatch(cleaned) or _BASE_UUID.fullmatch(cleaned)
    if match is None:
        raise ValueError(
            f"{text!r} is not a 16-bit Bluetooth UUID: use 2a35, 0x2A35 or "
            "00002a35-0000-1000-8000-00805f9b34fb",
        )
    return int(match.group(1), 16)


def decode_characteristic(uuid: int | str, data: bytes) -> GattValue:
    """Decode a characteristic value by its UUID (an int, or any form of
    :func:`normalize_uuid`).

    Raises :class:`UnknownCharacteristic` for a UUID without a decoder and
    :class:`DecodeError` for a malformed payload.
    """
    short = normalize_uuid(uuid) if isinstance(uuid, str) else uuid
    decoder = DECODERS.get(short)
    if decoder is None:
        raise UnknownCharacteristic(short)
    return decoder(bytes(data))
