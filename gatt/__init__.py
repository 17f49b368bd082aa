"""Bluetooth SIG health-profile characteristics as typed, immutable values (sans-I/O).

Bytes in, a frozen model out, and back: every model has ``Model.from_bytes(data)`` and
``bytes(model)``, in the manner of Bumble's ``bumble/profiles`` value classes. Nothing here
touches Bluetooth, MQTT, asyncio or files; the gateway and the simulator do the I/O.

``decode_characteristic(uuid, data)`` picks the model from the characteristic UUID. A
malformed payload raises :class:`DecodeError` (truncated, trailing bytes or a forbidden
value), which names the UUID, the offset and what was expected there.

The Record Access Control Point (0x2A52) decodes, by UUID, to :class:`RacpResponse` (what
a device indicates); requests are built with :class:`RacpRequest`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import ClassVar, Protocol, Self

from gatt.battery import BatteryLevel
from gatt.blood_pressure import (
    BloodPressureFeature,
    BloodPressureFeatureFlags,
    BloodPressureFlags,
    BloodPressureMeasurement,
    IntermediateCuffPressure,
    MeasurementStatus,
    PressureInMmHg,
    PressureUnit,
    PulseRateRange,
)
from gatt.current_time import AdjustReason, CurrentTime, DateTime, DayOfWeek
from gatt.device_information import (
    FirmwareRevisionString,
    HardwareRevisionString,
    ManufacturerNameString,
    ModelNumberString,
    SerialNumberString,
    SystemId,
)
from gatt.errors import (
    DecodeError,
    EncodeError,
    InvalidValue,
    TrailingBytes,
    TruncatedPayload,
    UnknownCharacteristic,
)
from gatt.glucose import (
    CarbohydrateId,
    ConcentrationUnit,
    GlucoseContextFlags,
    GlucoseFeature,
    GlucoseFeatureFlags,
    GlucoseHealth,
    GlucoseMeasurement,
    GlucoseMeasurementContext,
    GlucoseMeasurementFlags,
    GlucoseTester,
    GlucoseType,
    Meal,
    MedicationId,
    MedicationUnit,
    SampleLocation,
    SensorStatus,
)
from gatt.health_thermometer import (
    IntermediateTemperature,
    TemperatureMeasurement,
    TemperatureMeasurementFlags,
    TemperatureType,
    TemperatureTypeCharacteristic,
    TemperatureUnit,
)
from gatt.ieee11073 import (
    DecodedNumber,
    SpecialValue,
    decode_float,
    decode_sfloat,
    encode_float,
    encode_sfloat,
)
from gatt.pulse_oximeter import (
    PlxContinuousFlags,
    PlxContinuousMeasurement,
    PlxDeviceAndSensorStatus,
    PlxFeatures,
    PlxMeasurementStatus,
    PlxSpotCheckFlags,
    PlxSpotCheckMeasurement,
    PlxSupportedFeatures,
)
from gatt.racp import (
    RacpFilterType,
    RacpOpcode,
    RacpOperator,
    RacpRequest,
    RacpResponse,
    RacpResponseCode,
)
from gatt.uuids import CharacteristicUUID, ServiceUUID, uuid128
from gatt.weight_scale import (
    WeightMeasurement,
    WeightMeasurementFlags,
    WeightScaleFeature,
    WeightScaleFeatureFlags,
    WeightUnit,
)


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


__all__ = [
    "DECODERS",
    "GATT_VALUE_TYPES",
    "AdjustReason",
    "BatteryLevel",
    "BloodPressureFeature",
    "BloodPressureFeatureFlags",
    "BloodPressureFlags",
    "BloodPressureMeasurement",
    "CarbohydrateId",
    "CharacteristicUUID",
    "ConcentrationUnit",
    "CurrentTime",
    "DateTime",
    "DayOfWeek",
    "DecodeError",
    "DecodedNumber",
    "EncodeError",
    "FirmwareRevisionString",
    "GattValue",
    "GlucoseContextFlags",
    "GlucoseFeature",
    "GlucoseFeatureFlags",
    "GlucoseHealth",
    "GlucoseMeasurement",
    "GlucoseMeasurementContext",
    "GlucoseMeasurementFlags",
    "GlucoseTester",
    "GlucoseType",
    "HardwareRevisionString",
    "IntermediateCuffPressure",
    "IntermediateTemperature",
    "InvalidValue",
    "ManufacturerNameString",
    "Meal",
    "MeasurementStatus",
    "MedicationId",
    "MedicationUnit",
    "ModelNumberString",
    "PlxContinuousFlags",
    "PlxContinuousMeasurement",
    "PlxDeviceAndSensorStatus",
    "PlxFeatures",
    "PlxMeasurementStatus",
    "PlxSpotCheckFlags",
    "PlxSpotCheckMeasurement",
    "PlxSupportedFeatures",
    "PressureInMmHg",
    "PressureUnit",
    "PulseRateRange",
    "RacpFilterType",
    "RacpOpcode",
    "RacpOperator",
    "RacpRequest",
    "RacpResponse",
    "RacpResponseCode",
    "SampleLocation",
    "SensorStatus",
    "SerialNumberString",
    "ServiceUUID",
    "SpecialValue",
    "SystemId",
    "TemperatureMeasurement",
    "TemperatureMeasurementFlags",
    "TemperatureType",
    "TemperatureTypeCharacteristic",
    "TemperatureUnit",
    "TrailingBytes",
    "TruncatedPayload",
    "UnknownCharacteristic",
    "WeightMeasurement",
    "WeightMeasurementFlags",
    "WeightScaleFeature",
    "WeightScaleFeatureFlags",
    "WeightUnit",
    "decode_characteristic",
    "decode_float",
    "decode_sfloat",
    "encode_float",
    "encode_sfloat",
    "normalize_uuid",
    "uuid128",
]
