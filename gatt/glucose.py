"""Glucose Service (0x1808): measurement, context and feature (RACP: :mod:`gatt.racp`).

Layouts: Glucose Service (GLS) v1.0.1, 3.1 (Glucose Measurement), 3.2 (Glucose Measurement
Context), 3.3 (Glucose Feature), with the field
definitions of the GATT Specification Supplement (GSS).

Glucose Measurement::

    flags u8 | sequence number u16 | base time (Date Time) | [time offset s16 min, bit 0]
    | [concentration SFLOAT, type-sample location u8, bit 1] | [sensor status u16, bit 3]

Flag bit 2 is the concentration unit (0 kg/L, 1 mol/L), bit 4 says a Glucose Measurement
Context with the same sequence number follows; bits 5-7 are reserved (``reserved_flags``).
Type is the low nibble of the type-sample location octet, sample location the high nibble.

Canonical concentration is mmol/L: kg/L * 1e5 = mg/dL, and mg/dL / 18.0156 = mmol/L for
glucose (molar mass 180.156 g/mol); mol/L * 1000 = mmol/L.

Trailing bytes are refused, as in every decoder of this package.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import KEEP, Enum, IntEnum, IntFlag
from typing import ClassVar, Self

from gatt.current_time import DateTime, iso, resolve_timestamp
from gatt.errors import EncodeError
from gatt.ieee11073 import DecodedNumber, SpecialValue, settle_special_values
from gatt.reader import (
    ByteReader,
    ByteWriter,
    as_code,
    code_name,
    flag_names,
    to_canonical,
)
from gatt.uuids import CharacteristicUUID

MG_PER_DL_PER_KG_PER_L = "100000"
MG_PER_DL_PER_MMOL_PER_L = "18.0156"  # molar mass of glucose / 10


class GlucoseMeasurementFlags(IntFlag):
    TIME_OFFSET_PRESENT = 0x01
    CONCENTRATION_TYPE_AND_LOCATION_PRESENT = 0x02
    CONCENTRATION_MOL_PER_L = 0x04
    SENSOR_STATUS_PRESENT = 0x08
    CONTEXT_FOLLOWS = 0x10


_MEASUREMENT_FLAGS_KNOWN = 0x1F


class ConcentrationUnit(Enum):
    KG_PER_L = "kg/L"
    MOL_PER_L = "mol/L"


class GlucoseType(IntEnum):
    """Type nibble of Glucose Measurement; 0 and 11-15 are reserved."""

    CAPILLARY_WHOLE_BLOOD = 1
    CAPILLARY_PLASMA = 2
    VENOUS_WHOLE_BLOOD = 3
    VENOUS_PLASMA = 4
    ARTERIAL_WHOLE_BLOOD = 5
    ARTERIAL_PLASMA = 6
    UNDETERMINED_WHOLE_BLOOD = 7
    UNDETERMINED_PLASMA = 8
    INTERSTITIAL_FLUID = 9
    CONTROL_SOLUTION = 10


class SampleLocation(IntEnum):
    """Sample Location nibble of Glucose Measurement; 0 and 5-14 are reserved."""

    FINGER = 1
    ALTERNATE_SITE_TEST = 2
    EARLOBE = 3
    CONTROL_SOLUTION = 4
    NOT_AVAILABLE = 15


class SensorStatus(IntFlag, boundary=KEEP):
    """Sensor Status Annunciation field; reserved bits 12-15 are kept as sent."""

    DEVICE_BATTERY_LOW = 1 << 0
    SENSOR_MALFUNCTION = 1 << 1
    SAMPLE_SIZE_INSUFFICIENT = 1 << 2
    STRIP_INSERTION_ERROR = 1 << 3
    STRIP_TYPE_INCORRECT = 1 << 4
    RESULT_TOO_HIGH = 1 << 5
    RESULT_TOO_LOW = 1 << 6
    TEMPERATURE_TOO_HIGH = 1 << 7
    TEMPERATURE_TOO_LOW = 1 << 8
    READ_INTERRUPTED = 1 << 9
    GENERAL_DEVICE_FAULT = 1 << 10
    TIME_FAULT = 1 << 11


def _present(model: object, name: str) -> bool:
    """An optional SFLOAT is present when it has a value or a recorded special value."""
    return getattr(model, name) is not None or name in getattr(model, "special_values")  # noqa: B009


@dataclass(frozen=True, slots=True)
class GlucoseMeasurement:
    """Glucose Measurement (0x2A18).

    ``type``, ``sample_location``, ``concentration`` and ``concentration_unit`` travel
    together: the concentration field is present exactly when ``type`` is set
    (``concentration=None`` then means NaN). GLS 3.1: the units flag (bit 2) qualifies the
    concentration field only, so a measurement without one has no unit (``None``), not kg/L.
    ``time_offset`` is in minutes from ``base_time``.
    """

    UUID: ClassVar[CharacteristicUUID] = CharacteristicUUID.GLUCOSE_MEASUREMENT

    sequence_number: int
    base_time: datetime | None = None
    time_offset: int | None = None
    concentration: float | None = None
    concentration_unit: ConcentrationUnit | None = None
    type: GlucoseType | int | None = None
    sample_location: SampleLocation | int | None = None
    sensor_status: SensorStatus | None = None
    context_follows: bool = False
    reserved_flags: int = 0
    special_values: Mapping[str, SpecialValue] = field(default_factory=dict, hash=False)
    base_time_raw: DateTime | None = None
    invalid_values: tuple[str, ...] = field(init=False, default=())

    def __post_init__(self) -> None:
        if self.reserved_flags & ~0xFF or self.reserved_flags & _MEASUREMENT_FLAGS_KNOWN:
            raise ValueError("reserved_flags must only use the reserved flag bits 5-7 (0xE0)")
        has_concentration = self.type is not None
        if has_concentration != (self.sample_location is not None):
            raise ValueError("type and sample_location are sent together: give both or neither")
        if not has_concentration and _present(self, "concentration"):
            raise ValueError("a concentration needs its type and sample_location")
        if not has_concentration and self.concentration_unit is not None:
            raise ValueError("a concentration unit needs a concentration: give neither or both")
        if has_concentration and self.concentration_unit is None:
            # GLS 3.1: units flag 0 means kg/L.
            object.__setattr__(self, "concentration_unit", ConcentrationUnit.KG_PER_L)
        specials = settle_special_values(
            self, ("concentration",), ("concentration",) if has_concentration else ())
        base_time, raw = resolve_timestamp(self.base_time, self.base_time_raw, "base_time")
        raw = raw if raw is not None else DateTime()
        object.__setattr__(self, "base_time", base_time)
        object.__setattr__(self, "base_time_raw", raw)
        object.__setattr__(self, "invalid_values",
                           specials + (("base_time",) if base_time is None else ()))

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        reader = ByteReader(data, cls.UUID)
        flags = reader.u8("the flags")
        sequence_number = reader.u16("the sequence number")
        raw_time = DateTime.read(reader, "the base time")
        time_offset = None
        if flags & GlucoseMeasurementFlags.TIME_OFFSET_PRESENT:
            time_offset = reader.s16("the time offset")
        concentration = DecodedNumber(None, None)
        glucose_type = location = unit = None
        if flags & GlucoseMeasurementFlags.CONCENTRATION_TYPE_AND_LOCATION_PRESENT:
            concentration = reader.sfloat("the glucose concentration")
            unit = (ConcentrationUnit.MOL_PER_L if flags & GlucoseMeasurementFlags.CONCENTRATION_MOL_PER_L
                    else ConcentrationUnit.KG_PER_L)
            type_and_location = reader.u8("the type-sample location")
            glucose_type = as_code(GlucoseType, type_and_location & 0x0F)
            location = as_code(SampleLocation, type_and_location >> 4)
        sensor_status = None
        if flags & GlucoseMeasurementFlags.SENSOR_STATUS_PRESENT:
            sensor_status = SensorStatus(reader.u16("the sensor status annunciation"))
        reader.finish(f"the fields announced by flags 0x{flags:02X}")
        return cls(
            sequence_number=sequence_number,
            time_offset=time_offset,
            concentration=concentration.value,
            concentration_unit=unit,
            type=glucose_type,
            sample_location=location,
            sensor_status=sensor_status,
            context_follows=bool(flags & GlucoseMeasurementFlags.CONTEXT_FOLLOWS),
            reserved_flags=flags & ~_MEASUREMENT_FLAGS_KNOWN,
            special_values={"concentration": concentration.special}
            if concentration.special is not None else {},
            base_time_raw=raw_time,
        )

    def __bytes__(self) -> bytes:
        flags = GlucoseMeasurementFlags(0)
        if self.time_offset is not None:
            flags |= GlucoseMeasurementFlags.TIME_OFFSET_PRESENT
        if self.type is not None:
            flags |= GlucoseMeasurementFlags.CONCENTRATION_TYPE_AND_LOCATION_PRESENT
        if self.concentration_unit is ConcentrationUnit.MOL_PER_L:
            flags |= GlucoseMeasurementFlags.CONCENTRATION_MOL_PER_L
        if self.sensor_status is not None:
            flags |= GlucoseMeasurementFlags.SENSOR_STATUS_PRESENT
        if self.context_follows:
            flags |= GlucoseMeasurementFlags.CONTEXT_FOLLOWS
        writer = ByteWriter().u8(int(flags) | self.reserved_flags, "flags")
        writer.u16(self.sequence_number, "sequence_number")
        (self.base_time_raw or DateTime()).write(writer, "base_time")
        if self.time_offset is not None:
            writer.s16(self.time_offset, "time_offset")
        if self.type is not None and self.sample_location is not None:
            writer.sfloat(self.concentration, self.special_values.get("concentration"),
                          "concentration")
            writer.u8(_nibbles(self.type, self.sample_location, "type and sample_location"),
                      "type")
        if self.sensor_status is not None:
            writer.u16(int(self.sensor_status), "sensor_status")
        return writer.to_bytes()

    @property
    def measured_at(self) -> datetime | None:
        """Base time plus time offset: when the sample was taken, device wall clock.

        ``None`` when the base time is unknown or the offset leaves the calendar.
        """
        if self.base_time is None:
            return None
        try:
            return self.base_time + timedelta(minutes=self.time_offset or 0)
        except OverflowError:
            return None

    @property
    def canonical(self) -> float | None:
        """The concentration in mmol/L."""
        if self.concentration is None:
            return None
        if self.concentration_unit is ConcentrationUnit.MOL_PER_L:
            return to_canonical(self.concentration, multiply="1000")
        return to_canonical(self.concentration, multiply=MG_PER_DL_PER_KG_PER_L,
                            divide=MG_PER_DL_PER_MMOL_PER_L)

    def to_json_dict(self) -> dict[str, object]:
        return {
            "sequence_number": self.sequence_number,
            "base_time": iso(self.base_time),
            "time_offset": self.time_offset,
            "concentration": self.concentration,
            "concentration_unit": self.concentration_unit.value
            if self.concentration_unit is not None else None,
            "type": code_name(self.type) if self.type is not None else None,
            "sample_location": code_name(self.sample_location)
            if self.sample_location is not None else None,
            "sensor_status": flag_names(int(self.sensor_status), SensorStatus, 16)
            if self.sensor_status is not None else None,
            "invalid_values": list(self.invalid_values),
            "canonical": {"concentration": self.canonical, "unit": "mmol/L"},
        }


class GlucoseContextFlags(IntFlag):
    """Glucose Measurement Context flags (GLS 3.2); all eight bits are defined."""

    CARBOHYDRATE_PRESENT = 0x01
    MEAL_PRESENT = 0x02
    TESTER_HEALTH_PRESENT = 0x04
    EXERCISE_PRESENT = 0x08
    MEDICATION_PRESENT = 0x10
    MEDICATION_IN_LITRES = 0x20
    HBA1C_PRESENT = 0x40
    EXTENDED_FLAGS_PRESENT = 0x80


class CarbohydrateId(IntEnum):
    BREAKFAST = 1
    LUNCH = 2
    DINNER = 3
    SNACK = 4
    DRINK = 5
    SUPPER = 6
    BRUNCH = 7


class Meal(IntEnum):
    PREPRANDIAL = 1
    POSTPRANDIAL = 2
    FASTING = 3
    CASUAL = 4
    BEDTIME = 5


class GlucoseTester(IntEnum):
    SELF = 1
    HEALTH_CARE_PROFESSIONAL = 2
    LAB_TEST = 3
    NOT_AVAILABLE = 15


class GlucoseHealth(IntEnum):
    MINOR_HEALTH_ISSUES = 1
    MAJOR_HEALTH_ISSUES = 2
    DURING_MENSES = 3
    UNDER_STRESS = 4
    NO_HEALTH_ISSUES = 5
    NOT_AVAILABLE = 15


class MedicationId(IntEnum):
    RAPID_ACTING_INSULIN = 1
    SHORT_ACTING_INSULIN = 2
    INTERMEDIATE_ACTING_INSULIN = 3
    LONG_ACTING_INSULIN = 4
    PRE_MIXED_INSULIN = 5


class MedicationUnit(Enum):
    """Context flag bit 5: the medication is a mass or a volume."""

    KILOGRAMS = "kg"
    LITRES = "L"


EXERCISE_DURATION_OVERRUN = 0xFFFF  # Exercise Duration field: longer than 65534 s


@dataclass(frozen=True, slots=True)
class GlucoseMeasurementContext:
    """Glucose Measurement Context (0x2A34), sent after a measurement with context_follows.

    Optional groups are present when their first field is set: ``carbohydrate_id`` (with
    ``carbohydrate``, kg per GSS), ``meal``, ``tester`` with ``health``,
    ``exercise_duration`` (s) with ``exercise_intensity`` (%), ``medication_id`` (with
    ``medication`` in ``medication_unit``) and ``hba1c`` (%). ``extended_flags`` is the
    reserved Extended Flags octet, kept as sent when present.
    """

    UUID: ClassVar[CharacteristicUUID] = CharacteristicUUID.GLUCOSE_MEASUREMENT_CONTEXT

    sequence_number: int
    extended_flags: int | None = None
    carbohydrate_id: CarbohydrateId | int | None = None
    carbohydrate: float | None = None
    meal: Meal | int | None = None
    tester: GlucoseTester | int | None = None
    health: GlucoseHealth | int | None = None
    exercise_duration: int | None = None
    exercise_intensity: int | None = None
    medication_id: MedicationId | int | None = None
    medication: float | None = None
    medication_unit: MedicationUnit = MedicationUnit.KILOGRAMS
    hba1c: float | None = None
    special_values: Mapping[str, SpecialValue] = field(default_factory=dict, hash=False)
    invalid_values: tuple[str, ...] = field(init=False, default=())

    def __post_init__(self) -> None:
        pairs = (("tester", "health"), ("exercise_duration", "exercise_intensity"))
        for first, second in pairs:
            if (getattr(self, first) is None) != (getattr(self, second) is None):
                raise ValueError(f"{first} and {second} are sent together")
        for group, value in (("carbohydrate_id", "carbohydrate"), ("medication_id", "medication")):
            if getattr(self, group) is None and _present(self, value):
                raise ValueError(f"{value} needs {group}")
        mandatory = [value for group, value in (("carbohydrate_id", "carbohydrate"),
                                                ("medication_id", "medication"))
                     if getattr(self, group) is not None]
        specials = settle_special_values(self, ("carbohydrate", "medication", "hba1c"), mandatory)
        object.__setattr__(self, "invalid_values", specials)

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        reader = ByteReader(data, cls.UUID)
        flags = GlucoseContextFlags(reader.u8("the flags"))
        sequence_number = reader.u16("the sequence number")
        extended_flags = carbohydrate_id = meal = tester = health = medication_id = None
        exercise_duration = exercise_intensity = None
        numbers: dict[str, DecodedNumber] = {}
        if flags & GlucoseContextFlags.EXTENDED_FLAGS_PRESENT:
            extended_flags = reader.u8("the extended flags")
        if flags & GlucoseContextFlags.CARBOHYDRATE_PRESENT:
            carbohydrate_id = as_code(CarbohydrateId, reader.u8("the carbohydrate ID"))
            numbers["carbohydrate"] = reader.sfloat("the carbohydrate")
        if flags & GlucoseContextFlags.MEAL_PRESENT:
            meal = as_code(Meal, reader.u8("the meal"))
        if flags & GlucoseContextFlags.TESTER_HEALTH_PRESENT:
            tester_health = reader.u8("the tester-health")
            tester = as_code(GlucoseTester, tester_health & 0x0F)
            health = as_code(GlucoseHealth, tester_health >> 4)
        if flags & GlucoseContextFlags.EXERCISE_PRESENT:
            exercise_duration = reader.u16("the exercise duration")
            exercise_intensity = reader.u8("the exercise intensity")
        if flags & GlucoseContextFlags.MEDICATION_PRESENT:
            medication_id = as_code(MedicationId, reader.u8("the medication ID"))
            numbers["medication"] = reader.sfloat("the medication")
        if flags & GlucoseContextFlags.HBA1C_PRESENT:
            numbers["hba1c"] = reader.sfloat("the HbA1c")
        reader.finish(f"the fields announced by flags 0x{int(flags):02X}")
        absent = DecodedNumber(None, None)
        return cls(
            sequence_number=sequence_number,
            extended_flags=extended_flags,
            carbohydrate_id=carbohydrate_id,
            carbohydrate=numbers.get("carbohydrate", absent).value,
            meal=meal,
            tester=tester,
            health=health,
            exercise_duration=exercise_duration,
            exercise_intensity=exercise_intensity,
            medication_id=medication_id,
            medication=numbers.get("medication", absent).value,
            medication_unit=MedicationUnit.LITRES
            if flags & GlucoseContextFlags.MEDICATION_IN_LITRES else MedicationUnit.KILOGRAMS,
            hba1c=numbers.get("hba1c", absent).value,
            special_values={name: number.special for name, number in numbers.items()
                            if number.special is not None},
        )

    def __bytes__(self) -> bytes:
        flags = GlucoseContextFlags(0)
        presence = (
            (self.carbohydrate_id is not None, GlucoseContextFlags.CARBOHYDRATE_PRESENT),
            (self.meal is not None, GlucoseContextFlags.MEAL_PRESENT),
            (self.tester is not None, GlucoseContextFlags.TESTER_HEALTH_PRESENT),
            (self.exercise_duration is not None, GlucoseContextFlags.EXERCISE_PRESENT),
            (self.medication_id is not None, GlucoseContextFlags.MEDICATION_PRESENT),
            (self.medication_unit is MedicationUnit.LITRES,
             GlucoseContextFlags.MEDICATION_IN_LITRES),
            (_present(self, "hba1c"), GlucoseContextFlags.HBA1C_PRESENT),
            (self.extended_flags is not None, GlucoseContextFlags.EXTENDED_FLAGS_PRESENT),
        )
        for present, flag in presence:
            if present:
                flags |= flag
        writer = ByteWriter().u8(int(flags), "flags").u16(self.sequence_number, "sequence_number")
        if self.extended_flags is not None:
            writer.u8(self.extended_flags, "extended_flags")
        if self.carbohydrate_id is not None:
            writer.u8(self.carbohydrate_id, "carbohydrate_id")
            writer.sfloat(self.carbohydrate, self.special_values.get("carbohydrate"),
                          "carbohydrate")
        if self.meal is not None:
            writer.u8(self.meal, "meal")
        if self.tester is not None and self.health is not None:
            writer.u8(_nibbles(self.tester, self.health, "tester and health"), "tester")
        if self.exercise_duration is not None and self.exercise_intensity is not None:
            writer.u16(self.exercise_duration, "exercise_duration")
            writer.u8(self.exercise_intensity, "exercise_intensity")
        if self.medication_id is not None:
            writer.u8(self.medication_id, "medication_id")
            writer.sfloat(self.medication, self.special_values.get("medication"), "medication")
        if flags & GlucoseContextFlags.HBA1C_PRESENT:
            writer.sfloat(self.hba1c, self.special_values.get("hba1c"), "hba1c")
        return writer.to_bytes()

    def to_json_dict(self) -> dict[str, object]:
        def name(value: int | None) -> str | None:
            return code_name(value) if value is not None else None

        return {
            "sequence_number": self.sequence_number,
            "carbohydrate_id": name(self.carbohydrate_id),
            "carbohydrate": self.carbohydrate,
            "meal": name(self.meal),
            "tester": name(self.tester),
            "health": name(self.health),
            "exercise_duration": self.exercise_duration,
            "exercise_intensity": self.exercise_intensity,
            "medication_id": name(self.medication_id),
            "medication": self.medication,
            "medication_unit": self.medication_unit.value,
            "hba1c": self.hba1c,
            "extended_flags": self.extended_flags,
            "invalid_values": list(self.invalid_values),
        }


def _nibbles(low: int, high: int, field_name: str) -> int:
    """Two 4-bit codes in one octet; a code over 15 cannot be encoded."""
    if not 0 <= low <= 0x0F or not 0 <= high <= 0x0F:
        raise EncodeError(field_name, f"{low} and {high} must each fit in 4 bits")
    return high << 4 | low


class GlucoseFeatureFlags(IntFlag):
    """Glucose Feature bits (GLS 3.3); bits 11-15 are reserved."""

    LOW_BATTERY_DETECTION = 1 << 0
    SENSOR_MALFUNCTION_DETECTION = 1 << 1
    SENSOR_SAMPLE_SIZE = 1 << 2
    SENSOR_STRIP_INSERTION_ERROR_DETECTION = 1 << 3
    SENSOR_STRIP_TYPE_ERROR_DETECTION = 1 << 4
    SENSOR_RESULT_HIGH_LOW_DETECTION = 1 << 5
    SENSOR_TEMPERATURE_HIGH_LOW_DETECTION = 1 << 6
    SENSOR_READ_INTERRUPT_DETECTION = 1 << 7
    GENERAL_DEVICE_FAULT = 1 << 8
    TIME_FAULT = 1 << 9
    MULTIPLE_BOND = 1 << 10


_FEATURES_KNOWN = 0x07FF
_NO_GLUCOSE_FEATURE_FLAGS = GlucoseFeatureFlags(0)


@dataclass(frozen=True, slots=True)
class GlucoseFeature:
    """Glucose Feature (0x2A51); reserved bits 11-15 are kept in ``reserved_flags``."""

    UUID: ClassVar[CharacteristicUUID] = CharacteristicUUID.GLUCOSE_FEATURE

    features: GlucoseFeatureFlags = _NO_GLUCOSE_FEATURE_FLAGS
    reserved_flags: int = 0

    def __post_init__(self) -> None:
        if int(self.features) & ~_FEATURES_KNOWN or self.reserved_flags & ~0xF800:
            raise ValueError("features holds bits 0-10, reserved_flags bits 11-15")

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        reader = ByteReader(data, cls.UUID)
        raw = reader.u16("the glucose feature")
        reader.finish("the glucose feature")
        return cls(GlucoseFeatureFlags(raw & _FEATURES_KNOWN), raw & ~_FEATURES_KNOWN)

    def __bytes__(self) -> bytes:
        return ByteWriter().u16(int(self.features) | self.reserved_flags, "features").to_bytes()

    def to_json_dict(self) -> dict[str, object]:
        return {
            "features": flag_names(int(self.features), GlucoseFeatureFlags, 16),
            "reserved_flags": self.reserved_flags,
        }
