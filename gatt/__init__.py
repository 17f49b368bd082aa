"""Bluetooth SIG health-profile characteristics as typed, immutable values (sans-I/O).

Bytes in, a frozen model out, and back: every model has ``Model.from_bytes(data)`` and
``bytes(model)``, in the manner of Bumble's ``bumble/profiles`` value classes. Nothing here
touches Bluetooth, MQTT, asyncio or files; the gateway and the simulator do the I/O.

``decode_characteristic(uuid, data)`` picks the model from the characteristic UUID. A
malformed payload raises :class:`DecodeError` (truncated, trailing bytes or a forbidden
value), which names the UUID, the offset and what was expected there.

The package exports the measurement values, the values a device session reads and writes
(time, battery, the Record Access Control Point) and the decode entry points. Everything
else (flags, units, features, device information, IEEE 11073 numbers, the other errors) is
imported from its module: ``from gatt.blood_pressure import PressureUnit``.
"""

from __future__ import annotations

from gatt.battery import BatteryLevel
from gatt.blood_pressure import BloodPressureMeasurement, IntermediateCuffPressure
from gatt.current_time import CurrentTime
from gatt.decoding import GATT_VALUE_TYPES, GattValue, decode_characteristic, normalize_uuid
from gatt.errors import DecodeError, UnknownCharacteristic
from gatt.glucose import GlucoseMeasurement, GlucoseMeasurementContext
from gatt.health_thermometer import IntermediateTemperature, TemperatureMeasurement
from gatt.pulse_oximeter import PlxContinuousMeasurement, PlxSpotCheckMeasurement
from gatt.racp import RacpRequest, RacpResponse
from gatt.uuids import CharacteristicUUID, ServiceUUID
from gatt.weight_scale import WeightMeasurement

__all__ = [
    "GATT_VALUE_TYPES",
    "BatteryLevel",
    "BloodPressureMeasurement",
    "CharacteristicUUID",
    "CurrentTime",
    "DecodeError",
    "GattValue",
    "GlucoseMeasurement",
    "GlucoseMeasurementContext",
    "IntermediateCuffPressure",
    "IntermediateTemperature",
    "PlxContinuousMeasurement",
    "PlxSpotCheckMeasurement",
    "RacpRequest",
    "RacpResponse",
    "ServiceUUID",
    "TemperatureMeasurement",
    "UnknownCharacteristic",
    "WeightMeasurement",
    "decode_characteristic",
    "normalize_uuid",
]
