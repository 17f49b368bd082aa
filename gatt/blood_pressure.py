"""Blood Pressure Service (0x1810): measurement, intermediate cuff pressure, feature.

Layouts: Blood Pressure Service (BLS) v1.1.1, 3.1 (Blood Pressure Measurement), 3.2
(Intermediate Cuff Pressure) and 3.3 (Blood Pressure Feature); the field definitions are
those of the GATT Specification Supplement (GSS).

Blood Pressure Measurement::

    flags u8 | systolic SFLOAT | diastolic SFLOAT | MAP SFLOAT
    | [time stamp, Date Time, flag bit 1] | [pulse rate SFLOAT, bit 2]
    | [user ID u8, bit 3] | [measurement status u16, bit 4]

Flag bit 0 selects mmHg (0) or kPa (1); bits 5-7 are reserved: ignored for parsing and
kept in ``reserved_flags``. Intermediate Cuff Pressure has the same layout; the systolic
field carries the current cuff pressure and diastolic/MAP are NaN (BLS 3.2).

A failed measurement arrives with NaN (``0x07FF``) in every value: it decodes to ``None``
and the field names in ``invalid_values``, never to 2047.

Trailing bytes are refused (:class:`~gatt.errors.TrailingBytes`): BLS defines no
extension by appended octets, so extra bytes mean the flags and the payload disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum, IntEnum, IntFlag
from typing import ClassVar, Self

from gatt.current_time import DateTime, iso, settle_timestamp
from gatt.ieee11073 import DecodedNumber, SpecialValue, settle_special_values
from gatt.reader import ByteReader, ByteWriter, flag_names, to_canonical
from gatt.uuids import CharacteristicUUID

MMHG_PER_KPA = "7.500615"
UNKNOWN_USER = 0xFF  # User ID field: 255 means "unknown user"


class PressureUnit(Enum):
    MMHG = "mmHg"
    KPA = "kPa"


class BloodPressureFlags(IntFlag):
    """The Flags field of Blood Pressure Measurement; bits 5-7 are reserved."""

    UNITS_KPA = 0x01
    TIMESTAMP_PRESENT = 0x02
    PULSE_RATE_PRESENT = 0x04
    USER_ID_PRESENT = 0x08
    MEASUREMENT_STATUS_PRESENT = 0x10


_FLAGS_KNOWN = 0x1F


class PulseRateRange(IntEnum):
    """Measurement Status bits 3-4: the Pulse Rate Range Detection Flags."""

    IN_RANGE = 0
    EXCEEDS_UPPER = 1
    BELOW_LOWER = 2
    RESERVED = 3


@dataclass(frozen=True, slots=True)
class MeasurementStatus:
    """The Measurement Status field; bits 6-15 are reserved and kept in place."""

    KNOWN_BITS: ClassVar[int] = 0x003F

    body_movement: bool = False
    cuff_fit_loose: bool = False
    irregular_pulse: bool = False
    pulse_rate_range: PulseRateRange = PulseRateRange.IN_RANGE
    improper_position: bool = False
    reserved_bits: int = 0

    def __post_init__(self) -> None:
        if self.reserved_bits & ~0xFFC0:
            raise ValueError("reserved_bits must only use the reserved bits 6-15 (mask 0xFFC0)")

    @classmethod
    def from_int(cls, raw: int) -> Self:
        return cls(
            body_movement=bool(raw & 0x01),
            cuff_fit_loose=bool(raw & 0x02),
            irregular_pulse=bool(raw & 0x04),
            pulse_rate_range=PulseRateRange((raw >> 3) & 0x03),
            improper_position=bool(raw & 0x20),
            reserved_bits=raw & 0xFFC0,
        )

    def __int__(self) -> int:
        return (self.body_movement | self.cuff_fit_loose << 1 | self.irregular_pulse << 2
                | self.pulse_rate_range << 3 | self.improper_position << 5 | self.reserved_bits)

    def to_json_dict(self) -> dict[str, object]:
        return {
            "body_movement": self.body_movement,
            "cuff_fit_loose": self.cuff_fit_loose,
            "irregular_pulse": self.irregular_pulse,
            "improper_position": self.improper_position,
            "pulse_rate_range": self.pulse_rate_range.name.lower(),
        }


@dataclass(frozen=True, slots=True)
class PressureInMmHg:
    """Pressures converted to mmHg (1 kPa = 7.500615 mmHg), ``None`` where invalid."""

    systolic: float | None
    diastolic: float | None
    mean_arterial_pressure: float | None


def _to_mmhg(value: float | None, unit: PressureUnit) -> float | None:
    if value is None or unit is PressureUnit.MMHG:
        return value
    return to_canonical(value, multiply=MMHG_PER_KPA)


_NUMERIC_FIELDS = ("systolic", "diastolic", "mean_arterial_pressure", "pulse_rate")
_COMPOUND_FIELDS = ("systolic", "diastolic", "mean_arterial_pressure")


@dataclass(frozen=True, slots=True)
class _BloodPressureBase:
    """The layout shared by Blood Pressure Measurement and Intermediate Cuff Pressure.

    ``timestamp`` is the device's naive wall-clock time. ``timestamp_raw`` is the Date Time
    as sent; when its date is unknown (zeros) or not a calendar time, ``timestamp`` is
    ``None``, ``timestamp_raw`` keeps the fields for re-encoding and ``"timestamp"`` is in
    ``invalid_values``. Give either one when building a value.
    """

    UUID: ClassVar[CharacteristicUUID]
    KIND: ClassVar[str]
    SYSTOLIC_NAME: ClassVar[str]
    #: Fields the characteristic carries but does not use: NaN there is the rule, not a
    #: failed value, so they are never named in ``invalid_values``.
    UNUSED_FIELDS: ClassVar[frozenset[str]] = frozenset()

    systolic: float | None
    diastolic: float | None
    mean_arterial_pressure: float | None
    unit: PressureUnit = PressureUnit.MMHG
    timestamp: datetime | None = None
    pulse_rate: float | None = None
    user_id: int | None = None
    status: MeasurementStatus | None = None
    reserved_flags: int = 0
    special_values: Mapping[str, SpecialValue] = field(default_factory=dict, hash=False)
    timestamp_raw: DateTime | None = None
    invalid_values: tuple[str, ...] = field(init=False, default=())

    def __post_init__(self) -> None:
        if self.reserved_flags & ~0xFF or self.reserved_flags & _FLAGS_KNOWN:
            raise ValueError("reserved_flags must only use the reserved flag bits 5-7 (0xE0)")
        specials = settle_special_values(self, _NUMERIC_FIELDS, _COMPOUND_FIELDS)
        specials = tuple(name for name in specials if name not in self.UNUSED_FIELDS)
        object.__setattr__(self, "invalid_values", specials + settle_timestamp(self))

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        reader = ByteReader(data, cls.UUID)
        flags = reader.u8("the flags")
        numbers: dict[str, DecodedNumber] = {
            "systolic": reader.sfloat(cls.SYSTOLIC_NAME),
            "diastolic": reader.sfloat("the diastolic pressure"),
            "mean_arterial_pressure": reader.sfloat("the mean arterial pressure"),
        }
        raw_time = None
        if flags & BloodPressureFlags.TIMESTAMP_PRESENT:
            raw_time = DateTime.read(reader, "the time stamp")
        if flags & BloodPressureFlags.PULSE_RATE_PRESENT:
            numbers["pulse_rate"] = reader.sfloat("the pulse rate")
        user_id = None
        if flags & BloodPressureFlags.USER_ID_PRESENT:
            user_id = reader.u8("the user ID")
        status = None
        if flags & BloodPressureFlags.MEASUREMENT_STATUS_PRESENT:
            status = MeasurementStatus.from_int(reader.u16("the measurement status"))
        reader.finish(f"the fields announced by flags 0x{flags:02X}")
        return cls(
            systolic=numbers["systolic"].value,
            diastolic=numbers["diastolic"].value,
            mean_arterial_pressure=numbers["mean_arterial_pressure"].value,
            unit=PressureUnit.KPA if flags & BloodPressureFlags.UNITS_KPA else PressureUnit.MMHG,
            pulse_rate=numbers["pulse_rate"].value if "pulse_rate" in numbers else None,
            user_id=user_id,
            status=status,
            reserved_flags=flags & ~_FLAGS_KNOWN,
            special_values={name: number.special for name, number in numbers.items()
                            if number.special is not None},
            timestamp_raw=raw_time,
        )

    @property
    def flags(self) -> int:
        """The Flags byte this value encodes with (reserved bits included)."""
        flags = BloodPressureFlags(0)
        if self.unit is PressureUnit.KPA:
            flags |= BloodPressureFlags.UNITS_KPA
        if self.timestamp_raw is not None:
            flags |= BloodPressureFlags.TIMESTAMP_PRESENT
        if self.pulse_rate is not None or "pulse_rate" in self.special_values:
            flags |= BloodPressureFlags.PULSE_RATE_PRESENT
        if self.user_id is not None:
            flags |= BloodPressureFlags.USER_ID_PRESENT
        if self.status is not None:
            flags |= BloodPressureFlags.MEASUREMENT_STATUS_PRESENT
        return int(flags) | self.reserved_flags

    def __bytes__(self) -> bytes:
        flags = self.flags
        writer = ByteWriter().u8(flags, "flags")
        for name in _COMPOUND_FIELDS:
            writer.sfloat(getattr(self, name), self.special_values.get(name), name)
        if self.timestamp_raw is not None:
            self.timestamp_raw.write(writer, "timestamp")
        if flags & BloodPressureFlags.PULSE_RATE_PRESENT:
            writer.sfloat(self.pulse_rate, self.special_values.get("pulse_rate"), "pulse_rate")
        if self.user_id is not None:
            writer.u8(self.user_id, "user_id")
        if self.status is not None:
            writer.u16(int(self.status), "status")
        return writer.to_bytes()

    @property
    def canonical(self) -> PressureInMmHg:
        """The pressures in mmHg, whatever unit the device sent."""
        return PressureInMmHg(
            systolic=_to_mmhg(self.systolic, self.unit),
            diastolic=_to_mmhg(self.diastolic, self.unit),
            mean_arterial_pressure=_to_mmhg(self.mean_arterial_pressure, self.unit),
        )

    def to_json_dict(self) -> dict[str, object]:
        canonical = self.canonical
        return {
            "kind": self.KIND,
            "unit": self.unit.value,
            "systolic": self.systolic,
            "diastolic": self.diastolic,
            "mean_arterial_pressure": self.mean_arterial_pressure,
            "pulse_rate": self.pulse_rate,
            "timestamp": iso(self.timestamp),
            "user_id": self.user_id,
            "status": self.status.to_json_dict() if self.status is not None else None,
            "invalid_values": list(self.invalid_values),
            "canonical": {
                "unit": PressureUnit.MMHG.value,
                "systolic": canonical.systolic,
                "diastolic": canonical.diastolic,
                "mean_arterial_pressure": canonical.mean_arterial_pressure,
            },
        }


@dataclass(frozen=True, slots=True)
class BloodPressureMeasurement(_BloodPressureBase):
    """Blood Pressure Measurement (0x2A35), BLS 3.1: one finished measurement.

    Build a payload with ``bytes(BloodPressureMeasurement(120, 80, 93, pulse_rate=61))``.
    A value given as ``None`` is sent as NaN (or as the special value recorded for it in
    ``special_values``).
    """

    UUID: ClassVar[CharacteristicUUID] = CharacteristicUUID.BLOOD_PRESSURE_MEASUREMENT
    KIND: ClassVar[str] = "blood_pressure"
    SYSTOLIC_NAME: ClassVar[str] = "the systolic pressure"


@dataclass(frozen=True, slots=True)
class IntermediateCuffPressure(_BloodPressureBase):
    """Intermediate Cuff Pressure (0x2A36), BLS 3.2: the cuff pressure while inflating.

    The current cuff pressure is in ``systolic``; diastolic and MAP are NaN by spec. Not a
    measurement: never store it as one. :meth:`for_cuff_pressure` builds one.
    """

    UUID: ClassVar[CharacteristicUUID] = CharacteristicUUID.INTERMEDIATE_CUFF_PRESSURE
    KIND: ClassVar[str] = "intermediate_cuff_pressure"
    SYSTOLIC_NAME: ClassVar[str] = "the current cuff pressure"
    # BLS 3.2: "the Diastolic and MAP fields are unused ... and shall be set to NaN".
    UNUSED_FIELDS: ClassVar[frozenset[str]] = frozenset({"diastolic", "mean_arterial_pressure"})

    @classmethod
    def for_cuff_pressure(cls, pressure: float, unit: PressureUnit = PressureUnit.MMHG) -> Self:
        """The value a monitor notifies while inflating: diastolic and MAP as NaN."""
        return cls(systolic=pressure, diastolic=None, mean_arterial_pressure=None, unit=unit)

    @property
    def current_cuff_pressure(self) -> float | None:
        return self.systolic


class BloodPressureFeatureFlags(IntFlag):
    """Blood Pressure Feature bits (BLS 3.3); bits 6-15 are reserved."""

    BODY_MOVEMENT_DETECTION = 0x0001
    CUFF_FIT_DETECTION = 0x0002
    IRREGULAR_PULSE_DETECTION = 0x0004
    PULSE_RATE_RANGE_DETECTION = 0x0008
    MEASUREMENT_POSITION_DETECTION = 0x0010
    MULTIPLE_BONDS = 0x0020


_FEATURES_KNOWN = 0x003F
_NO_BLOOD_PRESSURE_FEATURE_FLAGS = BloodPressureFeatureFlags(0)


@dataclass(frozen=True, slots=True)
class BloodPressureFeature:
    """Blood Pressure Feature (0x2A49): a uint16 bit field of supported features.

    Reserved bits 6-15 are kept, in place, in ``reserved_flags``.
    """

    UUID: ClassVar[CharacteristicUUID] = CharacteristicUUID.BLOOD_PRESSURE_FEATURE

    features: BloodPressureFeatureFlags = _NO_BLOOD_PRESSURE_FEATURE_FLAGS
    reserved_flags: int = 0

    def __post_init__(self) -> None:
        if int(self.features) & ~_FEATURES_KNOWN or self.reserved_flags & ~0xFFC0:
            raise ValueError("features holds bits 0-5, reserved_flags bits 6-15")

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        reader = ByteReader(data, cls.UUID)
        raw = reader.u16("the blood pressure feature")
        reader.finish("the blood pressure feature")
        return cls(BloodPressureFeatureFlags(raw & _FEATURES_KNOWN), raw & ~_FEATURES_KNOWN)

    def __bytes__(self) -> bytes:
        return ByteWriter().u16(int(self.features) | self.reserved_flags, "features").to_bytes()

    def to_json_dict(self) -> dict[str, object]:
        return {
            "features": flag_names(int(self.features), BloodPressureFeatureFlags, 16),
            "reserved_flags": self.reserved_flags,
        }
