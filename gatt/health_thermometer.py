"""Health Thermometer Service (0x1809): temperature measurements and the temperature type.

Layouts: Health Thermometer Service (HTS) v1.0, 3.1 (Temperature Measurement), 3.2
(Temperature Type) and 3.3 (Intermediate Temperature), with the field definitions of the
GATT Specification Supplement.

Temperature Measurement and Intermediate Temperature::

    flags u8 | temperature FLOAT | [time stamp, Date Time, flag bit 1]
    | [temperature type u8, bit 2]

Flag bit 0 selects Celsius (0) or Fahrenheit (1); bits 3-7 are reserved and kept in
``reserved_flags``. The temperature is a 32-bit IEEE 11073 FLOAT: NaN and the other
special values decode to ``None`` and name ``"temperature"`` in ``invalid_values``.

Trailing bytes are refused, as in every decoder of this package.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum, IntEnum, IntFlag
from typing import ClassVar, Self

from gatt.current_time import DateTime, iso, settle_timestamp
from gatt.ieee11073 import SpecialValue, settle_special_values
from gatt.reader import ByteReader, ByteWriter, as_code, code_name, to_canonical
from gatt.uuids import CharacteristicUUID


class TemperatureUnit(Enum):
    CELSIUS = "celsius"
    FAHRENHEIT = "fahrenheit"


class TemperatureMeasurementFlags(IntFlag):
    FAHRENHEIT = 0x01
    TIMESTAMP_PRESENT = 0x02
    TEMPERATURE_TYPE_PRESENT = 0x04


_FLAGS_KNOWN = 0x07


class TemperatureType(IntEnum):
    """Where the temperature was taken (HTS 3.2); 0 and 10-255 are reserved."""

    ARMPIT = 1
    BODY = 2
    EAR = 3
    FINGER = 4
    GASTROINTESTINAL_TRACT = 5
    MOUTH = 6
    RECTUM = 7
    TOE = 8
    TYMPANUM = 9


@dataclass(frozen=True, slots=True)
class _TemperatureBase:
    UUID: ClassVar[CharacteristicUUID]

    temperature: float | None
    unit: TemperatureUnit = TemperatureUnit.CELSIUS
    timestamp: datetime | None = None
    temperature_type: TemperatureType | int | None = None
    reserved_flags: int = 0
    special_values: Mapping[str, SpecialValue] = field(default_factory=dict, hash=False)
    timestamp_raw: DateTime | None = None
    invalid_values: tuple[str, ...] = field(init=False, default=())

    def __post_init__(self) -> None:
        if self.reserved_flags & ~0xFF or self.reserved_flags & _FLAGS_KNOWN:
            raise ValueError("reserved_flags must only use the reserved flag bits 3-7 (0xF8)")
        specials = settle_special_values(self, ("temperature",), ("temperature",))
        object.__setattr__(self, "invalid_values", specials + settle_timestamp(self))

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        reader = ByteReader(data, cls.UUID)
        flags = reader.u8("the flags")
        temperature = reader.float32("the temperature")
        raw_time = None
        if flags & TemperatureMeasurementFlags.TIMESTAMP_PRESENT:
            raw_time = DateTime.read(reader, "the time stamp")
        temperature_type = None
        if flags & TemperatureMeasurementFlags.TEMPERATURE_TYPE_PRESENT:
            temperature_type = as_code(TemperatureType, reader.u8("the temperature type"))
        reader.finish(f"the fields announced by flags 0x{flags:02X}")
        return cls(
            temperature=temperature.value,
            unit=TemperatureUnit.FAHRENHEIT if flags & TemperatureMeasurementFlags.FAHRENHEIT
            else TemperatureUnit.CELSIUS,
            temperature_type=temperature_type,
            reserved_flags=flags & ~_FLAGS_KNOWN,
            special_values={"temperature": temperature.special}
            if temperature.special is not None else {},
            timestamp_raw=raw_time,
        )

    def __bytes__(self) -> bytes:
        flags = TemperatureMeasurementFlags(0)
        if self.unit is TemperatureUnit.FAHRENHEIT:
            flags |= TemperatureMeasurementFlags.FAHRENHEIT
        if self.timestamp_raw is not None:
            flags |= TemperatureMeasurementFlags.TIMESTAMP_PRESENT
        if self.temperature_type is not None:
            flags |= TemperatureMeasurementFlags.TEMPERATURE_TYPE_PRESENT
        writer = ByteWriter().u8(int(flags) | self.reserved_flags, "flags")
        writer.float32(self.temperature, self.special_values.get("temperature"), "temperature")
        if self.timestamp_raw is not None:
            self.timestamp_raw.write(writer, "timestamp")
        if self.temperature_type is not None:
            writer.u8(self.temperature_type, "temperature_type")
        return writer.to_bytes()

    @property
    def canonical(self) -> float | None:
        """The temperature in degrees Celsius."""
        if self.temperature is None or self.unit is TemperatureUnit.CELSIUS:
            return self.temperature
        return to_canonical(self.temperature, subtract="32", multiply="5", divide="9")

    def to_json_dict(self) -> dict[str, object]:
        return {
            "unit": self.unit.value,
            "temperature": self.temperature,
            "timestamp": iso(self.timestamp),
            "temperature_type": code_name(self.temperature_type)
            if self.temperature_type is not None else None,
            "invalid_values": list(self.invalid_values),
            "canonical": {"temperature": self.canonical, "unit": TemperatureUnit.CELSIUS.value},
        }


@dataclass(frozen=True, slots=True)
class TemperatureMeasurement(_TemperatureBase):
    """Temperature Measurement (0x2A1C), HTS 3.1: a final, stable reading."""

    UUID: ClassVar[CharacteristicUUID] = CharacteristicUUID.TEMPERATURE_MEASUREMENT


@dataclass(frozen=True, slots=True)
class IntermediateTemperature(_TemperatureBase):
    """Intermediate Temperature (0x2A1E), HTS 3.3: readings while the value settles."""

    UUID: ClassVar[CharacteristicUUID] = CharacteristicUUID.INTERMEDIATE_TEMPERATURE


@dataclass(frozen=True, slots=True)
class TemperatureTypeCharacteristic:
    """Temperature Type (0x2A1D), HTS 3.2: one octet, the body location."""

    UUID: ClassVar[CharacteristicUUID] = CharacteristicUUID.TEMPERATURE_TYPE

    temperature_type: TemperatureType | int

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        reader = ByteReader(data, cls.UUID)
        value = as_code(TemperatureType, reader.u8("the temperature type"))
        reader.finish("the temperature type")
        return cls(value)

    def __bytes__(self) -> bytes:
        return ByteWriter().u8(self.temperature_type, "temperature_type").to_bytes()

    def to_json_dict(self) -> dict[str, object]:
        return {"temperature_type": code_name(self.temperature_type)}
